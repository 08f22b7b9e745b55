"""Benchmark: recompute every mart, and the latest sprint alone, on a large warehouse; wall and CPU time per step, peak memory, the bars.

Usage: python benchmarks/bench_metrics.py (WAREHOUSE | --generate) [--config FILE] [--today DAY]
       [--runs N] [--scale S] [--keep DIR]

WAREHOUSE is read from a copy (the recompute writes marts into it); its configuration defaults to
the sprintproof.yaml beside it. --generate writes the synthetic organisation first
(benchmarks/synthetic.py: 1M commits, 100k PRs, 200k tickets, 50 teams, three years at scale 1).
Each run is a fresh process with Polars and DuckDB on two threads: a full recompute, then a
latest-sprint recompute (`recompute(..., latest=True)`), `--runs` times over. Every registered
metric family is timed on its own. Peak memory is the process's peak RSS (getrusage), imports
included. Bars: all marts <= 10 s and <= 2 GB; the latest sprint <= 1 s.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

THREADS = 2
BARS = {"all": (10.0, 2 * 1024**3), "latest": (1.0, None)}


def _child(warehouse: Path, config: Path, today: date, latest: bool) -> None:
    """One recompute in this process; prints its measurements as JSON."""
    from dagster_project.config import load_config, metrics_settings
    from ingestion.warehouse import connect
    from metrics.marts import recompute

    settings = metrics_settings(load_config(config), today=today)
    with connect(warehouse) as con:
        con.execute(f"SET threads = {THREADS}")
        wall, cpu = time.perf_counter(), time.process_time()
        marts = recompute(con, settings, latest=latest)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "steps": marts.seconds,
                "cpu_steps": marts.cpu_seconds,
                "rows": {name: frame.height for name, frame in marts.tables.items()},
                "scoped": marts.scope is not None,
            }
        )
    )


def _run(warehouse: Path, config: Path, today: date, latest: bool) -> dict:
    env = {**os.environ, "POLARS_MAX_THREADS": str(THREADS)}
    cmd = [sys.executable, __file__, "--child", str(warehouse), "--config", str(config),
           "--today", today.isoformat()] + (["--latest"] if latest else [])  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"recompute failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:6.2f}"
    return f"{statistics.median(values):6.2f}  ({min(values):.2f}–{max(values):.2f})"


def _report(kind: str, runs: list[dict]) -> float:
    """Print one kind of run's steps and bars; returns the median wall time."""
    print(
        f"\n{'All marts' if kind == 'all' else 'Latest sprint only'}: {len(runs)} runs, seconds median (min–max)"
    )
    steps = list(runs[0]["steps"])
    print(f"  {'step':28} {'wall':>24} {'CPU':>24}")
    for step in steps:
        wall = [r["steps"][step] for r in runs]
        cpu = [r["cpu_steps"][step] for r in runs]
        print(f"  {step:28} {_spread(wall):>24} {_spread(cpu):>24}")
    wall = [r["wall"] for r in runs]
    print(f"  {'recompute':28} {_spread(wall):>24} {_spread([r['cpu'] for r in runs]):>24}")
    peak = max(r["peak_rss"] for r in runs)
    print(f"  peak RSS {peak / 1024**2:,.0f} MiB; rows: " +
          ", ".join(f"{name} {count:,}" for name, count in runs[0]["rows"].items()))  # fmt: skip
    seconds, memory = BARS[kind]
    median = statistics.median(wall)
    verdict = (
        "met" if max(wall) <= seconds else "met by the median" if median <= seconds else "NOT met"
    )
    print(
        f"  bar: <= {seconds:g} s: {verdict}; headroom {seconds - median:.2f} s ({1 - median / seconds:.0%}) at the median"
    )
    if memory is not None:
        state = "met" if peak <= memory else "NOT met"
        print(
            f"  bar: <= {memory / 1024**3:g} GB: {state}; headroom {(memory - peak) / 1024**2:,.0f} MiB"
        )
    if kind == "latest" and not all(r["scoped"] for r in runs):
        print("  note: a registered family is not in WINDOWED, so these were full recomputes")
    return median


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the metrics recompute.")
    parser.add_argument("warehouse", nargs="?", type=Path)
    parser.add_argument(
        "--generate", action="store_true", help="write the synthetic warehouse first"
    )
    parser.add_argument(
        "--config", type=Path, help="default: sprintproof.yaml beside the warehouse"
    )
    parser.add_argument("--today", type=date.fromisoformat, help="compute as of this day")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="with --generate")
    parser.add_argument("--keep", type=Path, help="with --generate: write it here and keep it")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--latest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.warehouse, args.config, args.today, args.latest)
        return
    if args.generate == (args.warehouse is not None):
        parser.error("give a warehouse or --generate")

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as scratch:
        if args.generate:
            from benchmarks.synthetic import generate

            made = generate(args.keep or Path(scratch) / "synthetic", scale=args.scale)
            print(f"generated {made.rows['commits']:,} commits, {made.rows['pull_requests']:,} PRs, "
                  f"{made.rows['tickets']:,} tickets in {made.seconds:.0f} s")  # fmt: skip
            source, config, today = made.warehouse, made.config, args.today or made.today
        else:
            source = args.warehouse
            config = args.config or source.parent / "sprintproof.yaml"
            today = args.today or date.today()
        warehouse = Path(scratch) / "warehouse.duckdb"
        shutil.copyfile(source, warehouse)
        print(f"{source} as of {today}; {THREADS} threads for Polars and DuckDB; "
              f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
        results: dict[str, list[dict]] = {"all": [], "latest": []}
        for _ in range(args.runs):
            results["all"].append(_run(warehouse, config, today, latest=False))
            results["latest"].append(_run(warehouse, config, today, latest=True))
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        for kind, runs in results.items():
            _report(kind, runs)


if __name__ == "__main__":
    main()
