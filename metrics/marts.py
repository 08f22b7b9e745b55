"""Recompute every mart from the raw tables: calendar, identities, facts, sprint_metrics, tool mix, board summary.

`recompute(con, settings)` reads each raw table when a computation first needs it, computes
everything in Polars with one collect per mart, and replaces all marts in one transaction, so a
reader sees the old marts or the new ones, never a mix. `recompute(con, settings, latest=True)`
recomputes only the newest sprint of each team and of the organisation and replaces just those
rows (`Scope`): the same rows a full recompute gives them, in a fraction of the time.
"""

import contextlib
import ctypes
import functools
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TypeVar

import duckdb
import polars as pl

from metrics import ai, dora, durability, flow, quality, tickets, velocity
from metrics.calendar import build_calendar
from metrics.common import METRIC_ROW_SCHEMA, NeedsFullRecompute
from metrics.definitions import definitions
from metrics.facts import fact_commits, fact_prs
from metrics.model import ORG, SPRINT_METRICS_SCHEMA, Settings
from metrics.people import membership, resolve
from metrics.tickets import org_sprint_of

HEADLINE = (
    "acr_lines",
    "acr_commits",
    "acr_prs",
    "agentic_commit_rate",
    "velocity_points",
    "velocity_acceleration",
    "bug_density_change",
    "review_rejection_rate",
    "cycle_time_p50",
    "deployment_frequency",
    "change_fail_rate",
    "ai_durability",
)


@dataclass
class History:
    """What the whole history says even when the facts are limited to a window: where it starts, every identity seen."""

    first_commit: pl.LazyFrame  # one row: `first` (the earliest committed_at)
    observed: pl.LazyFrame  # identity, kind, seen, name: in the order `_observed` concatenates them
    links: pl.LazyFrame  # a, b: identities the data says are one account (not yet de-duplicated)


@dataclass
class Inputs:
    """The raw tables the metrics read, as LazyFrames (read from one connection on first use)."""

    commits: pl.LazyFrame
    trailers: pl.LazyFrame
    notes: pl.LazyFrame
    prs: pl.LazyFrame
    reviews: pl.LazyFrame
    pr_commits: pl.LazyFrame
    forge_repos: pl.LazyFrame
    tickets: pl.LazyFrame
    ticket_events: pl.LazyFrame
    ticket_sprints: pl.LazyFrame
    ticket_statuses: pl.LazyFrame
    sprints: pl.LazyFrame
    releases: pl.LazyFrame
    deployments: pl.LazyFrame
    deployment_statuses: pl.LazyFrame
    identities: pl.LazyFrame
    evidence_authors: pl.LazyFrame  # author identities that matched an agent or bot rule
    # Raw commits that other tables point at (PR merge commits, deployed and released shas, commits
    # authored at the instant of a PR commit); None: look them up in `commits`.
    linked_commits: pl.LazyFrame | None = None
    # source: the sources whose live tickets have any changelog entry, when `ticket_events` holds
    # only the fields the timelines read (for a scope: the ones the stored mart_tickets knows,
    # metrics.tickets adds those its tickets show); None: every field is there.
    changelog_sources: pl.LazyFrame | None = None
    # source, _name, category: what the live tickets now in a status (by lower-case name) mostly
    # say its category is, over every ticket; None: taken from `tickets` (which then hold them all).
    status_names: pl.LazyFrame | None = None
    # Every ticket an incident could be, when `tickets` holds only a latest-sprint recompute's
    # tickets; None: `tickets`.
    incident_candidates: pl.LazyFrame | None = None
    extra: dict[str, pl.LazyFrame] = field(default_factory=dict)
    history: History | None = None  # None: computed from the frames above
    reads: dict[str, tuple[float, float]] = field(default_factory=dict)  # table: wall, CPU seconds
    loaded: dict[str, list[pl.DataFrame]] = field(default_factory=dict)  # table: its rows once read
    prefetch: "Prefetch | None" = None  # where tables are read in the background (a scope's)

    def settle(self) -> None:
        """Wait for every background read: the connection is free for writing afterwards."""
        if self.prefetch is not None:
            self.prefetch.close()

    def release(self, *names: str) -> None:
        """Forget the rows read for these tables; a computation that asks again reads them again."""
        with _READING:
            freed = False
            for name in names:
                rows = self.loaded.get(name)
                if rows:
                    rows.clear()
                    freed = True
        if freed:
            _give_back_freed_memory()


@functools.cache
def _malloc_trim() -> Callable[[int], object] | None:
    """glibc's malloc_trim, where the process's C library has one (looked up once, when first needed)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def _give_back_freed_memory() -> None:
    """Return the heap that freed raw tables leave to the operating system.

    Their Arrow buffers come from the C library's allocator, which keeps freed heap for reuse by
    itself, while Polars allocates from its own: without this the freed tables still count in the
    process's memory (about 60 MiB of the full recompute's peak on 1M commits).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@dataclass
class Context:
    """What every metric family receives."""

    inputs: Inputs
    settings: Settings
    calendar: pl.LazyFrame
    commits: pl.LazyFrame  # fact_commits
    prs: pl.LazyFrame  # fact_prs
    identity_map: pl.LazyFrame
    members: pl.LazyFrame
    today: date
    # Facts a family computes once and others reuse (mart_tickets, ...).
    memo: dict[str, pl.DataFrame] = field(default_factory=dict)
    facts: dict[str, pl.LazyFrame] = field(default_factory=dict)  # further fact marts, collected
    scope: "Scope | None" = None  # a latest-sprint recompute: the inputs hold only its facts
    # series id -> (team, sprint_id) of its baseline sprints (metrics.velocity.baseline_check)
    baselines: dict[str, set[tuple[str, str]]] = field(default_factory=dict)


Family = Callable[[Context], pl.LazyFrame]


def _ai_family(ctx: Context) -> pl.LazyFrame:
    confidence = ctx.settings.confidence
    return pl.concat(
        [
            ai.commit_metrics(ctx.commits, confidence),
            ai.pr_metrics(ctx.prs, confidence),
            ai.notes_metrics(ctx.commits, ctx.inputs.notes, confidence),
        ]
    )


# Metric families in display order; each returns rows in metrics.common.METRIC_ROW_SCHEMA.
FAMILIES: dict[str, Family] = {
    "ai": _ai_family,
    "delivery": velocity.delivery,
    "quality": quality.quality,
    "flow": flow.family,
    "dora": dora.family,
    "durability": durability.family,
    "guard": velocity.guard,
}

# Builders of further fact marts (name -> frame) per family, built before the families run and
# handed to them in Context.facts (docs/warehouse.md, "Marts").
FACT_MARTS: dict[str, Callable[[Context], dict[str, pl.DataFrame]]] = {
    "durability": durability.fact_marts,
    "delivery": tickets.fact_marts,
    "dora": dora.fact_marts,
}
# Raw tables each builder reads: once no builder still to run needs one, its rows are freed (a
# family that asks again reads it again), so the builders' frames never all share memory with them.
FACT_MART_READS: dict[str, frozenset[str]] = {
    "durability": frozenset({"commit_durability"}),
    "delivery": frozenset(
        {"tickets", "ticket_events", "ticket_sprints", "ticket_statuses", "releases", "forge_repos"}
    ),
    "dora": frozenset(
        {
            "incidents",
            "stored_changes",
            "deployments",
            "deployment_statuses",
            "releases",
            "forge_repos",
            "tickets",
            "prs",
            "pr_commits",
            "linked_commits",
        }
    ),
}

# Families that can compute the latest sprints from a latest-sprint recompute's inputs (`Scope`):
# commits by committed_at and PRs by finished_at with their trailers, notes, reviews, PR commits
# and survival counts; the tickets that were in, or changed during, the recomputed sprints with
# their whole changelog; every deployment, release and incident; and what earlier sprints left in
# the stored marts (`mart_sprint_series` for baselines, pending changes of `mart_changes`). A
# family not listed here makes a latest-sprint recompute recompute everything instead.
WINDOWED: frozenset[str] = frozenset(
    {"ai", "delivery", "quality", "flow", "dora", "durability", "guard"}
)


# One query at a time on the connection, whichever Polars thread first needs a table.
_READING = threading.Lock()


Params = Sequence[object] | Mapping[str, object]


def _read(con: duckdb.DuckDBPyConnection, sql: str, params: Params = ()) -> pl.DataFrame:
    # Materialised at once: a DuckDB result streams and owns the connection until it is consumed.
    bound = dict(params) if isinstance(params, Mapping) else list(params)
    frame = con.sql(sql, params=bound or None).pl()
    # DuckDB names the zone "Etc/UTC"; one spelling everywhere keeps joins on time columns legal.
    zoned = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    ]
    return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC")) if zoned else frame


T = TypeVar("T")


class Prefetch:
    """Queries run in the background, each on one of the cursors made here.

    The cursors are made on the caller's thread: a connection is not to be used from two threads
    at once, and making a cursor uses it.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, workers: int = 2) -> None:
        self._made = [con.cursor() for _ in range(workers)]
        self._free: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        for cursor in self._made:
            self._free.put(cursor)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sprintproof-read")

    def _on_cursor(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cursor = self._free.get()
        try:
            return work(cursor)
        finally:
            self._free.put(cursor)

    def call(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> Future[T]:
        """Run `work` on a free cursor in the background."""
        return self._pool.submit(self._on_cursor, work)

    def submit(
        self, sql: str, params: Params, *, after: "Future[dict[str, object]] | None" = None
    ) -> Future[pl.DataFrame]:
        """Read a query's result in the background; `after` gives further parameters.

        `after` is waited for before a cursor is taken; it must have been handed over earlier
        (the workers take work in order, so it is running or done by then).
        """

        def fetch() -> pl.DataFrame:
            bound: Params = params
            if after is not None:
                named = params if isinstance(params, Mapping) else {}
                bound = {**named, **after.result()}
            return self._on_cursor(lambda cursor: _read(cursor, sql, bound))

        return self._pool.submit(fetch)

    def close(self) -> None:
        """Wait for every query, then close the cursors."""
        self._pool.shutdown(wait=True)
        for cursor in self._made:
            cursor.close()


def _table(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Params = (),
    *,
    reads: dict[str, tuple[float, float]] | None = None,
    name: str = "",
    loaded: dict[str, list[pl.DataFrame]] | None = None,
    prefetch: "Prefetch | None" = None,
    after: "Future[dict[str, object]] | None" = None,
) -> pl.LazyFrame:
    """A query's result as a LazyFrame, read when a plan first collects it and then kept.

    Tables no computation touches are never read; `reads` adds up each table's wall and CPU time
    of reading (with `prefetch`: the time spent waiting for it); `loaded[name]` holds the rows kept
    (`Inputs.release` empties it). With `prefetch`, the query runs at once in the background while
    the computation goes on; its columns are the result's (no second query).
    """
    kept: list[pl.DataFrame] = []
    shape: list[pl.Schema] = []
    pending: list[Future[pl.DataFrame]] = []
    mine = threading.Lock()
    if loaded is not None:
        loaded[name] = kept
    if prefetch is not None:
        pending.append(prefetch.submit(sql, params, after=after))

    def load() -> pl.DataFrame:
        with mine:
            if not kept:
                wall, cpu = time.perf_counter(), time.process_time()
                if pending:
                    kept.append(pending.pop().result())
                elif prefetch is not None:  # read again: the connection may be writing
                    kept.append(prefetch.submit(sql, params).result())
                else:
                    with _READING:
                        kept.append(_read(con, sql, params))
                if reads is not None:
                    before = reads.get(name, (0.0, 0.0))
                    reads[name] = (
                        before[0] + time.perf_counter() - wall,
                        before[1] + time.process_time() - cpu,
                    )
            return kept[0]

    def schema() -> pl.Schema:
        if prefetch is not None:
            return load().schema
        with _READING:
            if not shape:
                shape.append(_read(con, f"SELECT * FROM ({sql}) LIMIT 0", params).schema)
        return shape[0]

    return pl.defer(load, schema=schema)


# Commits and PRs a window holds, and the rows that belong to them.
# By sha alone: a sha names its commit's committer time, so a copy of the commit in another
# repository is in the window too; the repository is matched when the rows are joined, and
# hashing one column instead of two halves the cost of probing the large tables.
_RECENT_COMMITS = "SELECT sha FROM commits WHERE committed_at >= ?"
_RECENT_PRS = (
    "SELECT source, repo, number AS pr_number FROM pull_requests "
    "WHERE coalesce(merged_at, closed_at, created_at) >= ?"
)

# Every identity the whole history shows, with how often; the order is `_observed`'s.
_OBSERVED_SQL = """
SELECT identity, kind, seen, name FROM (
    SELECT 1 AS part, author_email AS identity, 'email' AS kind, count(*) AS seen, NULL AS name
    FROM commits GROUP BY ALL
    UNION ALL SELECT 2, author_canonical_email, 'email', count(*), NULL FROM commits GROUP BY ALL
    UNION ALL SELECT 3, author_login, 'login', count(*), NULL FROM pull_requests GROUP BY ALL
    UNION ALL SELECT 4, assignee_id, 'account', count(*), NULL FROM tickets GROUP BY ALL
    UNION ALL SELECT 5, account_id, kind, 0, name FROM identities
) WHERE identity IS NOT NULL ORDER BY part, identity, kind
"""
# What DORA looks up in the raw commits (dora._raw_commits), found by DuckDB instead of by hashing
# every commit in Polars.
_LINKED_COMMITS_SQL = """
SELECT repo, sha, committed_at, authored_at, author_email, is_revert FROM commits
WHERE sha IN (SELECT merge_commit_sha FROM pull_requests UNION SELECT sha FROM deployments
              UNION SELECT target_sha FROM releases)
   OR authored_at IN (SELECT authored_at FROM pr_commits)
"""
_CHANGELOG_SOURCES_SQL = """
SELECT DISTINCT source FROM ticket_events
WHERE (source, ticket_id) IN (SELECT source, ticket_id FROM tickets WHERE NOT is_deleted)
"""
_LINKS_SQL = """
SELECT DISTINCT author_email AS a, author_canonical_email AS b FROM commits
UNION ALL SELECT DISTINCT author_email, author_login FROM pr_commits
UNION ALL SELECT account_id, login FROM identities
UNION ALL SELECT account_id, email FROM identities
"""


# The tickets a latest-sprint recompute rebuilds: created, resolved, updated or changed since the
# window began, or ever listed in a recomputed sprint (a superset is harmless: every ticket's facts
# come from its own rows and changelog, and only the recomputed sprints' scope is kept).
_SCOPE_TICKETS = """
SELECT source, ticket_id FROM tickets
WHERE created_at >= $since OR resolved_at >= $since OR updated_at >= $since
   OR sprint_id IN (SELECT unnest($sprints::VARCHAR[]))
UNION SELECT source, ticket_id FROM ticket_events WHERE changed_at >= $since
UNION SELECT source, ticket_id FROM ticket_sprints WHERE sprint_id IN (SELECT unnest($sprints::VARCHAR[]))
UNION SELECT source, ticket_id FROM ticket_events WHERE field = 'sprint' AND regexp_matches(to_id, $listed)
"""
# What the live tickets now in a status mostly say its category is (metrics.tickets.status_timeline's
# fallback for statuses the status table lacks): the most frequent category, the least on a tie.
_STATUS_NAMES_SQL = """
SELECT source, _name, category FROM (
    SELECT source, lower(status) AS _name, status_category AS category, count(*) AS n
    FROM tickets WHERE NOT is_deleted AND status IS NOT NULL GROUP BY ALL
) QUALIFY row_number() OVER (PARTITION BY source, _name ORDER BY n DESC, category NULLS FIRST) = 1
"""
# The stored changes a latest-sprint recompute reads: the pending ones and those shipped in the
# window (`_open`: a change older than the window can still ship in it), and the fixes earlier
# changes shipped (what makes a deployment rework: metrics.dora._rework). One scan for both.
_STORED_CHANGES_SQL = (
    "SELECT kind, git_repo, source, repo, number, sha, start_at, start_from, in_default_at, is_ai, "
    "is_agent, is_fix, deployment_source, deployment_repo, deployment_id, "
    "(status = 'pending' OR deployed_at >= ?) AS _open FROM mart_changes "
    "WHERE status = 'pending' OR deployed_at >= ? OR (is_fix AND deployment_id IS NOT NULL)"
)
# The deployments and releases a latest-sprint recompute reads (created, finished or given a status
# since `$deployments_from`: dora.lookback before the window), and the stored mart_deployments rows
# that stand for the others (the delete rule removes every row this predicate does not keep).
_RECENT_DEPLOYMENTS = """
SELECT source, repo, deployment_id FROM deployments
WHERE created_at >= $deployments_from OR latest_state_at >= $deployments_from
UNION SELECT source, repo, deployment_id FROM deployment_statuses WHERE created_at >= $deployments_from
"""
_RECENT_RELEASES = (
    "SELECT source, repo, release_id FROM releases "
    "WHERE created_at >= $deployments_from OR published_at >= $deployments_from"
)
_EARLIER_DEPLOYMENT = f"""
NOT (created_at >= $deployments_from OR finished_at >= $deployments_from)
AND CASE origin
    WHEN 'deployment' THEN (source, repo, deployment_id) NOT IN ({_RECENT_DEPLOYMENTS})
    ELSE (source, repo, deployment_id) NOT IN (SELECT source, repo, release_id::VARCHAR FROM ({_RECENT_RELEASES}))
END
"""
# For a scope: the sources the last recompute found a changelog for (metrics.tickets adds those
# the scope's tickets show now).
_SCOPED_CHANGELOG_SOURCES_SQL = "SELECT DISTINCT source FROM mart_tickets WHERE has_changelog"
# For a scope: the commits DORA looks up (dora._raw_commits). The window's commits that are merge
# commits of its PRs, may be rebased PR commits (only the window's commits become changes), or
# were deployed or released; commits older than the window for the rest (a scan of every commit,
# which DuckDB skips when there are none); and for deployments the stored mart_deployments already
# knows the commit of, its commit time (their cut-off) instead of a look-up.
_SCOPED_LINKED_COMMITS_SQL = f"""
WITH recent AS (
    SELECT source, repo, deployment_id, sha, 'deployment' AS origin FROM deployments
    WHERE (source, repo, deployment_id) IN ({_RECENT_DEPLOYMENTS})
        AND lower(trim(environment)) IN (SELECT unnest($environments::VARCHAR[]))
    UNION ALL SELECT source, repo, release_id::VARCHAR, target_sha, 'release' FROM releases
    WHERE (source, repo, release_id) IN ({_RECENT_RELEASES}) AND (source, repo) NOT IN (
        -- a release stands in for deployments only where there are none
        SELECT source, repo FROM deployments
        WHERE NOT is_deleted AND lower(trim(environment)) IN (SELECT unnest($environments::VARCHAR[])))
),
known AS (
    SELECT m.git_repo, m.sha, m.cutoff_at FROM mart_deployments m
    JOIN recent r USING (source, repo, deployment_id, origin, sha) WHERE m.sha_known
),
wanted AS (
    SELECT merge_commit_sha AS sha FROM pull_requests WHERE coalesce(merged_at, closed_at, created_at) >= $since
    UNION SELECT sha FROM recent WHERE sha NOT IN (SELECT sha FROM known)
),
window_commits AS (
    SELECT repo, sha, committed_at, authored_at, author_email, is_revert FROM commits WHERE committed_at >= $since
),
found AS (
    SELECT * FROM window_commits WHERE sha IN (SELECT sha FROM wanted) OR authored_at IN (
        SELECT authored_at FROM pr_commits WHERE (source, repo, pr_number) IN (
            SELECT source, repo, number FROM pull_requests WHERE coalesce(merged_at, closed_at, created_at) >= $since))
    UNION ALL
    SELECT repo, sha, committed_at, authored_at, author_email, is_revert FROM commits
    WHERE sha IN (SELECT sha FROM wanted WHERE sha NOT IN (SELECT sha FROM window_commits))
)
SELECT * FROM found
UNION ALL
SELECT git_repo, sha, any_value(cutoff_at), NULL, NULL, NULL FROM known
WHERE (git_repo, sha) NOT IN (SELECT repo, sha FROM found)
GROUP BY git_repo, sha
"""
_TICKET_COLUMNS = (
    "SELECT source, tracker, ticket_id, key, project, type, type_category, status, status_category, "
    "story_points, assignee_id, labels, sprint_id, created_at, updated_at, resolved_at, is_deleted "
    "FROM tickets"
)


def _listed(sprint_ids: Sequence[str]) -> str:
    """A regular expression matching a comma-separated id list that holds any of these ids."""
    if not sprint_ids:
        return "[^\\s\\S]"  # matches nothing
    return "(^|,)\\s*(" + "|".join(re.escape(i) for i in sprint_ids) + ")\\s*(,|$)"


def _incidents_sql(settings: Settings | None) -> tuple[str, Mapping[str, object]]:
    """The live tickets that can be incidents (metrics.dora.incident_tickets decides), found by DuckDB."""
    if settings is None:
        return _TICKET_COLUMNS, {}
    lower = [v.strip().lower() for v in settings.incident_types]
    labels = [v.strip().lower() for v in settings.incident_labels]
    by_label = (
        " OR list_has_any(list_transform(labels, lambda l: lower(l)), $labels::VARCHAR[])"
        if labels
        else ""
    )
    sql = (
        f"{_TICKET_COLUMNS} WHERE NOT is_deleted AND status_category != 'canceled' AND ("
        f"list_contains($types::VARCHAR[], lower(type_category)) OR list_contains($types::VARCHAR[], lower(type)){by_label})"
    )
    return sql, {"types": lower} | ({"labels": labels} if labels else {})


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: "Scope | None" = None,
    settings: Settings | None = None,
) -> Inputs:
    """The raw tables, each read on first use; with a `scope`, only what its recompute needs.

    A scope limits commits (by committed_at) and PRs (by merged, else closed, else created time)
    to its window with their trailers, notes, survival counts, reviews and PR commits; tickets to
    the ones `_SCOPE_TICKETS` finds, with their whole changelog; and adds what earlier sprints left
    in the stored marts (`extra`: sprint_series, open_changes, shipped_fixes, board_rows, and the
    earlier_deployments that stand for deployments before the DORA look-back, whose raw rows are
    not read). With `settings` as well, tickets that cannot be incidents are not read for DORA.
    Every other table, and `history`, stay whole; a scope's tables are read in the background
    (`Prefetch`; `Inputs.settle` waits for them).
    """
    since = scope.since if scope is not None else None
    # A scope's tables are small and nearly all read: they are read in the background, on two
    # cursors, while the computation starts (Inputs.settle waits for them).
    pool = Prefetch(con) if scope is not None else None
    reads: dict[str, tuple[float, float]] = {}
    loaded: dict[str, list[pl.DataFrame]] = {}

    def read(
        name: str, sql: str, params: Params = (), after: "Future[dict[str, object]] | None" = None
    ) -> pl.LazyFrame:
        return _table(
            con, sql, params, reads=reads, name=name, loaded=loaded, prefetch=pool, after=after
        )

    def table(name: str, sql: str, recent: str = "", where: str = "") -> pl.LazyFrame:
        if since is None or not recent:
            query, params = sql + (f" WHERE {where}" if where else ""), ()
        else:
            conditions = " AND ".join(c for c in (where, recent) if c)
            query, params = f"{sql} WHERE {conditions}", (since,)
        return read(name, query, params)

    # The recomputed tickets, found first in the background: every ticket table is read for them.
    keys: Future[dict[str, object]] | None = None
    if pool is not None and scope is not None:
        ids = sorted(set(scope.recomputed.get_column("sprint_id").to_list()))
        found = {"since": since, "sprints": ids, "listed": _listed(ids)}

        def scope_tickets(cursor: duckdb.DuckDBPyConnection) -> dict[str, object]:
            # In the background: the waits for the ticket tables count under "load".
            return {"tickets": _read(cursor, _SCOPE_TICKETS, found)["ticket_id"].unique().to_list()}

        keys = pool.call(scope_tickets)
    # By ticket id alone: a few tickets of other sources with the same id are harmless (above).
    mine = "ticket_id IN (SELECT unnest($tickets::VARCHAR[]))"

    def ticket_table(name: str, sql: str, where: str = "") -> pl.LazyFrame:
        if keys is None:
            return table(name, sql, where=where)
        query = f"{sql} WHERE " + " AND ".join(c for c in (where, mine) if c)
        return read(name, query, {}, after=keys)

    in_commits = f"sha IN ({_RECENT_COMMITS})"
    in_prs = f"(source, repo, pr_number) IN ({_RECENT_PRS})"

    # Created in the order the computation needs them: a scope's are read in that order.
    def on_demand(name: str, sql: str) -> pl.LazyFrame:
        """A table read only if a computation asks for it (a scope's calendar is built already)."""
        return _table(con, sql, reads=reads, name=name, loaded=loaded)

    history = History(
        first_commit=on_demand("first_commit", "SELECT min(committed_at) AS first FROM commits"),
        observed=table("observed", _OBSERVED_SQL),
        links=table("links", _LINKS_SQL),
    )
    evidence_authors = table(
        "evidence_authors",
        # Distinct markers first: the same author matches on every commit it wrote.
        "SELECT DISTINCT lower(regexp_extract(matched, '<([^<>]+)>', 1)) AS identity FROM (SELECT DISTINCT "
        "matched FROM ai_evidence WHERE subject_kind = 'commit' AND field = 'author' AND mode IN ('agent', 'bot')) "
        "UNION SELECT DISTINCT lower(login) FROM identities WHERE account_type IN ('bot', 'app') "
        "UNION SELECT DISTINCT lower(author_login) FROM pull_requests WHERE author_type = 'bot'",
    )
    identities = table("identities", "SELECT * FROM identities")
    commits = table(
        "commits",
        "SELECT repo, sha, authored_at, committed_at, author_email, author_canonical_email, is_merge, "
        "in_default_history, is_reachable, ai_tool, ai_mode, ai_via_pr, is_revert, reverted_sha, stats_complete, "
        "additions, deletions, excluded_additions, excluded_deletions FROM commits",
        "committed_at >= ?",
    )
    trailers = table(
        "trailers",
        "SELECT repo, sha, position, key, value FROM commit_trailers",
        in_commits,
        "key = 'co-authored-by'",
    )
    prs = table(
        "prs",
        "SELECT source, repo, number, title, author_login, author_type, state, is_draft, created_at, merged_at, "
        "closed_at, base_ref, head_ref, additions, deletions, changed_files, labels, merge_commit_sha, "
        "first_commit_at, ai_tool, ai_mode, is_deleted FROM pull_requests",
        "coalesce(merged_at, closed_at, created_at) >= ?",
    )
    reviews = table(
        "reviews",
        "SELECT source, repo, pr_number, state, submitted_at, is_human FROM pr_reviews",
        in_prs,
    )
    pr_commits = table(
        "pr_commits",
        "SELECT source, repo, pr_number, sha, position, author_email, author_login, authored_at, trailers, "
        "ai_tool, ai_mode FROM pr_commits",
        in_prs,
    )
    forge_repos = table("forge_repos", "SELECT * FROM forge_repos")
    extra = {
        # Counts only: the shas and times of the measurement and its provenance are not read.
        "commit_durability": table(
            "commit_durability",
            "SELECT repo, sha, landed_at, lines_added, alive_churn, alive_durable, note_ai_lines, "
            "note_ai_alive_churn, note_ai_alive_durable, note_human_lines, note_human_alive_churn, "
            "note_human_alive_durable FROM commit_durability",
            in_commits,
        )
    }

    raw_tickets = ticket_table("tickets", _TICKET_COLUMNS)
    # Only the fields the timelines read (a third of the changelog is assignee and resolution
    # changes); whether a source keeps a changelog at all comes from `changelog_sources`.
    ticket_events = ticket_table(
        "ticket_events",
        "SELECT source, ticket_id, event_id, position, changed_at, field, from_id, to_id, from_value, "
        "to_value FROM ticket_events",
        where="field IN (" + ", ".join(f"'{f}'" for f in tickets.TIMELINE_FIELDS) + ")",
    )
    ticket_sprints = ticket_table("ticket_sprints", "SELECT * FROM ticket_sprints")
    ticket_statuses = table("ticket_statuses", "SELECT * FROM ticket_statuses")
    changelog_sources = table(
        "changelog_sources",
        _CHANGELOG_SOURCES_SQL if scope is None else _SCOPED_CHANGELOG_SOURCES_SQL,
    )
    status_names = None if scope is None else table("status_names", _STATUS_NAMES_SQL)
    if scope is not None:
        extra["sprint_series"] = table("sprint_series", "SELECT * FROM mart_sprint_series")
        mine_sprints = scope.sprints
        extra["board_rows"] = read(
            "board_rows",
            _BOARD_ROWS_SQL,
            {
                "teams": mine_sprints.get_column("team").to_list(),
                "ids": mine_sprints.get_column("sprint_id").to_list(),
                "sprints": BOARD_SPRINTS,
                "headline": list(HEADLINE),
            },
        )
    releases = table("releases", "SELECT * FROM releases")
    deployment_sql = (
        "SELECT source, repo, deployment_id, sha, ref, environment, created_at, latest_state, "
        "latest_state_at, is_deleted FROM deployments"
    )
    status_sql = "SELECT source, repo, deployment_id, state, created_at FROM deployment_statuses"
    if scope is None:
        deployments = table("deployments", deployment_sql)
        deployment_statuses = table("deployment_statuses", status_sql)
    else:
        recent = f"(source, repo, deployment_id) IN ({_RECENT_DEPLOYMENTS})"
        window = {"deployments_from": scope.deployments_from or since}
        deployments = read("deployments", f"{deployment_sql} WHERE {recent}", window)
        deployment_statuses = read("deployment_statuses", f"{status_sql} WHERE {recent}", window)
        extra["earlier_deployments"] = read(
            "earlier_deployments",
            f"SELECT {', '.join(dora.PRODUCTION_COLUMNS)} FROM mart_deployments WHERE {_EARLIER_DEPLOYMENT}",
            window,
        )
    linked_commits = (
        table("linked_commits", _LINKED_COMMITS_SQL)
        if scope is None
        else read(
            "linked_commits",
            _SCOPED_LINKED_COMMITS_SQL,
            {
                "since": since,
                "deployments_from": scope.deployments_from or since,
                "environments": [
                    v.strip().lower() for v in (settings or Settings()).production_environments
                ],
            },
        )
    )
    incident_candidates = None if scope is None else read("incidents", *_incidents_sql(settings))
    if scope is not None:
        stored_changes = read("stored_changes", _STORED_CHANGES_SQL, (since, since))
        extra["open_changes"] = stored_changes.filter(pl.col("_open")).select(
            "kind", "git_repo", "source", "repo", "number", "sha", "start_at", "start_from",
            "in_default_at", "is_ai", "is_agent", "is_fix",
        )  # fmt: skip
        extra["shipped_fixes"] = stored_changes.filter(
            pl.col("is_fix") & pl.col("deployment_id").is_not_null()
        ).select(*dora.CHANGE_KEY, "deployment_source", "deployment_repo", "deployment_id")
    return Inputs(
        commits=commits,
        trailers=trailers,
        notes=table(
            "notes", "SELECT repo, sha, kind, tool, lines FROM commit_ai_notes", in_commits
        ),
        prs=prs,
        reviews=reviews,
        pr_commits=pr_commits,
        forge_repos=forge_repos,
        tickets=raw_tickets,
        ticket_events=ticket_events,
        changelog_sources=changelog_sources,
        status_names=status_names,
        incident_candidates=incident_candidates,
        ticket_sprints=ticket_sprints,
        ticket_statuses=ticket_statuses,
        sprints=on_demand("sprints", "SELECT * FROM sprints"),
        releases=releases,
        deployments=deployments,
        deployment_statuses=deployment_statuses,
        identities=identities,
        evidence_authors=evidence_authors,
        linked_commits=linked_commits,
        history=history,
        reads=reads,
        extra=extra,
        prefetch=pool,
        loaded=loaded,
    )


def _observed(inputs: Inputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every identity the data shows (identity, kind, seen, name) and the pairs known to be one account."""
    if inputs.history is not None:
        return inputs.history.observed.collect(), _distinct_links(inputs.history.links)
    commits = inputs.commits
    observed = (
        pl.concat(
            [
                commits.group_by(pl.col("author_email").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(pl.lit("email").alias("kind"), pl.lit(None, pl.String).alias("name")),
                commits.group_by(pl.col("author_canonical_email").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(pl.lit("email").alias("kind"), pl.lit(None, pl.String).alias("name")),
                inputs.prs.group_by(pl.col("author_login").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(pl.lit("login").alias("kind"), pl.lit(None, pl.String).alias("name")),
                inputs.tickets.group_by(pl.col("assignee_id").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(
                    pl.lit("account").alias("kind"), pl.lit(None, pl.String).alias("name")
                ),
                inputs.identities.select(
                    pl.col("account_id").alias("identity"),
                    pl.lit(0, pl.UInt32).alias("seen"),
                    pl.col("kind"),
                    pl.col("name"),
                ),
            ],
            how="diagonal_relaxed",
        )
        .filter(pl.col("identity").is_not_null())
        .collect()
    )
    links = pl.concat(
        [
            commits.select(
                pl.col("author_email").alias("a"), pl.col("author_canonical_email").alias("b")
            ),
            inputs.pr_commits.select(
                pl.col("author_email").alias("a"), pl.col("author_login").alias("b")
            ),
            inputs.identities.select(pl.col("account_id").alias("a"), pl.col("login").alias("b")),
            inputs.identities.select(pl.col("account_id").alias("a"), pl.col("email").alias("b")),
        ],
        how="diagonal_relaxed",
    )
    return observed, _distinct_links(links)


def _distinct_links(links: pl.LazyFrame) -> pl.DataFrame:
    return (
        links.filter(
            pl.col("a").is_not_null()
            & pl.col("b").is_not_null()
            & (pl.col("a").str.to_lowercase() != pl.col("b").str.to_lowercase())
        )
        .unique()
        .collect()
    )


@dataclass(frozen=True)
class Scope:
    """A latest-sprint recompute: the sprints whose rows are replaced, and where their facts begin."""

    sprints: pl.DataFrame  # team, sprint_id
    since: datetime  # the earliest start among them: facts from then on are recomputed
    calendar: pl.DataFrame  # the whole calendar it was chosen from (mart_calendar)
    # team, sprint_id: the team sprints whose ticket scope is rebuilt: the scope's own and those
    # the organisation's recomputed sprint adds up (their midpoint is in it).
    recomputed: pl.DataFrame
    # Deployments created or finished from then on are recomputed; the stored rows of earlier ones
    # stand (their incidents, rework and recovery look back less than this: `dora.lookback`).
    deployments_from: datetime | None = None


def latest_sprints(calendar: pl.DataFrame) -> Scope | None:
    """Each team's newest started sprint that is still running when the organisation's newest began, and the organisation's.

    A team whose newest sprint ended before that has nothing new to recompute (and would stretch
    the window back to its last sprint). None when nothing has started.
    """
    started = calendar.filter(pl.col("sprint_state") != "future")
    org_start = started.filter(pl.col("team") == ORG).get_column("sprint_start").max()
    if org_start is None:
        return None
    newest = (
        started.sort("sprint_start")
        .group_by("team")
        .last()
        .filter((pl.col("team") == ORG) | (pl.col("sprint_end") > org_start))
    )
    since = newest.get_column("sprint_start").min()
    if not isinstance(since, datetime):
        return None
    sprints = newest.select("team", "sprint_id").sort("team")
    org = sprints.filter(pl.col("team") == ORG).get_column("sprint_id")
    counted = (
        org_sprint_of(started.lazy())
        .filter(pl.col("org_sprint_id").is_in(org.implode()))
        .select("team", "sprint_id")
        .collect()
    )
    recomputed = pl.concat([sprints, counted]).unique().sort("team", "sprint_id")
    return Scope(sprints, since, calendar, recomputed)


@dataclass
class Marts:
    tables: dict[str, pl.DataFrame]
    seconds: dict[str, float]  # wall seconds per step; "load" holds every read of a raw table
    warnings: list[str]
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # the same steps in CPU seconds
    scope: Scope | None = None  # set for a latest-sprint recompute: tables hold only its rows


class _Clock:
    """Wall and CPU seconds per step; reads of raw tables count under "load", not in the step that caused them."""

    def __init__(self, reads: dict[str, tuple[float, float]]) -> None:
        self.reads = reads
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def _reading(self) -> tuple[float, float]:
        return sum(r[0] for r in self.reads.values()), sum(r[1] for r in self.reads.values())

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        read_wall, read_cpu = self._reading()
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        more_wall, more_cpu = self._reading()
        self.wall[step] = time.perf_counter() - wall - (more_wall - read_wall)
        self.cpu[step] = time.process_time() - cpu - (more_cpu - read_cpu)

    def seconds(self) -> tuple[dict[str, float], dict[str, float]]:
        read_wall, read_cpu = self._reading()
        return {"load": read_wall, **self.wall}, {"load": read_cpu, **self.cpu}


def _calendar(inputs: Inputs, settings: Settings, today: date) -> pl.DataFrame:
    first_commit = (
        inputs.history.first_commit.select(pl.col("first"))
        if inputs.history is not None
        else inputs.commits.select(pl.col("committed_at").min())
    )
    first = first_commit.collect().item()
    return build_calendar(
        inputs.sprints, settings, first_activity=first.date() if first else None, today=today
    ).collect()


def compute(
    inputs: Inputs,
    settings: Settings,
    *,
    families: dict[str, Family] | None = None,
    scope: Scope | None = None,
    ready: Callable[[str, pl.DataFrame], None] | None = None,
) -> Marts:
    """Every mart as a DataFrame, with wall and CPU seconds per step and per family.

    With a `scope` (inputs loaded `since` its start), sprint_metrics and sprint_tool_mix hold
    only the scope's sprints, and board_summary is left to `write`, which rebuilds it from the
    stored sprint_metrics. `ready(name, frame)` is told of each mart as soon as it is final (the
    facts before the families run), so that it can be written meanwhile.
    """
    tell = ready or (lambda name, frame: None)
    clock = _Clock(inputs.reads)
    chosen = FAMILIES if families is None else families
    today = settings.today or datetime.now(UTC).date()
    with clock("calendar_people"):
        calendar = _calendar(inputs, settings, today) if scope is None else scope.calendar
        observed, links = _observed(inputs)
        bots = inputs.evidence_authors.collect().get_column("identity").drop_nulls().to_list()
        resolution = resolve(settings, observed, links, bots)
        members = membership(settings, resolution.identity_map)

    with clock("facts"):
        cal = calendar.lazy()
        commits = fact_commits(
            inputs.commits,
            inputs.trailers,
            resolution.identity_map.lazy(),
            members.lazy(),
            cal,
            settings,
        ).collect()
        prs = fact_prs(inputs.prs, inputs.reviews, inputs.pr_commits, inputs.forge_repos, resolution.identity_map.lazy(),
                       members.lazy(), cal, settings).collect()  # fmt: skip
    for name, frame in (("mart_calendar", calendar), ("mart_identities", resolution.identity_map),
                        ("mart_unmatched_identities", resolution.unmatched), ("mart_commits", commits),
                        ("mart_prs", prs)):  # fmt: skip
        tell(name, frame)
    if inputs.linked_commits is not None:
        # The raw commits are in the facts now; what DORA looks up in them is in linked_commits.
        inputs.release("commits", "trailers")

    ctx = Context(
        inputs,
        settings,
        cal,
        commits.lazy(),
        prs.lazy(),
        resolution.identity_map.lazy(),
        members.lazy(),
        today,
        scope=scope,
    )
    fact_marts: dict[str, pl.DataFrame] = {}
    builders = [(name, build) for name, build in FACT_MARTS.items() if name in chosen]
    for i, (name, build) in enumerate(builders):
        with clock(f"fact_marts:{name}"):
            fact_marts |= build(ctx)
        still = set().union(*(FACT_MART_READS.get(later, ()) for later, _ in builders[i + 1 :]))
        inputs.release(*(FACT_MART_READS.get(name, frozenset()) - still))
    ctx.facts.update({name: frame.lazy() for name, frame in fact_marts.items()})
    written = dict(fact_marts)
    if scope is not None and "mart_deployments" in written:
        # The stored rows of earlier deployments stand: only the look-back window's are written.
        earlier = inputs.extra["earlier_deployments"].select(dora.KEY).collect()
        written["mart_deployments"] = written["mart_deployments"].join(
            earlier, on=dora.KEY, how="anti"
        )
    # The families read the facts; a raw table one still asks for is read again.
    inputs.release(*(name for name in inputs.loaded if name != "notes"))
    for name, frame in written.items():
        tell(name, frame)

    produced = []
    for name, family in chosen.items():
        with clock(f"family:{name}"):
            produced.append(family(ctx).collect())
    metric_rows = pl.concat(produced) if produced else pl.DataFrame(schema=METRIC_ROW_SCHEMA)
    later = {"mart_sprint_series": velocity.series_mart(ctx)}
    if "delivery" in chosen:
        later["mart_guards"] = velocity.guard_table(ctx)
    if scope is not None:
        # Baselines and envelopes of the scope's sprints: earlier sprints' rows are unchanged.
        later = {
            name: frame.join(scope.sprints, on=["team", "sprint_id"], how="semi")
            for name, frame in later.items()
        }

    with clock("finalise"):
        # For a scope, its sprints only: their rows are complete, the window's others are not.
        published = (
            calendar
            if scope is None
            else calendar.join(scope.sprints, on=["team", "sprint_id"], how="semi")
        )
        sprint_metrics = finalise(metric_rows, published, members, settings, tuple(chosen))
        mix = ai.tool_mix(ctx.commits, ctx.prs).collect()
        marts = {"sprint_metrics": sprint_metrics}
        if scope is None:
            marts |= {"sprint_tool_mix": mix, "board_summary": board_summary(sprint_metrics)}
        else:
            marts["sprint_tool_mix"] = mix.join(scope.sprints, on=["team", "sprint_id"], how="semi")
    for name, frame in (later | marts).items():
        tell(name, frame)
    warnings = [f"identity conflict: {c}" for c in resolution.conflicts]
    wall, cpu = clock.seconds()
    return Marts(
        tables={
            "mart_calendar": calendar,
            "mart_identities": resolution.identity_map,
            "mart_unmatched_identities": resolution.unmatched,
            "mart_commits": commits,
            "mart_prs": prs,
            # mart_durability; mart_deployments, mart_changes, mart_recoveries; mart_tickets,
            # mart_sprint_scope, mart_releases; mart_guards, mart_sprint_series
            **written,
            **later,
            **marts,
        },
        seconds=wall,
        warnings=warnings,
        cpu_seconds=cpu,
        scope=scope,
    )


def team_sizes(calendar: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Configured members per team sprint (membership overlapping the sprint); the org counts everyone."""
    team = (
        calendar.filter(pl.col("team") != ORG)
        .join(members, on="team", how="left")
        .filter(
            (pl.col("member_from") < pl.col("sprint_end"))
            & (pl.col("member_to") > pl.col("sprint_start"))
        )
        .group_by("team", "sprint_id")
        .agg(pl.col("person_id").n_unique().alias("members"))
    )
    org_count = members.get_column("person_id").n_unique()
    org = calendar.filter(pl.col("team") == ORG).select(
        "team", "sprint_id", pl.lit(org_count, pl.UInt32).alias("members")
    )
    return pl.concat([team, org], how="vertical_relaxed")


def finalise(
    metric_rows: pl.DataFrame,
    calendar: pl.DataFrame,
    members: pl.DataFrame,
    settings: Settings,
    families: Sequence[str] = (),
) -> pl.DataFrame:
    """Join sprint names and dates, attach definition versions, apply the privacy and sample rules.

    Every (team, sprint) of the calendar that has started gets every metric of the families that
    ran (and any other metric produced), so a sprint without data says `insufficient_data`
    instead of being absent; so does a number resting on fewer than `min_sample` units
    (families give `sample`; counts give none). A team smaller than `min_group_size` is `suppressed`: its numbers are removed, not
    only hidden.
    """
    versions = pl.DataFrame(
        [(d.id, d.version) for d in definitions().values()],
        schema={"metric_id": pl.String, "definition_version": pl.Int32},
        orient="row",
    )
    unknown = set(metric_rows.get_column("metric_id").unique().to_list()) - set(
        versions.get_column("metric_id").to_list()
    )
    if unknown:
        raise ValueError(
            f"metrics without a definition in metrics/definitions.yaml: {sorted(unknown)}"
        )
    started = calendar.filter(pl.col("sprint_state") != "future").select(
        "team", "sprint_id", "sprint_name", "sprint_start", "sprint_end", "sprint_state"
    )
    produced = set(metric_rows.get_column("metric_id").unique().to_list())
    ids = sorted(produced | {d.id for d in definitions().values() if d.family in families})
    grid = started.join(pl.DataFrame({"metric_id": ids}), how="cross")
    sizes = team_sizes(calendar, members)
    out = (
        grid.join(metric_rows, on=["team", "sprint_id", "metric_id"], how="left")
        .join(versions, on="metric_id", how="left")
        .join(sizes, on=["team", "sprint_id"], how="left")
        .with_columns(
            pl.when(
                (pl.col("team") != ORG) & (pl.col("members").fill_null(0) < settings.min_group_size)
            )
            .then(pl.lit("suppressed"))
            .when(pl.col("sample").is_not_null() & (pl.col("sample") < settings.min_sample))
            .then(pl.lit("insufficient_data"))
            .when(pl.col("value").is_null())
            .then(pl.lit("insufficient_data"))
            .otherwise(pl.lit("ok"))
            .alias("status")
        )
        .with_columns(
            *[
                pl.when(pl.col("status") == "ok").then(pl.col(c)).alias(c)
                for c in ("value", "ci_low", "ci_high")
            ],
            *[
                pl.when(pl.col("status") != "suppressed").then(pl.col(c)).alias(c)
                for c in ("numerator", "denominator", "coverage")
            ],
        )
        .select(list(SPRINT_METRICS_SCHEMA))
        .cast(SPRINT_METRICS_SCHEMA)  # type: ignore[arg-type]
        .sort("team", "sprint_start", "metric_id")
    )
    return out


BOARD_SPRINTS = 6  # sprints per team in board_summary
# The headline rows of each team's latest stored sprints but a latest-sprint recompute's own
# (board_summary picks among ties itself, and among these and the recomputed sprints' rows).
_BOARD_ROWS_SQL = """
WITH latest AS (
    SELECT team, sprint_id FROM (
        SELECT DISTINCT team, sprint_id, sprint_start FROM sprint_metrics
        WHERE (team, sprint_id) NOT IN (SELECT unnest($teams::VARCHAR[]), unnest($ids::VARCHAR[])))
    QUALIFY dense_rank() OVER (PARTITION BY team ORDER BY sprint_start DESC) <= $sprints
)
SELECT s.* FROM sprint_metrics s SEMI JOIN latest USING (team, sprint_id)
WHERE s.metric_id IN (SELECT unnest($headline::VARCHAR[]))
"""


def board_summary(sprint_metrics: pl.DataFrame, *, sprints: int = BOARD_SPRINTS) -> pl.DataFrame:
    """The latest sprints of each team and the organisation, one row each, headline metrics as columns."""
    latest = (
        sprint_metrics.select("team", "sprint_id", "sprint_start")
        .unique()
        .sort("sprint_start", descending=True)
        .group_by("team", maintain_order=True)
        .head(sprints)
    )
    headline = sprint_metrics.join(
        latest.select("team", "sprint_id"), on=["team", "sprint_id"], how="semi"
    ).filter(pl.col("metric_id").is_in(HEADLINE))
    if headline.is_empty():
        return pl.DataFrame(
            schema={
                "team": pl.String,
                "sprint_id": pl.String,
                "sprint_name": pl.String,
                "sprint_start": SPRINT_METRICS_SCHEMA["sprint_start"],
            }
        )
    values = headline.pivot(
        on="metric_id", index=["team", "sprint_id", "sprint_name", "sprint_start"], values="value"
    )
    extra = headline.filter(pl.col("metric_id") == "velocity_acceleration").select(
        "team",
        "sprint_id",
        pl.col("ci_low").alias("velocity_acceleration_ci_low"),
        pl.col("ci_high").alias("velocity_acceleration_ci_high"),
    )
    return values.join(extra, on=["team", "sprint_id"], how="left").sort("team", "sprint_start")


def _arrow(frame: pl.DataFrame) -> object:
    # Arrow's string views: no copy of every string into a classic Arrow string column.
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _replace(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register("_mart", _arrow(frame))
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _mart')
    con.unregister("_mart")


def _sync(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Make a mart hold exactly `frame`'s rows by deleting the rows it no longer has and inserting the new ones.

    A latest-sprint recompute changes few rows of the marts it recomputes whole (deployments,
    releases, the calendar): rewriting them would write, and checkpoint, every row again. A table
    whose columns are not the frame's is replaced.
    """
    stored = con.execute(f'SELECT * FROM "{name}" LIMIT 0').description or []
    if [column[0] for column in stored] != frame.columns:
        _replace(con, name, frame)
        return
    same = " AND ".join(f'o."{c}" IS NOT DISTINCT FROM n."{c}"' for c in frame.columns)
    con.register("_mart", _arrow(frame))
    con.execute(
        f'DELETE FROM "{name}" WHERE rowid IN (SELECT o.rowid FROM "{name}" o ANTI JOIN _mart n ON {same})'
    )
    con.execute(f'INSERT INTO "{name}" SELECT n.* FROM _mart n ANTI JOIN "{name}" o ON {same}')
    con.unregister("_mart")


# How a latest-sprint recompute replaces each mart: statements run with the new rows registered as
# `_mart`, the scope's sprints as `_scope` and `since` as the parameter, before the new rows are
# inserted. None: the whole table is recomputed (`_sync` writes the rows that changed). A mart
# missing here cannot be written for a scope.
_SCOPED_DELETES: dict[str, str | None] = {
    "mart_calendar": None,
    "mart_identities": None,
    "mart_unmatched_identities": None,
    "mart_commits": "DELETE FROM mart_commits WHERE committed_at >= $since",
    # A PR that finished inside the window may have counted earlier (open: at its creation).
    "mart_prs": "DELETE FROM mart_prs WHERE finished_at >= $since "
    "OR (source, repo, number) IN (SELECT source, repo, number FROM _mart)",
    "sprint_metrics": "DELETE FROM sprint_metrics WHERE (team, sprint_id) IN (SELECT team, sprint_id FROM _scope)",
    "sprint_tool_mix": "DELETE FROM sprint_tool_mix WHERE (team, sprint_id) IN (SELECT team, sprint_id FROM _scope)",
    "mart_durability": "DELETE FROM mart_durability WHERE committed_at >= $since",
    # The recomputed tickets, and tickets deleted since.
    "mart_tickets": "DELETE FROM mart_tickets WHERE (source, ticket_id) IN (SELECT source, ticket_id FROM _mart) "
    "OR (source, ticket_id) IN (SELECT source, ticket_id FROM tickets WHERE is_deleted)",
    "mart_sprint_scope": "DELETE FROM mart_sprint_scope WHERE (team, sprint_id) IN (SELECT team, sprint_id FROM _recomputed)",
    "mart_releases": "DELETE FROM mart_releases WHERE released_at >= $since",
    "mart_deployments": f"DELETE FROM mart_deployments WHERE NOT ({_EARLIER_DEPLOYMENT})",
    "mart_recoveries": None,
    # The window's changes and the earlier ones recomputed with them (pending, or shipped in the window).
    "mart_changes": "DELETE FROM mart_changes m WHERE m.in_default_at >= $since OR EXISTS (SELECT 1 FROM _mart n "
    "WHERE n.kind = m.kind AND n.git_repo IS NOT DISTINCT FROM m.git_repo AND n.source IS NOT DISTINCT FROM m.source "
    "AND n.repo IS NOT DISTINCT FROM m.repo AND n.number IS NOT DISTINCT FROM m.number "
    "AND n.sha IS NOT DISTINCT FROM m.sha)",
    "mart_guards": "DELETE FROM mart_guards WHERE (team, sprint_id) IN (SELECT team, sprint_id FROM _scope)",
    "mart_sprint_series": "DELETE FROM mart_sprint_series WHERE (team, sprint_id) IN (SELECT team, sprint_id FROM _scope)",
}


def _write_scoped(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, scope: Scope
) -> None:
    """Replace a mart's rows of a latest-sprint recompute (`_SCOPED_DELETES`); `_scope` and `_recomputed` are registered."""
    if name not in _SCOPED_DELETES:
        raise ValueError(
            f"no rule for writing {name} in a latest-sprint recompute (_SCOPED_DELETES)"
        )
    delete = _SCOPED_DELETES[name]
    if delete is None:
        _sync(con, name, frame)
        return
    con.register("_mart", _arrow(frame))
    values = {"since": scope.since, "deployments_from": scope.deployments_from or scope.since}
    con.execute(delete, {k: v for k, v in values.items() if f"${k}" in delete} or None)
    con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _mart')
    con.unregister("_mart")


def _record_run(con: duckdb.DuckDBPyConnection, marts: Marts) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS metric_runs (computed_at TIMESTAMPTZ NOT NULL, seconds DOUBLE NOT NULL, "
        "rows_sprint_metrics BIGINT NOT NULL, warnings VARCHAR[] NOT NULL)"
    )
    con.execute("ALTER TABLE metric_runs ADD COLUMN IF NOT EXISTS scope VARCHAR")
    con.execute(
        "INSERT INTO metric_runs (computed_at, seconds, rows_sprint_metrics, warnings, scope) "
        "VALUES (now(), ?, ?, ?, ?)",
        [sum(marts.seconds.values()), marts.tables["sprint_metrics"].height, marts.warnings,
         "all" if marts.scope is None else "latest"],
    )  # fmt: skip


class ScopedWriter:
    """Writes a latest-sprint recompute's marts, in one transaction, while the rest is computed.

    `put` hands over a final mart (from the computation's thread); a thread of its own writes it,
    the only user of the connection until `finish` (board_summary, the run record, COMMIT) or
    `abort` (ROLLBACK). The computation's reads go through their own cursors meanwhile.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
        self.con, self.scope = con, scope
        self._todo: queue.SimpleQueue[tuple[str, pl.DataFrame] | None] = queue.SimpleQueue()
        self._failed: list[BaseException] = []
        self.seconds = 0.0  # wall seconds spent writing
        self._thread = threading.Thread(target=self._run, name="sprintproof-write", daemon=True)
        self._thread.start()

    def put(self, name: str, frame: pl.DataFrame) -> None:
        self._todo.put((name, frame))

    def _run(self) -> None:
        con, began = self.con, False
        while (item := self._todo.get()) is not None:
            if self._failed:
                continue
            wall = time.perf_counter()
            try:
                if not began:
                    con.execute("BEGIN TRANSACTION")
                    began = True
                    con.register("_scope", _arrow(self.scope.sprints))
                    con.register("_recomputed", _arrow(self.scope.recomputed))
                _write_scoped(con, *item, self.scope)
            except Exception as exc:  # noqa: BLE001 - raised again by finish, on the caller's thread
                self._failed.append(exc)
            self.seconds += time.perf_counter() - wall

    def _stop(self) -> None:
        self._todo.put(None)
        self._thread.join()

    def finish(self, marts: Marts, board_rows: pl.DataFrame) -> None:
        """Write what is left and commit; every mart must have been handed over.

        `board_rows`: the stored headline rows of each team's latest sprints but the scope's
        (`_BOARD_ROWS_SQL`); board_summary is rebuilt from them and the scope's new rows.
        """
        self._stop()
        con = self.con
        wall = time.perf_counter()
        try:
            if self._failed:
                raise self._failed[0]
            missing = sorted(set(marts.tables) - set(_SCOPED_DELETES))
            if missing:
                raise ValueError(f"no rule for writing {missing} in a latest-sprint recompute")
            con.unregister("_scope")
            con.unregister("_recomputed")
            fresh = marts.tables["sprint_metrics"].filter(pl.col("metric_id").is_in(HEADLINE))
            rows = pl.concat([board_rows.cast(SPRINT_METRICS_SCHEMA), fresh])  # type: ignore[arg-type]
            _replace(
                con, "board_summary", board_summary(rows.sort("team", "sprint_start", "metric_id"))
            )
            _record_run(con, marts)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            self.seconds += time.perf_counter() - wall

    def abort(self) -> None:
        """Undo whatever was written."""
        self._stop()
        with contextlib.suppress(duckdb.Error):  # nothing was begun
            self.con.execute("ROLLBACK")


def write(con: duckdb.DuckDBPyConnection, marts: Marts) -> None:
    """Replace every mart in one transaction (a latest-sprint recompute writes through `ScopedWriter`)."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name, frame in marts.tables.items():
            _replace(con, name, frame)
        _record_run(con, marts)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def _one_thread_per_query(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread per query while a latest-sprint recompute reads its small tables two at
    a time: splitting such queries across threads cost more CPU than it saved wall time."""
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


_MARTS = (
    "mart_calendar",
    "mart_commits",
    "mart_prs",
    "sprint_metrics",
    "sprint_tool_mix",
    "mart_sprint_series",
)
# Stored marts a family's latest-sprint recompute reads.
_READS_STORED = {"dora": ("mart_changes", "mart_deployments"), "delivery": ("mart_tickets",)}


def recompute(con: duckdb.DuckDBPyConnection, settings: Settings, *, latest: bool = False) -> Marts:
    """Recompute every mart; with `latest`, only the newest sprints (`latest_sprints`) and their facts.

    A latest-sprint recompute falls back to a full one when the marts do not exist yet, when a
    registered family is not in WINDOWED, or when the newest sprint would change earlier sprints'
    numbers (it joins a baseline or changes a team's velocity basis: `NeedsFullRecompute`).
    Facts older than the window that changed since the last full recompute wait for the next one.
    """
    inputs = load_inputs(con)
    scope = None
    stored = {
        row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    needed = set(_MARTS).union(*(_READS_STORED.get(name, ()) for name in FAMILIES))
    if latest and set(FAMILIES) <= WINDOWED and stored >= needed:
        today = settings.today or datetime.now(UTC).date()
        scope = latest_sprints(_calendar(inputs, settings, today))
        if scope is not None:
            scope = replace(scope, deployments_from=scope.since - dora.lookback(settings))
    # Polars' in-memory engine: its default streaming engine took twice the time over the facts'
    # joins, as-of joins and sort, and 10 % more over all families (1M commits, two threads).
    with pl.Config(engine_affinity="in-memory"):
        marts, why, board_rows = None, None, pl.DataFrame()
        if scope is not None:
            with _one_thread_per_query(con):
                chosen = load_inputs(con, scope=scope, settings=settings)
                writer = ScopedWriter(con, scope)
                try:
                    marts = compute(chosen, settings, scope=scope, ready=writer.put)
                    board_rows = chosen.extra["board_rows"].collect()
                except NeedsFullRecompute as reason:
                    why = reason
                finally:
                    chosen.settle()
                    if marts is None:
                        writer.abort()
                if marts is not None:
                    cpu = time.process_time()
                    writer.finish(marts, board_rows)
                    # Writing overlapped the computation: the wall seconds it took in all, and
                    # the CPU seconds of what was left once the computation ended.
                    marts.seconds["write"] = writer.seconds
                    marts.cpu_seconds["write"] = time.process_time() - cpu
                    return marts
        marts = compute(inputs, settings)
        if why is not None:
            marts.warnings.append(
                f"the latest sprints alone were not enough ({why}): recomputed everything"
            )
    del inputs  # the raw tables: freed before the marts are written
    wall, cpu = time.perf_counter(), time.process_time()
    write(con, marts)
    marts.seconds["write"] = time.perf_counter() - wall
    marts.cpu_seconds["write"] = time.process_time() - cpu
    return marts
