"""Benchmark: requests and wall time of the GitHub connector against the simulator with 50 ms latency.

Usage: python benchmarks/bench_github.py [--pulls 1000] [--latency 0.05]

(a) A full ingest of one repository with `--pulls` pull requests (0-4 reviews and 1-10 commits
each, five of them with 260 commits), plus issues, milestones, releases and deployments.
Bar: at most 30 requests. (b) An incremental run after 10 pull requests changed. Bar: at most 3
requests. The simulator is served on 127.0.0.1 and answers every request after `--latency`
seconds; requests are counted by the simulator.
"""

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingestion.attribution import RuleSet
from ingestion.github import sync
from ingestion.settings import GitHubSettings
from ingestion.sim.github import GitHubSimulator, synthetic_repo, touch_pulls
from ingestion.sync import SyncContext
from ingestion.warehouse import connect, migrate

FULL_BAR, INCREMENTAL_BAR = 30, 3
TOKEN = "ghp_benchmark"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pulls", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    big = tuple(range(97, args.pulls + 1, max(1, args.pulls // 5)))[:5]
    repo = synthetic_repo(
        "acme/bench", pulls=args.pulls, big_pulls=big, issues=200, milestones=12, releases=20,
        deployments=120, seed=11,
    )  # fmt: skip
    sim = GitHubSimulator([repo], token=TOKEN, latency=args.latency)
    reviews = sum(map(len, repo.reviews.values()))
    commits = sum(map(len, repo.commits.values()))
    print(
        f"dataset: {len(repo.pulls)} PRs, {reviews} reviews, {commits} PR commits "
        f"({len(big)} PRs with 260 commits), {len(repo.issues)} issues, {len(repo.releases)} releases, "
        f"{len(repo.deployments)} deployments; latency {args.latency * 1000:.0f} ms per request"
    )
    rules = RuleSet.load()
    with (
        tempfile.TemporaryDirectory() as folder,
        sim.serve() as url,
        connect(Path(folder) / "warehouse.duckdb") as con,
    ):
        migrate(con)
        settings = GitHubSettings.model_validate(
            {"type": "github", "base_url": url, "token_env": "GH_TOKEN", "repos": ["acme/bench"]}
        )
        ctx = SyncContext(con=con, env={"GH_TOKEN": TOKEN}, rules=rules)
        started = time.perf_counter()
        sync(ctx, settings)
        full_seconds = time.perf_counter() - started
        full_requests = len(sim.log)
        stored = con.execute("SELECT count(*) FROM pr_commits").fetchone()
        assert stored is not None and stored[0] == commits, "not every PR commit was stored"

        touch_pulls(
            repo,
            range(10, args.pulls + 1, max(1, args.pulls // 10))[:10],
            datetime.now(UTC).replace(microsecond=0),
        )
        sim.log.clear()
        ctx = SyncContext(con=con, env={"GH_TOKEN": TOKEN}, rules=rules)
        started = time.perf_counter()
        result = sync(ctx, settings)
        incremental_seconds = time.perf_counter() - started
        incremental_requests = len(sim.log)
    full_ok = full_requests <= FULL_BAR
    incremental_ok = incremental_requests <= INCREMENTAL_BAR
    print(
        f"(a) full ingest:        {full_requests:3d} requests (bar <= {FULL_BAR}: "
        f"{'met' if full_ok else 'MISSED'}), {full_seconds:.1f} s wall"
    )
    print(
        f"(b) incremental, 10 PRs: {incremental_requests:3d} requests (bar <= {INCREMENTAL_BAR}: "
        f"{'met' if incremental_ok else 'MISSED'}), {incremental_seconds:.2f} s wall, "
        f"{result.rows.get('pull_requests', 0)} PR rows rewritten"
    )
    return 0 if full_ok and incremental_ok else 1


if __name__ == "__main__":
    sys.exit(main())
