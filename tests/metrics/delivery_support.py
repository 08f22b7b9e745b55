"""Builders for delivery and quality tests: raw-table rows inline, shaped as the warehouse migrations define them."""

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from ingestion.warehouse import migrate
from metrics.marts import Inputs, Marts, compute, load_inputs
from metrics.model import Settings

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
TODAY = date(2026, 4, 30)

# Defaults for NOT NULL columns a test does not care about.
_DEFAULTS: dict[str, Any] = {
    "is_deleted": False,
    "is_draft": False,
    "is_prerelease": False,
    "labels": [],
    "body_length": 0,
    "run_id": "r",
    "title": "t",
    "forge": "github",
    "forge_id": "x",
    "tracker": "jira",
    "status_category": "todo",
    "type_category": "feature",
    "is_merge": False,
    "in_default_history": True,
    "is_reachable": True,
    "is_revert": False,
    "stats_complete": True,
    "excluded_additions": 0,
    "excluded_deletions": 0,
    "is_human": True,
}


def at(day: float, hour: int = 0) -> datetime:
    """An instant `day` days (and `hour` hours) after START."""
    return START + timedelta(days=day, hours=hour)


@functools.cache
def _schemas() -> dict[str, pl.Schema]:
    # The raw tables only: what load_inputs derives from them besides (optional fields) is left
    # for the engine to compute from these frames.
    raw = [
        f.name
        for f in dataclasses.fields(Inputs)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    with duckdb.connect() as con:
        migrate(con)
        inputs = load_inputs(con)
        return {name: getattr(inputs, name).collect_schema() for name in raw}


def rows(table: str, records: Sequence[Mapping[str, Any]]) -> pl.LazyFrame:
    """Rows of an Inputs table (field name: `tickets`, `ticket_events`, `prs`, ...) with its exact schema."""
    schema = _schemas()[table]
    filled = [
        {name: record.get(name, _DEFAULTS.get(name)) for name in schema.names()}
        for record in records
    ]
    return pl.DataFrame(filled, schema=schema, orient="row").lazy()


def inputs(**tables: Sequence[Mapping[str, Any]]) -> Inputs:
    """Inputs with the given tables' rows; every other table empty."""
    made = {name: rows(name, tables.get(name, [])) for name in _schemas()}
    return Inputs(**made)  # type: ignore[arg-type]


def run(settings: Settings, **tables: Sequence[Mapping[str, Any]]) -> Marts:
    return compute(inputs(**tables), settings)


# --------------------------------------------------------------------------- raw rows


def sprint(
    sprint_id: str, start: float, end: float, *, board: str = "7", completed: float | None = None
) -> dict[str, Any]:
    """A Jira sprint of board `board` from day `start` to day `end` (closed when `completed`)."""
    return {
        "source": "jira",
        "tracker": "jira",
        "sprint_id": sprint_id,
        "board_id": board,
        "name": f"Sprint {sprint_id}",
        "state": "closed" if completed is not None else "active",
        "start_at": at(start),
        "end_at": at(end),
        "completed_at": at(completed) if completed is not None else None,
        "synced_at": at(0),
    }


def ticket(
    ticket_id: str,
    *,
    created: float = -10,
    points: float | None = None,
    sprint_id: str | None = None,
    category: str = "todo",
    resolved: float | None = None,
    type_category: str = "feature",
    assignee: str | None = None,
    project: str = "WEB",
    source: str = "jira",
) -> dict[str, Any]:
    return {
        "source": source,
        "tracker": "jira",
        "ticket_id": ticket_id,
        "key": f"{project}-{ticket_id}",
        "project": project,
        "title": "t",
        "type_category": type_category,
        "status_category": category,
        "story_points": points,
        "assignee_id": assignee,
        "sprint_id": sprint_id,
        "created_at": at(created),
        "updated_at": at(created),
        "resolved_at": at(resolved) if resolved is not None else None,
        "synced_at": at(0),
    }


_EVENT_SEQ = iter(range(1_000_000, 10_000_000))


def event(
    ticket_id: str,
    day: float,
    field: str,
    old: str | None,
    new: str | None,
    *,
    hour: int = 0,
    source: str = "jira",
) -> dict[str, Any]:
    """One changelog item: sprint and status changes carry ids, story points their values."""
    ids = field != "story_points"
    return {
        "source": source,
        "ticket_id": ticket_id,
        "event_id": str(next(_EVENT_SEQ)),
        "position": 0,
        "changed_at": at(day, hour),
        "field": field,
        "from_id": old if ids else None,
        "to_id": new if ids else None,
        "from_value": None if ids else old,
        "to_value": None if ids else new,
    }


STATUSES = [
    {"source": "jira", "status_id": "1", "name": "To Do", "category": "todo"},
    {"source": "jira", "status_id": "3", "name": "In Progress", "category": "in_progress"},
    {"source": "jira", "status_id": "5", "name": "Done", "category": "done"},
    {"source": "jira", "status_id": "6", "name": "Won't Do", "category": "canceled"},
]


def commit(
    sha: int,
    author: str,
    day: float,
    *,
    lines: int = 10,
    mode: str | None = None,
    revert: bool = False,
    repo: str = "web",
    complete: bool = True,
) -> dict[str, Any]:
    """A commit on the default branch; `mode` is its attribution (`bot`, `agent`, `assisted`)."""
    return {
        "repo": repo,
        "sha": f"{sha:040x}",
        "authored_at": at(day),
        "committed_at": at(day),
        "author_email": author,
        "author_canonical_email": author,
        "ai_mode": mode,
        "ai_tool": {"bot": "dependabot", "agent": "devin", "assisted": "claude_code"}.get(
            mode or ""
        ),
        "is_revert": revert,
        "stats_complete": complete,
        "additions": lines if complete else None,
        "deletions": 0 if complete else None,
    }


def pr(
    number: int,
    author: str,
    created: float,
    *,
    merged: float | None = None,
    closed: float | None = None,
    mode: str | None = None,
    repo: str = "acme/web",
) -> dict[str, Any]:
    """A pull request: merged when `merged` is given, closed unmerged when only `closed` is."""
    state = "merged" if merged is not None else "closed" if closed is not None else "open"
    end = merged if merged is not None else closed
    return {
        "source": "gh",
        "forge": "github",
        "repo": repo,
        "number": number,
        "forge_id": str(number),
        "title": "t",
        "author_login": author,
        "author_type": "bot" if mode == "bot" else "user",
        "state": state,
        "created_at": at(created),
        "updated_at": at(created),
        "merged_at": at(merged) if merged is not None else None,
        "closed_at": at(end) if end is not None else None,
        "ai_mode": mode,
        "synced_at": at(0),
    }


def review(
    number: int,
    reviewer: str,
    state: str,
    day: float,
    *,
    human: bool = True,
    repo: str = "acme/web",
) -> dict[str, Any]:
    return {
        "source": "gh",
        "repo": repo,
        "pr_number": number,
        "review_id": f"{number}-{reviewer}-{state}-{day}",
        "reviewer_login": reviewer,
        "reviewer_type": "user" if human else "bot",
        "state": state,
        "submitted_at": at(day),
        "ai_mode": None if human else "review",
        "is_human": human,
    }


def release(
    release_id: str,
    day: float,
    *,
    repo: str = "acme/web",
    draft: bool = False,
    prerelease: bool = False,
) -> dict[str, Any]:
    return {
        "source": "gh",
        "repo": repo,
        "release_id": release_id,
        "tag_name": f"v{release_id}",
        "is_draft": draft,
        "is_prerelease": prerelease,
        "created_at": at(day),
        "published_at": at(day),
        "synced_at": at(0),
    }


def forge_repo(repo: str = "acme/web", git_repo: str = "web") -> dict[str, Any]:
    return {
        "source": "gh",
        "forge": "github",
        "repo": repo,
        "git_repo": git_repo,
        "synced_at": at(0),
    }


def metric(marts: Marts, team: str, sprint_id: str, metric_id: str) -> dict[str, Any]:
    """One sprint_metrics row as a dict."""
    frame = marts.tables["sprint_metrics"].filter(
        (pl.col("team") == team)
        & (pl.col("sprint_id") == sprint_id)
        & (pl.col("metric_id") == metric_id)
    )
    assert frame.height == 1, (team, sprint_id, metric_id, frame.height)
    return frame.row(0, named=True)
