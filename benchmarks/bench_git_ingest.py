"""Benchmark: full git ingest against `git log --numstat --no-renames`, then a no-op re-ingest, with peak memory.

Usage: python benchmarks/bench_git_ingest.py PATH_TO_REPO [--workers N] [--keep DIR]

Both sides see the same refs (the branches and tags SprintProof walks) and a warm page cache.
Prints the times, the ratio (bar: <= 1.0), the no-op time (bar: <= 1 s) and the peak proportional
memory (PSS) of the ingest process tree (bar: <= 1 GB).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pygit2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingestion.git import read_refs
from ingestion.notes import NOTES_REF


@dataclass
class _Tree:
    """What polling saw of a process tree: peak total PSS, peak PSS per process, CPU per process."""

    peak: int = 0
    per_process: dict[int, tuple[str, int]] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)


def _watch(proc: subprocess.Popen[bytes], seen: _Tree) -> None:
    """Poll the process tree until it ends.

    Memory is the proportional set size (PSS): shared pages (the memory-mapped pack file every
    worker reads) are split between the processes that map them, so the sum is the tree's real
    footprint, where a sum of RSS would count the same pack pages once per worker. CPU is read
    per process because worker processes are not children of the command (forkserver).
    """
    try:
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            for p in [parent, *parent.children(recursive=True)]:
                try:
                    pss = p.memory_full_info().pss
                    times = p.cpu_times()
                    name = " ".join(p.cmdline()[1:3])[-40:]
                except psutil.Error:
                    continue
                total += pss
                seen.cpu[p.pid] = times.user + times.system
                if pss > seen.per_process.get(p.pid, ("", 0))[1]:
                    seen.per_process[p.pid] = (name, pss)
            seen.peak = max(seen.peak, total)
            # Reading smaps is not free: poll gently so the probe does not slow the run.
            time.sleep(0.5)
    except psutil.Error:
        pass


def _timed(cmd: list[str], **kwargs: object) -> tuple[float, _Tree]:
    """Wall seconds and what the watcher saw."""
    seen = _Tree()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    watcher = threading.Thread(target=_watch, args=(proc, seen), daemon=True)
    watcher.start()
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd[:3])} ... failed ({proc.returncode}): {stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed, seen


def _mib(n: int) -> str:
    return f"{n / 2**20:7.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the warehouse in this folder")
    args = parser.parse_args()
    repo_path = args.repo.resolve()
    repo = pygit2.Repository(str(repo_path))
    tips = sorted({sha for ref, sha in read_refs(repo).items() if ref != NOTES_REF})
    commits = int(
        subprocess.run(
            ["git", "-C", str(repo_path), "rev-list", "--count", *tips],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    print(
        f"repository: {repo_path}  ({commits} commits from {len(tips)} tips; {os.cpu_count()} cores)"
    )

    for pack in Path(repo.path, "objects", "pack").glob("*.pack"):
        with pack.open("rb") as fh:  # warm the page cache for both contenders
            while fh.read(1 << 24):
                pass

    git_seconds, git = _timed(
        ["git", "-C", str(repo_path), "log", "--numstat", "--no-renames", *tips]
    )
    print(
        f"git log --numstat --no-renames: {git_seconds:8.2f} s   peak PSS {_mib(git.peak)}   CPU {sum(git.cpu.values()):6.1f} s"
    )

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="sprintproof-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "bench.duckdb"
    for stale in (warehouse, Path(f"{warehouse}.wal")):
        stale.unlink(missing_ok=True)
    cli = [
        sys.executable,
        "-m",
        "dagster_project",
        "ingest",
        "--repo",
        str(repo_path),
        "--warehouse",
        str(warehouse),
        "--no-durability",  # line survival is benchmarked on its own (bench_range_attribution.py)
    ]
    if args.workers:
        cli += ["--workers", str(args.workers)]
    env = {**os.environ, "SPRINTPROOF_CONFIG": "", "PYTHONPATH": str(ROOT)}
    full_seconds, full = _timed(cli, cwd=workdir, env=env)
    print(
        f"sprintproof ingest (full):      {full_seconds:8.2f} s   peak PSS {_mib(full.peak)}   CPU {sum(full.cpu.values()):6.1f} s (process tree)"
    )
    for pid, (name, pss) in sorted(full.per_process.items()):
        print(f"    pid {pid:<7} peak PSS {_mib(pss)}   CPU {full.cpu.get(pid, 0):6.1f} s   {name}")
    ratio = full_seconds / git_seconds
    print(
        f"ratio sprintproof / git:        {ratio:8.2f}     (bar <= 1.00: {'met' if ratio <= 1.0 else 'NOT met'})"
    )

    noop_seconds, noop = _timed(cli, cwd=workdir, env=env)
    inner = subprocess.run(
        [sys.executable, "-c", _NOOP_PROBE, str(repo_path), str(warehouse)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    print(f"no-op re-ingest (whole CLI):    {noop_seconds:8.2f} s   peak PSS {_mib(noop.peak)}")
    print(
        f"no-op re-ingest (ingest call):  {float(inner):8.2f} s   (bar <= 1 s: {'met' if float(inner) <= 1.0 else 'NOT met'})"
    )
    print(f"peak memory bar <= 1024 MiB:    {'met' if full.peak <= 2**30 else 'NOT met'}")
    print(f"warehouse: {warehouse} ({warehouse.stat().st_size / 2**20:.0f} MiB)")


_NOOP_PROBE = """
import sys, time
from pathlib import Path
from ingestion.excludes import Excludes
from ingestion.git import GitSource, RulesSpec, ingest_repository
from ingestion.warehouse import connect
start = time.perf_counter()
with connect(sys.argv[2]) as con:
    result = ingest_repository(con, GitSource(location=sys.argv[1]), mirrors_dir=Path(sys.argv[2]).parent / "mirrors",
                               excludes=Excludes.build(), rules=RulesSpec())
assert result.status == "noop", result.status
print(time.perf_counter() - start)
"""

if __name__ == "__main__":
    main()
