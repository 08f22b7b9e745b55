"""Line survival on the default branch: of the lines each commit introduced, how many are still there churn_days and durability_days after it landed.

A commit lands when the default branch first contains it: its own commit time for a commit on the
first-parent chain (squash and rebase merges, direct pushes), the merge commit's time for the
commits of a merged branch. Its windows start then. The lines it introduced are followed with
`ingestion.lineage` (moved and copied code keeps its commit; lines in excluded paths are never
introduced), and counted on the default branch as it stood at `landed_at + churn_days` and at
`landed_at + durability_days`: the state of the last first-parent commit made by then.

The measurement is incremental: a run measures the non-merge commits of the default branch's
history that have no row yet and whose durability window has closed (by the time of the last git
ingest of the repository), and leaves the others for a later run. Commits are replayed in slices of
about 90 days of landings, each slice from its first landing to its last deadline, starting from
a state in which every earlier line is old; each slice's rows are written in one transaction, so
a killed run resumes where it stopped. Rows measured under other windows, exclusion patterns or
line-tracking rules are measured again.
"""

import heapq
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pygit2

from ingestion.excludes import Excludes
from ingestion.git import IngestResult, _graph, finish_run, start_run  # pyright: ignore[reportPrivateUsage]
from ingestion.gitscan import configure_libgit2
from ingestion.lineage import Lineage, Replay, topological
from ingestion.range_attribution import METHOD
from ingestion.warehouse import one, replace_rows, scalar

Progress = Callable[[str, int, int], None]
SLICE_DAYS = 90
_DAY = 86_400


class DurabilityError(Exception):
    """A repository whose lines cannot be measured: the message says why and what to do."""


@dataclass
class DurabilityResult:
    repo: str
    run_id: str
    status: str  # ok | noop
    measured: int = 0  # commits measured by this run
    waiting: int = 0  # commits whose window has not closed yet
    remeasured: int = 0  # stored rows dropped because the settings changed
    replayed: int = (
        0  # commits applied (measured ones and those after them, up to the last deadline)
    )
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Graph:
    parents: dict[str, tuple[str, ...]]
    chain: list[str]  # first-parent chain of the default branch, oldest first
    times: list[int]  # committer time of each chain commit (epoch seconds)
    landed: dict[str, int]  # commit -> index of the chain commit that brought it in
    sides: list[list[str]]  # per chain index, the other commits it brought in


def measure_durability(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    excludes: Excludes,
    churn_days: int = 21,
    durability_days: int = 30,
    as_of: datetime | None = None,
    copies: bool = True,
    progress: Progress | None = None,
) -> DurabilityResult:
    """Measure the commits of one ingested repository whose windows have closed (idempotent, resumable)."""
    started = time.perf_counter()
    run_id = str(uuid.uuid4())
    start_run(con, run_id, "durability", name, None)
    result = DurabilityResult(repo=name, run_id=run_id, status="noop")
    try:
        _measure(con, name, result, excludes, churn_days, durability_days, as_of, copies, progress)
    except BaseException as exc:
        finish_run(con, run_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    result.seconds = time.perf_counter() - started
    finish_run(con, run_id, result.status,
               result=IngestResult(repo=name, run_id=run_id, status=result.status, commits_added=result.measured,
                                   commits_updated=result.remeasured, warnings=result.warnings))  # fmt: skip
    return result


def _measure(
    con: duckdb.DuckDBPyConnection, name: str, result: DurabilityResult, excludes: Excludes, churn_days: int,
    durability_days: int, as_of: datetime | None, copies: bool, progress: Progress | None,
) -> None:  # fmt: skip
    row = one(con, "SELECT local_path, default_branch_sha FROM repos WHERE repo = ?", [name])
    if row is None:
        raise DurabilityError(f"{name}: not in the warehouse; run `sprintproof ingest` first")
    local_path, tip = row
    if tip is None:
        return  # an empty repository
    if as_of is None:
        as_of = scalar(con, "SELECT max(started_at) FROM ingest_runs WHERE kind = 'git' AND scope = ? "
                            "AND status IN ('ok', 'noop')", [name]) or datetime.now(UTC)  # fmt: skip
    assert as_of is not None
    stale = con.execute(
        "DELETE FROM commit_durability WHERE repo = ? AND (method <> ? OR churn_days <> ? OR durability_days <> ? "
        "OR excludes_hash <> ?)",
        [name, METHOD, churn_days, durability_days, excludes.fingerprint],
    ).fetchall()
    result.remeasured = int(stale[0][0]) if stale else 0
    if result.remeasured:
        result.warnings.append(
            f"{result.remeasured} measurements were made under other windows, excludes or rules: measured again"
        )
    closed = as_of - timedelta(days=durability_days)
    candidates = [
        sha
        for (sha,) in con.execute(
            "SELECT sha FROM commits c WHERE repo = ? AND in_default_history AND is_reachable AND NOT is_merge "
            "AND stats_complete AND committed_at <= ? AND NOT EXISTS "
            "(SELECT 1 FROM commit_durability d WHERE d.repo = c.repo AND d.sha = c.sha)",
            [name, closed],
        ).fetchall()
    ]
    result.waiting = int(
        scalar(
            con,
            "SELECT count(*) FROM commits c WHERE repo = ? AND in_default_history AND is_reachable "
            "AND NOT is_merge AND stats_complete AND committed_at > ?",
            [name, closed],
        )
    )
    if not candidates:
        return
    try:
        repo = pygit2.Repository(local_path)
    except pygit2.GitError:
        raise DurabilityError(
            f"{name}: {local_path} is not readable any more; lines can only be measured from the repository"
        ) from None
    configure_libgit2(object_cache=True)
    graph = _default_graph(repo, tip)
    limit = int(as_of.timestamp()) - durability_days * _DAY
    due: list[tuple[int, str]] = []
    for sha in candidates:
        index = graph.landed.get(sha)
        if index is None:
            continue  # no longer in the default branch's history (the branch moved since the ingest)
        if graph.times[index] <= limit:
            due.append((index, sha))
        else:
            result.waiting += 1
    if not due:
        return
    result.status = "ok"
    slices = _slices(sorted(due), graph.times)
    plans = [_plan(graph, group, durability_days) for group in slices]
    total = sum(len(order) for order, _ in plans)
    lineage = Lineage(
        repo, counted=lambda paths: [not x for x in excludes.matches(paths)], copies=copies
    )
    for group, (order, stop) in zip(slices, plans, strict=True):
        records = _replay(
            lineage, graph, group, order, stop, churn_days, durability_days, progress, result, total
        )
        _write(con, name, records, churn_days, durability_days, excludes.fingerprint, result.run_id)
        result.measured += len(records)


def _default_graph(repo: pygit2.Repository, tip: str) -> _Graph:
    """Parents of every commit of the default branch's history; its first-parent chain; where each commit landed."""
    walked = _graph(repo, [tip])
    parents = walked.parents
    chain: list[str] = []
    sha: str | None = tip
    while sha is not None and sha in parents:
        chain.append(sha)
        sha = parents[sha][0] if parents[sha] else None
    chain.reverse()
    times = []
    for c in chain:
        commit = repo[pygit2.Oid(hex=c)]
        assert isinstance(commit, pygit2.Commit)
        times.append(commit.commit_time)
    landed: dict[str, int] = {}
    sides: list[list[str]] = []
    for i, merge in enumerate(chain):
        # Every ancestor of the previous chain commit landed already: what is left came with this one.
        landed[merge] = i
        side: list[str] = []
        stack = list(parents[merge][1:])
        while stack:
            other = stack.pop()
            if other in landed or other not in parents:
                continue
            landed[other] = i
            side.append(other)
            stack.extend(parents[other])
        sides.append(side)
    return _Graph(parents, chain, times, landed, sides)


def _slices(due: Sequence[tuple[int, str]], times: Sequence[int]) -> list[list[tuple[int, str]]]:
    """Commits to measure, sorted by landing, cut into runs of about SLICE_DAYS of landings."""
    out: list[list[tuple[int, str]]] = []
    for item in due:
        if out and times[item[0]] - times[out[-1][0][0]] <= SLICE_DAYS * _DAY:
            out[-1].append(item)
        else:
            out.append([item])
    return out


def _plan(
    graph: _Graph, group: Sequence[tuple[int, str]], durability_days: int
) -> tuple[list[str], int]:
    """The commits to apply (parents first) and the chain index to stop before.

    A deadline is read before the first chain commit after the landing made later than it, so
    the replay can stop at the first chain commit after the last landing made later than the
    latest deadline.
    """
    first = group[0][0]
    last = max(i for i, _ in group)
    latest = max(graph.times[i] for i, _ in group) + durability_days * _DAY
    stop = next(
        (j for j in range(last + 1, len(graph.chain)) if graph.times[j] > latest), len(graph.chain)
    )
    order: list[str] = []
    for i in range(first, stop):
        order.extend(topological(graph.sides[i], graph.parents))
        order.append(graph.chain[i])
    return order, stop


def _replay(
    lineage: Lineage, graph: _Graph, group: Sequence[tuple[int, str]], order: list[str], stop: int,
    churn_days: int, durability_days: int, progress: Progress | None, result: DurabilityResult, total: int,
) -> list[dict[str, object]]:  # fmt: skip
    """Apply one slice and read each tracked commit's lines at its two deadlines."""
    tracked: dict[int, list[str]] = {}
    for index, sha in group:
        tracked.setdefault(index, []).append(sha)
    records: dict[str, dict[str, object]] = {}
    windows = (("churn", churn_days), ("durable", durability_days))
    lineage.introduced = Counter()
    replay = Replay(lineage, order, graph.parents)
    alive: Counter[int] = Counter()  # lines per origin on the default branch as replayed so far
    deadlines: list[tuple[int, int, str, str]] = []  # (deadline, tie-break, window, sha)
    sequence = itertools.count()
    chain_index = {graph.chain[i]: i for i in range(group[0][0], stop)}
    last = group[0][0] - 1  # the chain commit whose state `alive` holds

    def read(until: int | None) -> None:
        while deadlines and (until is None or deadlines[0][0] < until):
            _, _, window, sha = heapq.heappop(deadlines)
            records[sha].update(_counts(lineage, sha, alive, window))
            records[sha][f"{window}_sha"] = graph.chain[last]

    for sha in order:
        index = chain_index.get(sha)
        if index is None:
            replay.step(sha)
        else:
            read(graph.times[index])
            delta: Counter[int] = Counter()
            replay.step(sha, delta=delta)
            alive.update(delta)
            last = index
            for landed in tracked.get(index, ()):
                records[landed] = {
                    "sha": landed,
                    "landed_sha": sha,
                    "landed_at": graph.times[index],
                }
                for window, days in windows:
                    heapq.heappush(
                        deadlines,
                        (graph.times[index] + days * _DAY, next(sequence), window, landed),
                    )
        result.replayed += 1
        if progress and result.replayed % 100 == 0:
            progress("durability", result.replayed, total)
    read(None)
    if progress:
        progress("durability", result.replayed, total)
    return list(records.values())


def _counts(lineage: Lineage, sha: str, alive: Counter[int], window: str) -> dict[str, int]:
    """Lines the commit introduced (in all, and as its note classes them) and how many are alive.

    A line copied after it was introduced is counted once: alive never exceeds introduced.
    """
    out = {"lines_added": 0, f"alive_{window}": 0}
    for kind in ("ai", "human"):
        out[f"note_{kind}_lines"] = 0
        out[f"note_{kind}_alive_{window}"] = 0
    for origin_id in lineage.ids_of(sha):
        kind = lineage.origins[origin_id].kind
        introduced = lineage.introduced[origin_id]
        living = min(max(alive[origin_id], 0), introduced)
        out["lines_added"] += introduced
        out[f"alive_{window}"] += living
        if kind in ("ai", "human"):
            out[f"note_{kind}_lines"] += introduced
            out[f"note_{kind}_alive_{window}"] += living
    return out


_SCHEMA = {
    "sha": pl.String, "landed_sha": pl.String, "landed_at": pl.Int64, "lines_added": pl.Int32,
    "alive_churn": pl.Int32, "alive_durable": pl.Int32, "note_ai_lines": pl.Int32, "note_ai_alive_churn": pl.Int32,
    "note_ai_alive_durable": pl.Int32, "note_human_lines": pl.Int32, "note_human_alive_churn": pl.Int32,
    "note_human_alive_durable": pl.Int32, "churn_sha": pl.String, "durable_sha": pl.String,
}  # fmt: skip


def _write(
    con: duckdb.DuckDBPyConnection, name: str, records: list[dict[str, object]], churn_days: int,
    durability_days: int, excludes_hash: str, run_id: str,
) -> None:  # fmt: skip
    """One slice's rows in one transaction (rows of the same commits are replaced)."""
    landed = pl.from_epoch(pl.col("landed_at"), "s").dt.replace_time_zone("UTC")
    frame = pl.DataFrame(
        records, schema=_SCHEMA, orient="row" if not records else None
    ).with_columns(
        landed.alias("landed_at"),
        (landed + pl.duration(days=churn_days)).alias("churn_at"),
        (landed + pl.duration(days=durability_days)).alias("durable_at"),
        pl.lit(name).alias("repo"),
        pl.lit(churn_days, pl.Int16).alias("churn_days"),
        pl.lit(durability_days, pl.Int16).alias("durability_days"),
        pl.lit(METHOD).alias("method"),
        pl.lit(excludes_hash).alias("excludes_hash"),
        pl.lit(datetime.now(UTC)).dt.convert_time_zone("UTC").alias("measured_at"),
        pl.lit(run_id).alias("run_id"),
    )
    replace_rows(
        con, "commit_durability", frame, "repo = ? AND sha IN (SELECT sha FROM _rows)", [name]
    )
