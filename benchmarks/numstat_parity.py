"""Full-history parity: every (commit, path) line count in a warehouse against `git log --numstat --no-renames`.

Usage: python benchmarks/numstat_parity.py PATH_TO_REPO WAREHOUSE.duckdb

Run it on the warehouse that `bench_git_ingest.py --keep DIR` leaves (DIR/bench.duckdb). Both
sides see the same refs; paths are compared as the warehouse stores them (NUL-separated output
from git, so quoted paths are not a special case). Exits 1 on any difference.
"""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pygit2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingestion.git import read_refs
from ingestion.notes import NOTES_REF

Row = tuple[str, str, int | None, int | None]


def git_numstat(repo_path: str) -> tuple[int, Counter[Row]]:
    """(commits listed, (sha, path, added, deleted) counted); binary files have None counts."""
    tips = sorted(
        {sha for ref, sha in read_refs(pygit2.Repository(repo_path)).items() if ref != NOTES_REF}
    )
    out = subprocess.run(
        ["git", "-C", repo_path, "log", "-z", "--numstat", "--no-renames", "--format=@%H", *tips],
        capture_output=True,
        check=True,
    ).stdout
    found: Counter[Row] = Counter()
    commits, sha = 0, ""
    for token in out.split(b"\0"):
        token = token.lstrip(b"\n")
        if not token:
            continue
        if token.startswith(b"@") and b"\t" not in token:
            sha, commits = token[1:].decode(), commits + 1
            continue
        added, deleted, path = token.split(b"\t", 2)
        binary = added == b"-"
        found[
            (
                sha,
                path.decode("utf-8", "replace"),
                None if binary else int(added),
                None if binary else int(deleted),
            )
        ] += 1
    return commits, found


def main() -> None:
    repo_path, warehouse = sys.argv[1], sys.argv[2]
    commits, git = git_numstat(repo_path)
    with duckdb.connect(warehouse, read_only=True) as con:
        stored: Counter[Row] = Counter(
            con.execute("SELECT sha, path, added, deleted FROM commit_files").fetchall()
        )
        count = con.execute("SELECT count(*) FROM commits").fetchone()
    print(
        f"git: {commits} commits, {sum(git.values())} file changes; "
        f"warehouse: {count[0] if count else 0} commits, {sum(stored.values())} file changes"
    )
    only_git, only_stored = git - stored, stored - git
    print(
        f"differences: {sum(only_git.values())} only in git, "
        f"{sum(only_stored.values())} only in the warehouse"
    )
    for row in list(only_git)[:10]:
        print("  git:      ", row)
    for row in list(only_stored)[:10]:
        print("  warehouse:", row)
    sys.exit(1 if only_git or only_stored else 0)


if __name__ == "__main__":
    main()
