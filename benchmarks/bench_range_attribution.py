"""Benchmark: range attribution over six months of a large repository, and the cost of the line-survival step.

Usage: python benchmarks/bench_range_attribution.py PATH_TO_REPO [--from REF] [--to REF] [--months 6]
                                                   [--durability] [--keep DIR]

The range is FROM..TO; by default TO is the default branch's tip and FROM the first-parent commit
six months before it. Prints the commits in the range, the lines attributed, the wall and CPU
time against the bar (<= 60 s) and the peak resident memory.

With --durability, the repository is first ingested into a warehouse (not timed; kept in --keep DIR,
where a second run's ingest is a no-op), then the line-survival step is timed twice: a full first
run, and the nightly run one day later, which measures the commits whose 30-day window closed that
day (the last day before the tip's last 30 days on which commits landed).
"""

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

import pygit2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingestion.attribution import RuleSet
from ingestion.excludes import Excludes
from ingestion.range_attribution import attribute_range

BAR_SECONDS = 60.0


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _six_months_back(repo: pygit2.Repository, tip: pygit2.Commit, months: int) -> str:
    limit = tip.commit_time - int(months * 30.44 * 86_400)
    commit = tip
    while commit.parents and commit.commit_time > limit:
        commit = commit.parents[0]
    return str(commit.id)


def bench_range(path: Path, start: str | None, end: str, months: int) -> None:
    repo = pygit2.Repository(str(path))
    tip = repo.revparse_single(end).peel(pygit2.Commit)
    start = start or _six_months_back(repo, tip, months)
    cpu, wall = _cpu(), time.perf_counter()
    result = attribute_range(path, start, end, rules=RuleSet.load(), excludes=Excludes.build())
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    first = repo.revparse_single(start).peel(pygit2.Commit)
    days = (tip.commit_time - first.commit_time) / 86_400
    print(
        f"range {start[:12]}..{end} ({days:.0f} days): {result.commits} commits, {len(result.files)} files with range lines"
    )
    print(
        f"lines at {end} added in the range: {result.total_lines:,} (AI {result.ai_lines:,}, bots {result.bot_lines:,})"
    )
    verdict = "met" if wall <= BAR_SECONDS else "NOT met"
    print(
        f"range attribution: {wall:8.2f} s wall, {cpu:6.2f} s CPU, peak RSS {_peak_mib():.0f} MiB  (bar <= {BAR_SECONDS:.0f} s: {verdict})"
    )


def bench_durability(path: Path, keep: str | None) -> None:
    from ingestion.durability import measure_durability
    from ingestion.git import GitSource, RulesSpec, ingest_repository
    from ingestion.warehouse import connect, migrate

    folder = Path(keep or tempfile.mkdtemp(prefix="sprintproof-durability-"))
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = (
        folder / "bench.duckdb"
    )  # kept between runs with --keep: the second ingest is a no-op
    with connect(warehouse) as con:
        migrate(con)
        started = time.perf_counter()
        ingested = ingest_repository(con, GitSource(str(path)), mirrors_dir=folder / "mirrors", excludes=Excludes.build(),
                                     rules=RulesSpec())  # fmt: skip
        print(
            f"ingest (not timed below): {ingested.commits_total:,} commits in {time.perf_counter() - started:.1f} s"
        )
        con.execute("DELETE FROM commit_durability")
        # The nightly run is the day after the last day on which commits landed 30 days before the
        # tip (a day without landings would measure nothing); the full run is as of the day before.
        (last,) = con.execute(
            "SELECT max(committed_at) FROM commits WHERE repo = ? AND on_default_branch AND committed_at <= "
            "(SELECT max(committed_at) FROM commits WHERE repo = ? AND on_default_branch) - INTERVAL 30 DAY",
            [ingested.repo, ingested.repo],
        ).fetchall()[0]
        nightly = last.astimezone(UTC) + timedelta(days=30, hours=1)
        for label, as_of in (
            ("full first run", nightly - timedelta(days=1)),
            ("nightly run (+1 day)", nightly),
        ):
            cpu, wall = _cpu(), time.perf_counter()
            result = measure_durability(con, ingested.repo, excludes=Excludes.build(), as_of=as_of)
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
            print(f"durability, {label} as of {as_of:%Y-%m-%d %H:%M}: {result.measured:,} commits measured, "
                  f"{result.replayed:,} replayed, {result.waiting:,} waiting; {wall:.1f} s wall, {cpu:.1f} s CPU, "
                  f"peak RSS {_peak_mib():.0f} MiB")  # fmt: skip
        rows = con.execute(
            "SELECT count(*), sum(lines_added), sum(alive_durable) FROM commit_durability"
        ).fetchall()[0]
        print(
            f"commit_durability: {rows[0]:,} rows, {rows[1]:,} lines introduced, {rows[2]:,} alive after 30 days"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument(
        "--from", dest="start", help="start of the range (default: six months before --to)"
    )
    parser.add_argument("--to", dest="end", default="HEAD")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument(
        "--durability", action="store_true", help="also time the line-survival step"
    )
    parser.add_argument(
        "--keep", help="folder for the warehouse of --durability (default: a temporary one)"
    )
    args = parser.parse_args()
    if args.durability:
        bench_durability(args.repo, args.keep)
    else:
        bench_range(args.repo, args.start, args.end, args.months)


if __name__ == "__main__":
    main()
