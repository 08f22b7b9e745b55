"""Benchmark: a full Jira read of 5,000 issues with their changelogs, then an incremental run after 20 edits.

Usage: python benchmarks/bench_jira.py [--issues 5000] [--latency 0.05] [--deployment cloud|datacenter|both]

The simulator runs in its own process on 127.0.0.1 (so its JSON encoding does not compete with
the connector for one interpreter) with `--latency` seconds added to every request. Each issue
has 5-40 histories, 2 % of them over 100 (Cloud's search embeds the 40 most recent, the rest
come from the bulk changelog endpoint). Prints requests, wall time and rows per run. The bar
(SPEC §11, connectors: requests minimal) is the floor this data allows: one search page per 100
issues (Data Center: 99 new ones, each page repeats one to notice shifted offsets), one bulk
changelog request per page with long changelogs, plus the fixed reads (fields, statuses, boards
per project, each board's sprints in pages of 50, and /myself on an incremental run).
"""

import argparse
import math
import multiprocessing
import socketserver
import sys
import tempfile
import time
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingestion.connectors import run_source
from ingestion.settings import JiraSettings
from ingestion.sim.jira import JiraSimulator, Site, item, synthetic_site
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import connect, migrate

TOKEN = "bench-token-1234"
EMAIL = "bench@acme.example"
PAGE = 100
EDITS = 20
PROJECTS = ("WEB", "PAY", "MOB")


def _updated(issue: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(issue["fields"]["updated"]))


def floor(site: Site, sim: JiraSimulator, issues: list[dict[str, Any]], *, incremental: bool) -> int:  # fmt: skip
    """The fewest requests this data allows with Jira's page sizes."""
    ordered = sorted(issues, key=lambda i: (_updated(i), int(i["id"])))
    step = PAGE if sim.cloud else PAGE - 1
    pages = [ordered[i : i + step] for i in range(0, len(ordered), step)]
    limit = sim.changelog_limit
    bulk = sum(
        1
        for page in pages
        if limit is not None and any(len(i["changelog"]["histories"]) > limit for i in page)
    )
    sprint_pages = sum(
        max(1, math.ceil(sum(1 for s in site.sprints if s["originBoardId"] == b["id"]) / 50))
        for b in site.boards
    )
    fixed = 2 + len(site.boards) + sprint_pages + (1 if incremental else 0)
    return len(pages) + bulk + fixed


def serve(conn: Connection, issues: int, deployment: str, latency: float) -> None:
    """The simulator's process: serve, apply the edits when asked, report what it saw."""
    # The simulator writes headers and body separately; with Nagle's algorithm on, loopback's
    # delayed ACK adds ~40 ms to every response, which a real Jira does not.
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    site = synthetic_site(issues, projects=PROJECTS, long_histories=0.02)
    sim = site.simulator(deployment=deployment, email=EMAIL, token=TOKEN, latency=latency)
    histories = sum(len(i["changelog"]["histories"]) for i in site.issues)
    long = sum(len(i["changelog"]["histories"]) > 100 for i in site.issues)
    built = time.process_time()
    with sim.serve() as url:
        conn.send({"url": url, "histories": histories, "long": long,
                   "floor": floor(site, sim, sim.issues, incremental=False)})  # fmt: skip
        while True:
            message = conn.recv()
            if message == "edit":
                latest = max(_updated(i) for i in sim.issues)
                edited = sim.issues[:: len(sim.issues) // EDITS][:EDITS]
                for n, issue in enumerate(edited):
                    when = latest + timedelta(minutes=30 + n)
                    sim.change(str(issue["id"]), when, [item("labels", None, "bench")], labels=["bench"])  # fmt: skip
                # Re-read: the edited issues and the overlap before the old watermark (minute floor).
                bound = latest - timedelta(minutes=11)
                again = [i for i in sim.issues if _updated(i) >= bound]
                conn.send(
                    {"floor": floor(site, sim, again, incremental=True), "reread": len(again)}
                )
            elif message == "requests":
                conn.send((len(sim.log), time.process_time() - built))
            else:
                return


def _run(warehouse: Path, settings: JiraSettings) -> tuple[SyncResult, float, float]:
    """One run: its result, wall seconds and the connector's own CPU seconds."""
    with connect(warehouse) as con:
        migrate(con)
        ctx = SyncContext(con=con, env={"JIRA_TOKEN": TOKEN, "JIRA_EMAIL": EMAIL})
        started, cpu = time.perf_counter(), time.process_time()
        result = run_source(ctx, settings)
        return result, time.perf_counter() - started, time.process_time() - cpu


def bench(issues: int, deployment: str, latency: float, folder: Path) -> bool:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(child, issues, deployment, latency), daemon=True
    )
    process.start()
    try:
        site = parent.recv()
        values: dict[str, Any] = {"type": "jira", "base_url": site["url"], "deployment": deployment,
                                  "token_env": "JIRA_TOKEN", "projects": list(PROJECTS), "reconcile_days": 1}  # fmt: skip
        if deployment == "cloud":
            values["email_env"] = "JIRA_EMAIL"
        settings = JiraSettings.model_validate(values)
        warehouse = folder / f"{deployment}.duckdb"
        full, full_seconds, full_cpu = _run(warehouse, settings)
        parent.send("requests")
        full_requests, _ = parent.recv()
        parent.send("edit")
        edits = parent.recv()
        again, again_seconds, again_cpu = _run(warehouse, settings)
        parent.send("requests")
        seen, simulator_cpu = parent.recv()
        again_requests = seen - full_requests
        parent.send("stop")
    finally:
        process.join(timeout=30)
    print(f"\n{deployment}: {issues} issues, {site['histories']} histories ({site['long']} issues "
          f"over 100), {latency * 1000:.0f} ms per request")  # fmt: skip
    print(f"  full run:        {full_requests:4d} requests (floor {site['floor']}), {full_seconds:6.2f} s ({full_cpu:.1f} s CPU), "
          f"{full.rows.get('tickets', 0)} tickets, {full.rows.get('ticket_events', 0)} events, "
          f"{1000 * full_requests / issues:.1f} requests per 1,000 issues")  # fmt: skip
    print(f"  incremental run: {again_requests:4d} requests (floor {edits['floor']}), {again_seconds:6.2f} s ({again_cpu:.1f} s CPU), "
          f"{again.rows.get('tickets', 0)} tickets re-read ({EDITS} edited, the rest is the "
          f"{settings.overlap_minutes}-minute overlap)")  # fmt: skip
    print(
        f"  the simulator answered {seen} requests in all and spent {simulator_cpu:.1f} s CPU on them"
    )
    met = full_requests <= site["floor"] and again_requests <= edits["floor"]
    print(f"  bar (requests at the floor): {'met' if met else 'MISSED'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--deployment", choices=("cloud", "datacenter", "both"), default="both")
    args = parser.parse_args()
    deployments = ("cloud", "datacenter") if args.deployment == "both" else (args.deployment,)
    with tempfile.TemporaryDirectory() as folder:
        met = [bench(args.issues, d, args.latency, Path(folder)) for d in deployments]
    sys.exit(0 if all(met) else 1)


if __name__ == "__main__":
    main()
