"""Dashboard render time per page on a given warehouse, through Streamlit's AppTest, against the 1.5 s bar.

Usage: python benchmarks/bench_dashboard.py WAREHOUSE [--repeat 3] [--bar 1.5] [--json FILE]

The process first runs the entry point once (imports, Streamlit start-up: what a running server
has already paid), then, for each page, clears every cached read and renders the page `repeat`
times from cold caches (the first viewer after a new snapshot), then once more with warm caches
(every later viewer). A page passes when its slowest cold render is within the bar. Each render
runs the entry script as a server would: settings, the warehouse's state, the sidebar filters,
then the page.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards import data
from ingestion.warehouse import connect

APP = ROOT / "dashboards" / "app.py"
PAGES = {
    "Board overview": "app_pages/overview.py",
    "AI adoption": "app_pages/adoption.py",
    "Delivery": "app_pages/delivery.py",
    "Quality": "app_pages/quality.py",
    "Teams": "app_pages/teams.py",
    "Data health": "app_pages/health.py",
    "Sprint report": "app_pages/sprint_report.py",
}


def render(at, page: str, timeout: float) -> float:  # type: ignore[no-untyped-def]
    at.switch_page(page)
    started = time.perf_counter()
    at.run(timeout=timeout)
    seconds = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].value}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="cold renders per page")
    parser.add_argument("--bar", type=float, default=1.5, help="seconds a page may take")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        parser.error(f"{args.warehouse}: no such warehouse")

    os.environ["SPRINTPROOF_WAREHOUSE"] = str(args.warehouse.resolve())
    state = data.status(args.warehouse)
    if not state.ready:
        parser.error(f"{args.warehouse}: {state.state} ({state.detail}); nothing to render")

    st_config.set_option("runner.magicEnabled", False)  # as `sprintproof dashboard` serves it
    at = AppTest.from_file(str(APP), default_timeout=120)
    started = time.perf_counter()
    at.run()
    startup = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"the entry point failed: {at.exception[0].value}")

    with connect(args.warehouse, read_only=True) as con:
        commits = con.execute("SELECT count(*) FROM mart_commits").fetchall()[0][0]
        teams = con.execute("SELECT count(DISTINCT team) - 1 FROM mart_calendar").fetchall()[0][0]
        rows = con.execute("SELECT count(*) FROM sprint_metrics").fetchall()[0][0]
    print(f"warehouse: {args.warehouse} ({commits:,} commits in mart_commits, {teams} teams, {rows:,} metric rows)")  # fmt: skip
    print(f"start-up (imports, first run of the entry point, not counted): {startup:.2f} s")
    print(f"{'page':<16} {'cold median':>12} {'cold max':>9} {'warm':>7}  bar {args.bar:g} s")
    results = {}
    failed = []
    for name, page in PAGES.items():
        cold = []
        for _ in range(args.repeat):
            # Clearing the caches outside a server makes Streamlit say so each time (a run re-enables it).
            logging.getLogger("streamlit.runtime.caching.cache_data_api").disabled = True
            st.cache_data.clear()
            cold.append(render(at, page, 120))
        warm = render(at, page, 120)
        ok = max(cold) <= args.bar
        if not ok:
            failed.append(name)
        results[name] = {"cold": cold, "warm": warm, "ok": ok}
        print(f"{name:<16} {statistics.median(cold):>10.2f} s {max(cold):>7.2f} s {warm:>5.2f} s  {'ok' if ok else 'OVER'}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"warehouse": str(args.warehouse), "commits": commits,
                                         "startup": startup, "bar": args.bar, "pages": results}, indent=2))  # fmt: skip
    print("every page within the bar" if not failed else f"over the bar: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
