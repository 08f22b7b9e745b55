"""Benchmark: the board pack PDF of one sprint, from a fresh process, against the 15 s bar (SPEC §11).

Usage: python benchmarks/bench_report.py WAREHOUSE [--sprint ID] [--runs 3] [--browser PATH]

Each run starts a new Python process (as `sprintproof report` does) that imports the board pack
module, then builds the pack of the sprint (default: the last closed organisation sprint) for the
organisation and every team. Printed per run and as the median over runs: start-up (imports),
`read` (every warehouse query: the sprint's numbers, the chart history, tool mix, data health),
`figures` (the dashboard's figure builders), `images` (kaleido and the machine's Chromium,
browser start included), `pdf` (ReportLab), the total, the pages, images and bytes of the PDF,
and the bar with its headroom.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR_SECONDS = 15.0
PARTS = ("start-up", "read", "figures", "images", "pdf")

CHILD = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, {root!r})
from dashboards.report import build_board_pack
from pypdf import PdfReader
timings = {{"start-up": time.perf_counter() - started}}
out = build_board_pack({warehouse!r}, sprint_id={sprint!r}, out={out!r}, browser={browser!r}, timings=timings)
timings["total"] = time.perf_counter() - started
reader = PdfReader(str(out))
print(json.dumps({{"timings": timings, "pages": len(reader.pages),
                  "images": sum(len(p.images) for p in reader.pages), "bytes": out.stat().st_size}}))
"""


def run_once(warehouse: Path, sprint: str | None, browser: str | None, out: Path) -> dict[str, object]:  # fmt: skip
    code = CHILD.format(root=str(ROOT), warehouse=str(warehouse), sprint=sprint, out=str(out), browser=browser)  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the board pack failed:\n{done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall  # the process's whole life, interpreter start and exit included
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--sprint", help="organisation sprint id (default: the last closed one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--browser", help="Chrome or Chromium (default: $BROWSER_PATH, the PATH)")
    args = parser.parse_args(argv)
    if not args.warehouse.exists():
        parser.error(f"{args.warehouse}: no such file")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        results = []
        for index in range(args.runs):
            result = run_once(args.warehouse, args.sprint, args.browser, Path(tmp) / f"pack-{index}.pdf")  # fmt: skip
            timings = result["timings"]
            assert isinstance(timings, dict)
            parts = "  ".join(f"{p} {timings[p]:5.2f}s" for p in PARTS)
            print(f"run {index + 1}: {parts}  total {timings['total']:5.2f}s  process {result['wall']:5.2f}s", flush=True)  # fmt: skip
            results.append(result)
    print(f"\n{args.warehouse}: {results[0]['pages']} pages, {results[0]['images']} images, "
          f"{int(results[0]['bytes']) / 1024:.0f} KiB; median of {len(results)} runs:")  # fmt: skip
    for part in (*PARTS, "total"):
        values = [float(r["timings"][part]) for r in results]  # type: ignore[index]
        print(f"  {part:<9} {statistics.median(values):6.2f} s   ({min(values):.2f}–{max(values):.2f})")  # fmt: skip
    wall = statistics.median(float(r["wall"]) for r in results)  # type: ignore[arg-type]
    print(f"  {'process':<9} {wall:6.2f} s   (interpreter start to exit)")
    verdict = "met" if wall <= BAR_SECONDS else "MISSED"
    print(f"bar: a full PDF in under {BAR_SECONDS:.0f} s: {verdict} ({BAR_SECONDS - wall:+.2f} s headroom)")  # fmt: skip
    return 0 if wall <= BAR_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
