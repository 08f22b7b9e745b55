"""Read-only queries of the warehouse for the dashboard: plain functions over a file path, no Streamlit.

Each function opens its own read-only connection (`ingestion.warehouse.connect`), reads only the
columns it needs with the filters pushed into SQL, and returns Polars frames. Metrics are never
recomputed here: numbers come from `sprint_metrics` and `sprint_tool_mix`; the fact marts are read
only to list what is behind a number.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ingestion.warehouse import WarehouseError, connect, latest_version, schema_version
from metrics import health

ORG = "__org__"

MISSING = "missing"
UNREADABLE = "unreadable"
NOT_INGESTED = "not_ingested"
NO_METRICS = "no_metrics"
READY = "ready"

# Columns every metric frame carries (sprint_metrics, one row per team, sprint and metric).
METRIC_COLUMNS = (
    "team", "sprint_id", "sprint_name", "sprint_start", "sprint_end", "sprint_state", "metric_id",
    "value", "numerator", "denominator", "ci_low", "ci_high", "coverage", "definition_version",
    "status", "note",
)  # fmt: skip


# A team sprint belongs to the organisation sprint (and to a sprint range) that holds its
# midpoint: the rule mart_sprint_scope uses, so boards offset from the cadence count once.
def midpoint(alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return f"({a}sprint_start + ({a}sprint_end - {a}sprint_start) / 2)"


@dataclass(frozen=True)
class Status:
    """Whether the file can be shown, and if not, what the operator should run."""

    state: str
    path: Path | None
    detail: str = ""
    commits: int = 0
    metric_rows: int = 0
    computed_at: datetime | None = None
    schema: int = 0

    @property
    def ready(self) -> bool:
        return self.state == READY

    @property
    def schema_behind(self) -> bool:
        return 0 < self.schema < latest_version()


def file_version(path: Path | None) -> tuple[int, int]:
    """(modification time, size) of the file: part of every cache key, so a new snapshot is read at once."""
    if path is None:
        return (0, 0)
    try:
        stat = Path(path).stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }


def _count(con: duckdb.DuckDBPyConnection, table: str, tables: set[str]) -> int:
    if table not in tables:
        return 0
    return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0])


def status(path: Path | None) -> Status:
    """What the file holds: nothing yet, raw data without metrics, or everything a page needs."""
    if path is None:
        return Status(MISSING, None, "no warehouse was given")
    path = Path(path)
    if not path.exists():
        return Status(MISSING, path, f"{path} does not exist")
    try:
        with connect(path, read_only=True) as con:
            tables = _tables(con)
            version = schema_version(con)
            commits = _count(con, "commits", tables)
            raw = commits + _count(con, "pull_requests", tables) + _count(con, "tickets", tables)
            if raw == 0:
                return Status(NOT_INGESTED, path, "the warehouse holds no commits, pull requests or tickets yet", schema=version)  # fmt: skip
            rows = _count(con, "sprint_metrics", tables)
            computed = None
            if "metric_runs" in tables:
                computed = con.execute("SELECT max(computed_at) FROM metric_runs").fetchall()[0][0]
            if rows == 0:
                return Status(NO_METRICS, path, "the metrics have not been computed yet", commits, 0, computed, version)  # fmt: skip
            return Status(READY, path, "", commits, rows, computed, version)
    except WarehouseError as exc:
        return Status(UNREADABLE, path, str(exc))
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Status(UNREADABLE, path, f"{path}: {first}")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    frame = con.sql(sql, params=list(params)).pl() if params else con.sql(sql).pl()
    # DuckDB names the zone "Etc/UTC"; one spelling keeps frames comparable and joinable.
    zoned = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns(pl.col(zoned).dt.convert_time_zone("UTC")) if zoned else frame


# --------------------------------------------------------------------------- calendar and names


@dataclass(frozen=True)
class Catalog:
    """What every page run needs first, read through one connection (opening one costs tens of ms on a big file)."""

    sprints: pl.DataFrame  # the organisation's started sprints, oldest first
    teams: list[str]
    repos: list[str]
    computed: list[str]  # metric ids present in sprint_metrics


def catalog(path: Path) -> Catalog:
    with connect(path, read_only=True) as con:
        tables = _tables(con)
        return Catalog(
            sprints=_org_sprints(con),
            teams=_team_names(con),
            repos=_repo_names(con) if "repos" in tables else [],
            computed=_computed(con),
        )


def _org_sprints(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return _frame(
        con,
        "SELECT sprint_id, sprint_name, sprint_start, sprint_end, sprint_state FROM mart_calendar "
        "WHERE team = ? AND sprint_state <> 'future' ORDER BY sprint_start",
        [ORG],
    )


def _team_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT team FROM mart_calendar WHERE team <> ? ORDER BY team", [ORG]
    ).fetchall()
    return [r[0] for r in rows]


def _repo_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT repo FROM repos ORDER BY repo").fetchall()]


def _computed(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT metric_id FROM sprint_metrics ORDER BY 1").fetchall()]  # fmt: skip


def org_sprints(path: Path) -> pl.DataFrame:
    """The organisation's started sprints, oldest first: the options of the sprint range."""
    with connect(path, read_only=True) as con:
        return _org_sprints(con)


def team_names(path: Path) -> list[str]:
    """Every configured team the calendar knows, by name."""
    with connect(path, read_only=True) as con:
        return _team_names(con)


def repo_names(path: Path) -> list[str]:
    with connect(path, read_only=True) as con:
        return _repo_names(con) if "repos" in _tables(con) else []


def computed_metrics(path: Path) -> list[str]:
    """Metric ids present in sprint_metrics (families built later, such as durability, may be absent)."""
    with connect(path, read_only=True) as con:
        return _computed(con)


def _window_sql(start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if start is not None:
        clauses.append(f"{midpoint()} >= ?")
        params.append(start)
    if end is not None:
        clauses.append(f"{midpoint()} < ?")
        params.append(end)
    return (" AND " + " AND ".join(clauses) if clauses else ""), params


# --------------------------------------------------------------------------- numbers


def metric_rows(
    path: Path,
    metric_ids: Sequence[str],
    teams: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """sprint_metrics rows of these metrics and teams (ORG for the organisation) in the window, by sprint."""
    window, params = _window_sql(start, end)
    with connect(path, read_only=True) as con:
        return _frame(
            con,
            f"SELECT {', '.join(METRIC_COLUMNS)} FROM sprint_metrics "
            "WHERE metric_id IN (SELECT unnest(?)) AND team IN (SELECT unnest(?))"
            f"{window} ORDER BY team, sprint_start, metric_id",
            [list(metric_ids), list(teams), *params],
        )


def tool_mix(
    path: Path, teams: Sequence[str], start: datetime | None = None, end: datetime | None = None
) -> pl.DataFrame:
    """AI work per team sprint, tool and mode (commits, lines, merged PRs), with the sprint's dates."""
    window, params = _window_sql(start, end)
    with connect(path, read_only=True) as con:
        return _frame(
            con,
            "SELECT m.team, m.sprint_id, c.sprint_name, c.sprint_start, c.sprint_end, c.sprint_state, m.tool, "
            "m.mode, m.commits, m.lines, m.prs FROM sprint_tool_mix m "
            "JOIN (SELECT team, sprint_id, sprint_name, sprint_start, sprint_end, sprint_state FROM mart_calendar "
            f"      WHERE team IN (SELECT unnest(?)){window}) c USING (team, sprint_id) "
            "ORDER BY m.team, c.sprint_start, m.tool, m.mode",
            [list(teams), *params],
        )


def sprint_report(path: Path, org_sprint_id: str, teams: Sequence[str]) -> pl.DataFrame:
    """Every metric of one organisation sprint: the organisation's rows and its teams' sprints in it."""
    with connect(path, read_only=True) as con:
        return _frame(
            con,
            f"SELECT {', '.join('s.' + c for c in METRIC_COLUMNS)} FROM sprint_metrics s, "
            "(SELECT sprint_start AS o_start, sprint_end AS o_end FROM mart_calendar WHERE team = ? AND sprint_id = ?) o "
            "WHERE s.team IN (SELECT unnest(?)) AND ("
            "  (s.team = ? AND s.sprint_id = ?) OR (s.team <> ? AND "
            f"   {midpoint('s')} >= o.o_start AND {midpoint('s')} < o.o_end)) "
            "ORDER BY s.team = ? DESC, s.team, s.metric_id",
            [ORG, org_sprint_id, list(teams), ORG, org_sprint_id, ORG, ORG],
        )


# --------------------------------------------------------------------------- drill-down


@dataclass(frozen=True)
class Drilldown:
    """The facts behind one number: listed rows (newest first, at most `limit`) and the counts."""

    rows: pl.DataFrame
    matching: int  # facts counted in the number's numerator (repository filter applied)
    population: int  # facts in its denominator
    hidden: int  # matching facts of teams below the minimum group size: counted, never listed
    limit: int


def _scope_sql(team: str, sprint_id: str, alias: str = "") -> tuple[str, list[Any]]:
    prefix = f"{alias}." if alias else ""
    if team == ORG:
        return f"{prefix}org_sprint_id = ?", [sprint_id]
    return f"{prefix}team = ? AND {prefix}sprint_id = ?", [team, sprint_id]


_SUPPRESSED = (
    "EXISTS (SELECT 1 FROM sprint_metrics s WHERE s.team = {a}.team AND s.sprint_id = {a}.sprint_id "
    "AND s.status = 'suppressed')"
)


def _drilldown_sql(
    alias: str,
    repo_column: str,
    team: str,
    sprint_id: str,
    repos: Sequence[str],
    *,
    agent_only: bool,
    per_person: bool,
) -> tuple[str, list[Any], str, list[Any], str, str, str]:
    """SQL pieces of an evidence drill-down over a fact mart aliased `alias`: the sprint scope and its
    parameters, the repository filter and its parameters, the AI flag, the suppressed-team test and
    the per-person columns."""
    scope, params = _scope_sql(team, sprint_id, alias)
    repo_sql = f" AND {alias}.{repo_column} IN (SELECT unnest(?))" if repos else ""
    repo_params: list[Any] = [list(repos)] if repos else []
    flag = f"{alias}.is_agent" if agent_only else f"{alias}.is_ai"
    hidden = _SUPPRESSED.format(a=alias)
    person = (
        f", {alias}.author_identity AS author, {alias}.person_id AS person" if per_person else ""
    )
    return scope, list(params), repo_sql, repo_params, flag, hidden, person


def _evidence_cte(alias: str, kind: str, subject: str) -> str:
    """The `ev` CTE of a drill-down: per listed subject (`alias`, its id as `subject`), the rule that
    decided its tool and mode, that rule's signal and confidence, and every rule that fired."""
    same = f"e.tool IS NOT DISTINCT FROM {alias}.ai_tool AND e.mode IS NOT DISTINCT FROM {alias}.ai_mode"
    return f"""ev AS (
                SELECT e.repo, e.subject_id,
                       arg_max(e.rule_id, e.confidence) FILTER (WHERE {same}) AS decided_by,
                       arg_max(e.field || ': ' || e.matched, e.confidence) FILTER (WHERE {same}) AS signal,
                       max(e.confidence) FILTER (WHERE {same}) AS confidence,
                       string_agg(DISTINCT e.rule_id, ', ' ORDER BY e.rule_id) AS all_rules,
                       any_value(e.ruleset_version) AS ruleset_version
                FROM ai_evidence e JOIN {alias} ON e.repo = {alias}.repo AND e.subject_id = {subject}
                WHERE e.subject_kind = '{kind}'
                GROUP BY e.repo, e.subject_id
            )"""


def ai_commits(
    path: Path,
    team: str,
    sprint_id: str,
    *,
    repos: Sequence[str] = (),
    agent_only: bool = False,
    per_person: bool = False,
    limit: int = 200,
) -> Drilldown:
    """AI work commits behind acr_commits (agent_only: agentic_commit_rate) of a sprint, with the deciding rule."""
    scope, params, repo_sql, repo_params, flag, hidden, person = _drilldown_sql(
        "c", "repo", team, sprint_id, repos, agent_only=agent_only, per_person=per_person
    )
    with connect(path, read_only=True) as con:
        matching, population, hidden_count = con.execute(
            f"SELECT count(*) FILTER (WHERE {flag}), count(*), count(*) FILTER (WHERE {flag} AND {hidden}) "
            f"FROM mart_commits c WHERE c.is_work AND {scope}{repo_sql}",
            [*params, *repo_params],
        ).fetchall()[0]
        rows = _frame(
            con,
            f"""
            WITH c AS (
                SELECT c.repo, c.sha, c.committed_at, c.team, c.ai_tool, c.ai_mode, c.ai_via_pr,
                       c.lines_added{person}
                FROM mart_commits c
                WHERE c.is_work AND {flag} AND {scope}{repo_sql} AND NOT {hidden}
                ORDER BY c.committed_at DESC, c.sha LIMIT ?
            ),
            {_evidence_cte("c", "commit", "c.sha")}
            SELECT c.committed_at, c.repo, c.sha, k.subject, c.ai_tool AS tool, c.ai_mode AS mode,
                   ev.decided_by, ev.signal, ev.confidence, c.ai_via_pr AS via_pr, ev.all_rules,
                   c.lines_added, c.team, ev.ruleset_version{", c.author, c.person" if per_person else ""}
            FROM c
            -- Only the listed commits' time span of the raw table is read (row groups outside it are skipped).
            LEFT JOIN (SELECT repo, sha, subject FROM commits
                       WHERE committed_at BETWEEN (SELECT min(committed_at) FROM c) AND (SELECT max(committed_at) FROM c)) k
                   ON k.repo = c.repo AND k.sha = c.sha
            LEFT JOIN ev ON ev.repo = c.repo AND ev.subject_id = c.sha
            ORDER BY c.committed_at DESC, c.sha
            """,
            [*params, *repo_params, limit],
        )
    return Drilldown(rows, int(matching), int(population), int(hidden_count), limit)


def ai_prs(
    path: Path,
    team: str,
    sprint_id: str,
    *,
    repos: Sequence[str] = (),
    agent_only: bool = False,
    per_person: bool = False,
    limit: int = 200,
) -> Drilldown:
    """Merged AI PRs behind acr_prs (agent_only: agentic_pr_rate) of a sprint, with the deciding rule."""
    scope, params, repo_sql, repo_params, flag, hidden, person = _drilldown_sql(
        "p", "git_repo", team, sprint_id, repos, agent_only=agent_only, per_person=per_person
    )
    with connect(path, read_only=True) as con:
        matching, population, hidden_count = con.execute(
            f"SELECT count(*) FILTER (WHERE {flag}), count(*), count(*) FILTER (WHERE {flag} AND {hidden}) "
            f"FROM mart_prs p WHERE p.is_merged AND NOT p.is_bot AND {scope}{repo_sql}",
            [*params, *repo_params],
        ).fetchall()[0]
        rows = _frame(
            con,
            f"""
            WITH p AS (
                SELECT p.source, p.repo, p.number, p.merged_at, p.team, p.ai_tool, p.ai_mode,
                       p.additions, p.deletions{person}
                FROM mart_prs p
                WHERE p.is_merged AND NOT p.is_bot AND {flag} AND {scope}{repo_sql} AND NOT {hidden}
                ORDER BY p.merged_at DESC, p.repo, p.number LIMIT ?
            ),
            {_evidence_cte("p", "pr", "CAST(p.number AS VARCHAR)")}
            SELECT p.merged_at, p.repo, p.number, r.title, p.ai_tool AS tool, p.ai_mode AS mode,
                   ev.decided_by, ev.signal, ev.confidence, ev.all_rules,
                   p.additions, p.deletions, p.team, ev.ruleset_version{", p.author, p.person" if per_person else ""}
            FROM p
            LEFT JOIN pull_requests r ON r.source = p.source AND r.repo = p.repo AND r.number = p.number
            LEFT JOIN ev ON ev.repo = p.repo AND ev.subject_id = CAST(p.number AS VARCHAR)
            ORDER BY p.merged_at DESC, p.repo, p.number
            """,
            [*params, *repo_params, limit],
        )
    return Drilldown(rows, int(matching), int(population), int(hidden_count), limit)


# --------------------------------------------------------------------------- data health


@dataclass(frozen=True)
class CoverageFigure:
    name: str
    covered: int | None
    total: int | None
    threshold: float | None
    meaning: str

    @property
    def share(self) -> float | None:
        if self.covered is None or not self.total:
            return None
        return self.covered / self.total

    @property
    def below(self) -> bool:
        share = self.share
        return share is not None and self.threshold is not None and share < self.threshold


@dataclass(frozen=True)
class Health:
    sources: pl.DataFrame  # one row per (kind, scope): last run, last success, age
    runs: pl.DataFrame  # the newest ingest runs
    metric_runs: pl.DataFrame
    coverage: list[CoverageFigure]
    unmatched: pl.DataFrame
    unmatched_total: int
    drift: pl.DataFrame  # source, unknown fields, missing fields
    metric_drift: pl.DataFrame
    warnings: list[str] = field(default_factory=list)


def health_report(
    path: Path,
    *,
    repos: Sequence[str] = (),
    window_days: int = 30,
    thresholds: dict[str, float] | None = None,
    drift_window: int = 6,
    drift_threshold: float = 3.5,
    unmatched_limit: int = 50,
    now: datetime | None = None,
) -> Health:
    """Freshness, coverage, runs, unmatched identities, schema and metric drift, through metrics.health."""
    now = now or datetime.now(UTC)
    thresholds = thresholds or {}
    with connect(path, read_only=True) as con:
        tables = _tables(con)
        repo_sql = " WHERE kind <> 'git' OR scope IN (SELECT unnest(?))" if repos else ""
        repo_params: list[Any] = [list(repos)] if repos else []
        sources = _frame(
            con,
            "SELECT kind, scope, arg_max(status, started_at) AS last_status, max(started_at) AS last_started_at, "
            "arg_max(error, started_at) AS last_error, arg_max(warnings, started_at) AS last_warnings, count(*) AS runs "
            f"FROM ingest_runs{repo_sql} GROUP BY kind, scope ORDER BY kind, scope",
            repo_params,
        )
        fresh: list[dict[str, Any]] = []
        for kind in sources.get_column("kind").unique(maintain_order=True).to_list():
            scopes = sources.filter(pl.col("kind") == kind).get_column("scope").to_list()
            for f in health.freshness(con, kind, scopes, now=now):
                fresh.append({"kind": kind, "scope": f.scope, "last_ok_at": f.last_ok_at, "age_hours": f.age_hours})  # fmt: skip
        freshness = pl.DataFrame(
            fresh,
            schema={"kind": pl.String, "scope": pl.String, "last_ok_at": pl.Datetime("us", "UTC"),
                    "age_hours": pl.Float64},
        )  # fmt: skip
        sources = sources.join(freshness, on=["kind", "scope"], how="left")
        runs = _frame(
            con,
            "SELECT started_at, kind, scope, status, epoch(finished_at - started_at) AS seconds, "
            "coalesce(commits_added, rows_written) AS rows, warnings, error FROM ingest_runs"
            f"{repo_sql} ORDER BY started_at DESC LIMIT 25",
            repo_params,
        )
        metric_runs = (
            _frame(
                con,
                "SELECT computed_at, seconds, rows_sprint_metrics, warnings FROM metric_runs "
                "ORDER BY computed_at DESC LIMIT 10",
            )
            if "metric_runs" in tables
            else pl.DataFrame()
        )
        lines = con.execute(
            "SELECT count(*) FILTER (WHERE stats_complete), count(*) FROM commits "
            "WHERE in_default_history AND NOT is_merge AND is_reachable"
        ).fetchall()[0]
        coverage = [
            _coverage(
                "Identities credited to a team",
                health.identity_coverage(con, window_days),
                thresholds.get("identity_coverage"),
                f"work commits of the last {window_days} days whose author (or initiating person) belongs to a team",
            ),
            _coverage(
                "Commits with their pull request",
                health.attribution_coverage(con, window_days),
                thresholds.get("attribution_coverage"),
                f"work commits of the last {window_days} days, in repositories a forge feeds, whose PR is known (PR signals count for attribution)",
            ),
            _coverage(
                "Merged PRs linked to a ticket",
                health.ticket_link_coverage(con, window_days),
                thresholds.get("ticket_link_coverage"),
                f"merged PRs of the last {window_days} days that name at least one ticket",
            ),
            CoverageFigure(
                "Commits with complete line counts",
                int(lines[0]),
                int(lines[1]),
                None,
                "default-branch commits whose objects were all present (shallow or partial clones lack some)",
            ),
        ]
        unmatched_total = _count(con, "mart_unmatched_identities", tables)
        unmatched = (
            _frame(
                con,
                "SELECT identity, kind, seen, suggestion FROM mart_unmatched_identities "
                "ORDER BY seen DESC, identity LIMIT ?",
                [unmatched_limit],
            )
            if unmatched_total
            else pl.DataFrame(
                schema={
                    "identity": pl.String,
                    "kind": pl.String,
                    "seen": pl.Int64,
                    "suggestion": pl.String,
                }
            )
        )
        drift_rows = []
        if "source_fields" in tables:
            for (source,) in con.execute(
                "SELECT DISTINCT source FROM source_fields ORDER BY 1"
            ).fetchall():
                unknown, missing = health.schema_drift(con, source)
                if unknown or missing:
                    drift_rows.append({"source": source, "new fields": ", ".join(unknown), "missing fields": ", ".join(missing)})  # fmt: skip
        drift = pl.DataFrame(
            drift_rows,
            schema={"source": pl.String, "new fields": pl.String, "missing fields": pl.String},
        )
        metric_drift = health.metric_drift(con, window=drift_window, threshold=drift_threshold)
        version = schema_version(con)
    warnings = _warnings(sources, metric_runs, version)
    return Health(sources, runs, metric_runs, coverage, unmatched, unmatched_total, drift, metric_drift, warnings)  # fmt: skip


def _coverage(
    name: str, found: health.Coverage | None, threshold: float | None, meaning: str
) -> CoverageFigure:
    if found is None:
        return CoverageFigure(name, None, None, threshold, meaning)
    return CoverageFigure(name, found.covered, found.total, threshold, meaning)


def _warnings(sources: pl.DataFrame, metric_runs: pl.DataFrame, version: int) -> list[str]:
    out: list[str] = []
    if 0 < version < latest_version():
        out.append(
            f"The warehouse schema is at version {version}, this dashboard expects {latest_version()}: run `sprintproof migrate`."
        )
    for row in sources.iter_rows(named=True):
        label = f"{row['kind']} {row['scope']}"
        if row["last_status"] == "failed":
            out.append(f"{label}: the last run failed: {row['last_error'] or 'no error recorded'}")
        elif row["last_status"] == "running":
            out.append(f"{label}: the last run is still running or was killed")
        out.extend(f"{label}: {w}" for w in row["last_warnings"] or [])
    if metric_runs.height:
        out.extend(f"metrics: {w}" for w in metric_runs.row(0, named=True)["warnings"] or [])
    return out
