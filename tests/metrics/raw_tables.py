"""Raw warehouse rows for metric tests: tiny inline scenarios shaped as docs/warehouse.md describes.

`make_inputs(commits=[...], pull_requests=[...], ...)` gives the engine's `Inputs` with the exact
column types `load_inputs` reads from a migrated warehouse; unnamed tables are empty and unnamed
columns take the defaults below (or NULL).
"""

import functools
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ingestion.warehouse import connect, migrate
from metrics.marts import Inputs, load_inputs

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: the first sprint of the test cadences
SYNCED = datetime(2026, 3, 20, tzinfo=UTC)


def at(day: float, hour: float = 0, minute: float = 0) -> datetime:
    """A UTC instant `day` days, `hour` hours and `minute` minutes after T0."""
    return T0 + timedelta(days=day, hours=hour, minutes=minute)


def sha(label: str) -> str:
    """A 40-hex commit id that spells its label's bytes (readable in failures)."""
    return label.encode().hex().ljust(40, "0")[:40]


# Inputs field -> raw table it is loaded from.
TABLES = {
    "commits": "commits",
    "trailers": "commit_trailers",
    "notes": "commit_ai_notes",
    "prs": "pull_requests",
    "reviews": "pr_reviews",
    "pr_commits": "pr_commits",
    "forge_repos": "forge_repos",
    "tickets": "tickets",
    "ticket_events": "ticket_events",
    "ticket_sprints": "ticket_sprints",
    "ticket_statuses": "ticket_statuses",
    "sprints": "sprints",
    "releases": "releases",
    "deployments": "deployments",
    "deployment_statuses": "deployment_statuses",
    "identities": "identities",
    "evidence_authors": "evidence_authors",
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "commits": {
        "repo": "web",
        "author_email": "ana@acme.example",
        "is_merge": False,
        "in_default_history": True,
        "is_reachable": True,
        "is_revert": False,
        "stats_complete": True,
        "additions": 10,
        "deletions": 0,
        "excluded_additions": 0,
        "excluded_deletions": 0,
    },
    "pull_requests": {
        "source": "github",
        "forge": "github",
        "repo": "acme/web",
        "title": "Change",
        "author_login": "ana",
        "author_type": "user",
        "state": "merged",
        "is_draft": False,
        "base_ref": "main",
        "head_ref": "feature/change",
        "labels": [],
        "additions": 10,
        "deletions": 0,
        "body_length": 0,
        "is_deleted": False,
        "synced_at": SYNCED,
        "run_id": "test",
    },
    "pr_reviews": {
        "source": "github",
        "repo": "acme/web",
        "reviewer_type": "user",
        "state": "approved",
        "is_human": True,
    },
    "pr_commits": {
        "source": "github",
        "repo": "acme/web",
        "position": 0,
        "subject": "change",
        "trailers": [],
    },
    "forge_repos": {
        "source": "github",
        "forge": "github",
        "default_branch": "main",
        "synced_at": SYNCED,
    },
    "deployments": {
        "source": "github",
        "repo": "acme/web",
        "environment": "production",
        "task": "deploy",
        "is_deleted": False,
        "synced_at": SYNCED,
    },
    "deployment_statuses": {"source": "github", "repo": "acme/web"},
    "releases": {
        "source": "github",
        "is_draft": False,
        "is_prerelease": False,
        "is_deleted": False,
        "synced_at": SYNCED,
    },
    "tickets": {
        "source": "jira",
        "tracker": "jira",
        "project": "WEB",
        "title": "t",
        "type_category": "task",
        "status_category": "done",
        "labels": [],
        "body_length": 0,
        "is_deleted": False,
        "synced_at": SYNCED,
        "run_id": "test",
    },
}


@functools.cache
def schemas() -> dict[str, pl.Schema]:
    """Column types of every Inputs frame, as load_inputs reads them from a migrated warehouse."""
    return _warehouse()[0]


@functools.cache
def _warehouse() -> tuple[dict[str, pl.Schema], dict[str, frozenset[str]]]:
    """The Inputs frames' column types, and every column of each raw table (read or not)."""
    with tempfile.TemporaryDirectory() as folder, connect(Path(folder) / "w.duckdb") as con:
        migrate(con)
        inputs = load_inputs(con)
        read = {
            name: getattr(inputs, name).collect_schema()
            for name in TABLES
            if isinstance(getattr(inputs, name), pl.LazyFrame)
        }
        found = con.execute("SELECT table_name, column_name FROM information_schema.columns")
        columns: dict[str, set[str]] = {}
        for table, column in found.fetchall():
            columns.setdefault(table, set()).add(column)
        return read, {table: frozenset(names) for table, names in columns.items()}


def frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows of a raw table with defaults, in the warehouse's column types."""
    field = next(f for f, t in TABLES.items() if t == table)
    schema = schemas()[field]
    # Columns of the raw table that the engine does not read are accepted and left out.
    known = _warehouse()[1].get(table, frozenset()) | set(schema)
    defaults = {k: v for k, v in DEFAULTS.get(table, {}).items() if k in schema}
    full = []
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise KeyError(f"{table} has no columns {sorted(unknown)}")
        values = {name: None for name in schema} | defaults
        values |= {k: v for k, v in row.items() if k in schema}
        if table == "commits":
            values["authored_at"] = values["authored_at"] or values["committed_at"]
            values["author_canonical_email"] = (
                values["author_canonical_email"] or values["author_email"]
            )
        full.append(values)
    return pl.DataFrame(full, schema=schema)


def make_inputs(**tables: Sequence[Mapping[str, Any]]) -> Inputs:
    """Inputs from raw rows by table name (commits, pull_requests, deployments, ...)."""
    unknown = set(tables) - set(TABLES.values())
    if unknown:
        raise KeyError(f"unknown raw tables {sorted(unknown)}")
    frames: dict[str, Any] = {
        field: frame(table, tables.get(table, ())).lazy() for field, table in TABLES.items()
    }
    return Inputs(**frames)
