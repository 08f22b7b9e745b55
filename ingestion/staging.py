"""Staged git ingestion for fan-out: each repository is ingested into its own staging file and exported as Parquet, then one writer merges.

Used when repositories are ingested in parallel (Dagster's multiprocess or Kubernetes executor):
every worker writes only its repository's staging DuckDB file (kept between runs, so ingestion
stays incremental) and a Parquet copy of that repository's rows on shared storage; the single
merge step replaces each repository's slice of the warehouse in one transaction.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.warehouse import connect, migrate

# Tables holding one repository's git data, and how their rows are scoped to it.
REPO_TABLES: dict[str, str] = {
    "repos": "repo = ?",
    "repo_refs": "repo = ?",
    "commits": "repo = ?",
    "commit_files": "repo = ?",
    "commit_trailers": "repo = ?",
    "commit_ai_notes": "repo = ?",
    "commit_durability": "repo = ?",
    "ai_evidence": "subject_kind = 'commit' AND repo = ?",
    "ingest_runs": "kind = 'git' AND scope = ?",
}


def safe_name(repo: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", repo)


@dataclass(frozen=True)
class StagingArea:
    """Where staged repositories live: `<root>/<repo>/staging.duckdb` and `<root>/<repo>/parquet/`."""

    root: Path

    def database(self, repo: str) -> Path:
        return self.root / safe_name(repo) / "staging.duckdb"

    def parquet(self, repo: str) -> Path:
        return self.root / safe_name(repo) / "parquet"


def export_repository(area: StagingArea, repo: str) -> dict[str, int]:
    """Write the repository's rows from its staging file to Parquet (replacing the previous export)."""
    target = area.parquet(repo)
    temporary = target.with_name("parquet.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    counts: dict[str, int] = {}
    with connect(area.database(repo), read_only=True) as con:
        for table, where in REPO_TABLES.items():
            file = temporary / f"{table}.parquet"
            con.execute(
                f"COPY (SELECT * FROM {table} WHERE {where}) TO '{_sql_path(file)}' (FORMAT parquet)",
                [repo],
            )
            counts[table] = int(
                con.execute(f"SELECT count(*) FROM read_parquet('{_sql_path(file)}')").fetchall()[
                    0
                ][0]
            )
    shutil.rmtree(target, ignore_errors=True)
    temporary.rename(target)  # a reader sees the old export or the new one, never half of one
    return counts


def merge_repository(con: duckdb.DuckDBPyConnection, area: StagingArea, repo: str) -> int:
    """Replace the repository's slice of every git table with its staged export; returns commits merged."""
    folder = area.parquet(repo)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder}: no staged export for {repo}; stage the repository first"
        )
    migrate(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, where in REPO_TABLES.items():
            file = _sql_path(folder / f"{table}.parquet")
            con.execute(f"DELETE FROM {table} WHERE {where}", [repo])
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet('{file}')")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(con.execute("SELECT count(*) FROM commits WHERE repo = ?", [repo]).fetchall()[0][0])


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
