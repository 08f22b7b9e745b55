"""Benchmark: the nightly incremental run on the demo organisation after one day of new activity, timed per asset.

Usage: python benchmarks/bench_nightly.py [--keep DIR]

The demo organisation is generated up to a day D+1 ("today"). A copy of it is rewound to the
state of day D ("yesterday"): every git ref moved back to its newest commit before midnight,
refs born later removed, and the GitHub and Jira exports stripped of everything updated since.
The whole graph runs once on yesterday (not timed), then the data is replaced by today's and the
graph runs again: that second run is the nightly run, timed per asset. Bar: <= 30 s on 2 cores.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pygit2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dagster_project.cli import write_demo_config
from dagster_project.config import load_config
from dagster_project.runner import run_all
from dagster_project.runtime import Settings
from ingestion.demo import build_demo

TODAY = date(2026, 11, 20)
BAR_SECONDS = 30.0


def _time(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text).astimezone(UTC)


def rewind_repository(path: Path, cutoff: datetime) -> tuple[int, int]:
    """Move every ref to its newest first-parent ancestor committed before the cutoff; returns (moved, removed)."""
    repo = pygit2.Repository(str(path))
    moved = removed = 0
    stamp = cutoff.timestamp()
    for name in list(repo.references):
        ref = repo.references[name]
        try:
            commit = ref.peel(pygit2.Commit)
        except (pygit2.InvalidSpecError, ValueError, KeyError):
            continue
        tip: pygit2.Commit | None = commit
        while tip is not None and tip.commit_time >= stamp:
            tip = tip.parents[0] if tip.parents else None
        if tip is None:
            ref.delete()
            removed += 1
        elif tip.id != commit.id:
            if name.startswith("refs/tags/"):
                ref.delete()  # a tag made today did not exist yesterday
                removed += 1
            else:
                ref.set_target(tip.id)
                moved += 1
    return moved, removed


def _before(items: list[dict[str, Any]], key: str, cutoff: datetime) -> list[dict[str, Any]]:
    return [i for i in items if i.get(key) is None or _time(str(i[key])) < cutoff]


def rewind_exports(vendor: Path, cutoff: datetime) -> None:
    """Yesterday's exports: items updated (or created) since the cutoff are not there yet."""
    for repo in (vendor / "github").iterdir():
        pulls = json.loads((repo / "pulls.json").read_text())
        kept = _before(pulls, "updated_at", cutoff)
        numbers = {str(p["number"]) for p in kept}
        (repo / "pulls.json").write_text(json.dumps(kept))
        for name in ("reviews.json", "pr_commits.json"):
            data = json.loads((repo / name).read_text())
            (repo / name).write_text(json.dumps({k: v for k, v in data.items() if k in numbers}))
        for name, key in (
            ("issues.json", "updated_at"),
            ("releases.json", "created_at"),
            ("deployments.json", "created_at"),
        ):
            data = json.loads((repo / name).read_text())
            (repo / name).write_text(json.dumps(_before(data, key, cutoff)))
    issues_file = vendor / "jira" / "issues.json"
    issues = json.loads(issues_file.read_text())
    issues_file.write_text(
        json.dumps([i for i in issues if _time(i["fields"]["updated"]) < cutoff])
    )


def replace_tree(source: Path, target: Path) -> None:
    shutil.rmtree(target)
    shutil.copytree(source, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Build in this folder and keep it.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="sprintproof-nightly-"))
    root.mkdir(parents=True, exist_ok=True)
    today_data = root / "today"
    started = time.perf_counter()
    manifest = build_demo(today_data, end=TODAY)
    print(f"demo organisation generated up to {TODAY} in {time.perf_counter() - started:.1f}s")
    cutoff = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    work = root / "demo"
    data = work / "data"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(today_data, data)
    for repo in (data / "repos").iterdir():
        moved, removed = rewind_repository(repo, cutoff)
        print(f"{repo.name}: yesterday's state ({moved} refs moved back, {removed} removed)")
    rewind_exports(data / "vendor", cutoff)
    local = type(manifest)(**{**manifest.__dict__, "root": data, "repos": tuple(data / "repos" / p.name for p in manifest.repos),
                              "github_dir": data / "vendor" / "github", "jira_dir": data / "vendor" / "jira"})  # fmt: skip
    config = work / "sprintproof.yaml"
    write_demo_config(local, work, config)
    rt = Settings(load_config(config), config)
    first = run_all(rt)
    if first.failed:
        sys.exit(f"the first run failed: {first.errors}")
    print(f"yesterday's full run: {sum(first.seconds.values()):.1f}s (not the figure)")

    for folder in ("repos", "vendor"):
        replace_tree(today_data / folder, data / folder)
    started = time.perf_counter()
    nightly = run_all(rt)
    wall = time.perf_counter() - started
    if nightly.failed:
        sys.exit(f"the nightly run failed: {nightly.errors}")
    added = nightly.metadata.get("raw/git", {}).get("commits_added")
    print(
        f"\nnightly incremental run after one day ({cutoff:%Y-%m-%d}) of activity: {added} new commits"
    )
    for name, seconds in sorted(nightly.steps.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<44} {seconds:6.2f}s")
    for run, seconds in nightly.seconds.items():
        print(f"  run {run:<40} {seconds:6.2f}s (with run start-up)")
    verdict = "met" if wall <= BAR_SECONDS else "NOT met"
    print(f"wall time {wall:.1f}s; bar <= {BAR_SECONDS:.0f}s: {verdict}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
