"""Helpers for the Jira connector tests: settings for a served simulator, runs into a warehouse, table snapshots, the CLI."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.connectors import run_source
from ingestion.settings import JiraCsvSettings, JiraSettings
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import connect, migrate

TOKEN = "jira-api-token-5f2c9a77e1"
EMAIL = "reader@acme.example"
ENV = {"JIRA_TOKEN": TOKEN, "JIRA_EMAIL": EMAIL}
NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)

# Columns that say when or by which run a row was written: they differ between two runs that read
# the same data.
VOLATILE = {"synced_at", "run_id", "last_seen_at"}
TABLES = (
    "tickets",
    "ticket_events",
    "ticket_sprints",
    "ticket_statuses",
    "sprints",
    "boards",
    "identities",
)


def settings(url: str | None, *, deployment: str = "cloud", **options: Any) -> JiraSettings:
    values: dict[str, Any] = {
        "type": "jira",
        "base_url": url,
        "deployment": deployment,
        "token_env": "JIRA_TOKEN",
        "projects": ["WEB", "PAY"],
        "reconcile_days": 0,
    }
    if deployment == "cloud":
        values["email_env"] = "JIRA_EMAIL"
    values.update(options)
    return JiraSettings.model_validate(values)


def run(
    warehouse: Path,
    source: JiraSettings | JiraCsvSettings,
    *,
    env: Mapping[str, str] = ENV,
    sleeps: list[float] | None = None,
    now: datetime = NOW,
    warn: Callable[[str], None] | None = None,
) -> SyncResult:
    """One run of a source into the warehouse file (created and migrated when new)."""
    with connect(warehouse) as con:
        migrate(con)
        ctx = SyncContext(
            con=con,
            env=dict(env),
            sleep=(sleeps.append if sleeps is not None else lambda seconds: None),
            now=lambda: now,
            warn=warn or (lambda message: None),
        )
        return run_source(ctx, source)


def rows(warehouse: Path, table: str, *, where: str = "") -> list[tuple[Any, ...]]:
    """A table's rows without the volatile columns, sorted."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = [
            c[0] for c in con.execute(f'DESCRIBE "{table}"').fetchall() if c[0] not in VOLATILE
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        found = con.execute(f'SELECT {listed} FROM "{table}" {where}').fetchall()
    return sorted(found, key=repr)


def snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {table: rows(warehouse, table) for table in TABLES}


def query(warehouse: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def text_columns_containing(warehouse: Path, needle: str) -> list[str]:
    """Every `table.column` of text (or list of text) whose values contain the needle."""
    found = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type LIKE 'VARCHAR%' OR data_type LIKE 'STRUCT%'"
        ).fetchall()
        for table, column in columns:
            hit = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?',
                [f"%{needle}%"],
            ).fetchone()
            if hit and hit[0]:
                found.append(f"{table}.{column}")
    return found


def cli(
    cwd: Path, *args: str | Path, env: Mapping[str, str] | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"SPRINTPROOF_CONFIG", "COLUMNS", "LINES"}}  # fmt: skip
    environ |= {"SPRINTPROOF_HOME": str(cwd / "sphome")} | dict(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dagster_project", *map(str, args)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        **popen,
    )


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"SPRINTPROOF_CONFIG", "COLUMNS", "LINES"}}  # fmt: skip
    return environ | ENV | dict(extra or {})
