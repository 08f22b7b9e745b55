"""Connector writes: pages with their checkpoints in one transaction, keyed slice replacement, drift records."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingestion.sync import Replace, SyncContext, parse_time
from ingestion.warehouse import connect, migrate

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[SyncContext]:
    with connect(tmp_path / "w.duckdb") as con:
        migrate(con)
        yield SyncContext(con=con, run_id="run-1", now=lambda: T0)


def review(pr: int, rid: str, state: str = "approved") -> dict[str, object]:
    return {"source": "gh", "repo": "acme/web", "pr_number": pr, "review_id": rid, "reviewer_login": "ana",
            "reviewer_type": "user", "state": state, "submitted_at": T0, "is_human": True}  # fmt: skip


def reviews(ctx: SyncContext) -> list[tuple[object, ...]]:
    return ctx.con.execute(
        "SELECT pr_number, review_id, state FROM pr_reviews ORDER BY pr_number, review_id"
    ).fetchall()


def test_a_page_and_its_cursor_land_together_and_rereading_is_idempotent(ctx: SyncContext) -> None:
    page = [review(1, "a"), review(1, "b"), review(2, "c")]
    for _ in range(2):
        ctx.commit_page("gh", "acme/web", "pull_requests", {"after": "x"},
                        [Replace("pr_reviews", page, ("source", "repo", "pr_number", "review_id"))])  # fmt: skip
    assert reviews(ctx) == [(1, "a", "approved"), (1, "b", "approved"), (2, "c", "approved")]
    assert ctx.cursor("gh", "acme/web", "pull_requests") == {"after": "x"}
    assert ctx.cursor("gh", "acme/web", "issues") is None


def test_scope_clears_children_that_disappeared(ctx: SyncContext) -> None:
    keys = ("source", "repo", "pr_number")
    ctx.commit_page("gh", "acme/web", "pull_requests", None,
                    [Replace("pr_reviews", [review(1, "a"), review(1, "b"), review(2, "c")], keys)])  # fmt: skip
    # PR 1 now has one review (b changed state, a deleted upstream); PR 2 has none left.
    scope = [{"source": "gh", "repo": "acme/web", "pr_number": n} for n in (1, 2)]
    ctx.commit_page("gh", "acme/web", "pull_requests", None,
                    [Replace("pr_reviews", [review(1, "b", "dismissed")], keys, scope=scope)])  # fmt: skip
    assert reviews(ctx) == [(1, "b", "dismissed")]


def test_a_failed_page_leaves_rows_and_cursor_as_they_were(ctx: SyncContext) -> None:
    keys = ("source", "repo", "pr_number", "review_id")
    ctx.commit_page(
        "gh",
        "acme/web",
        "pull_requests",
        {"after": "p1"},
        [Replace("pr_reviews", [review(1, "a")], keys)],
    )
    bad = {**review(2, "z"), "state": "not-a-state"}  # violates the CHECK constraint
    with pytest.raises(duckdb.ConstraintException):
        ctx.commit_page("gh", "acme/web", "pull_requests", {"after": "p2"},
                        [Replace("pr_reviews", [review(1, "a", "dismissed"), bad], keys)])  # fmt: skip
    assert reviews(ctx) == [(1, "a", "approved")]
    assert ctx.cursor("gh", "acme/web", "pull_requests") == {"after": "p1"}


def test_field_drift_is_recorded(ctx: SyncContext) -> None:
    ctx.observe("gh", "pull_requests", {"number": 1, "title": "x", "newThing": 3}, known={"number", "title"},
                required={"number", "mergedAt"})  # fmt: skip
    ctx.flush_fields()
    rows = ctx.con.execute("SELECT field, status FROM source_fields ORDER BY field").fetchall()
    assert rows == [
        ("mergedAt", "missing"),
        ("newThing", "unknown"),
        ("number", "known"),
        ("title", "known"),
    ]


def test_run_records(ctx: SyncContext) -> None:
    ctx.start_run("github", "gh")
    ctx.finish_run(None, error="gh: boom")
    assert ctx.con.execute("SELECT status, error FROM ingest_runs").fetchall() == [
        ("failed", "gh: boom")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T12:20:53Z", datetime(2026, 11, 20, 12, 20, 53, tzinfo=UTC)),
        ("2026-11-20T12:20:53.000+0000", datetime(2026, 11, 20, 12, 20, 53, tzinfo=UTC)),
        ("2026-11-20T14:20:53.123+02:00", datetime(2026, 11, 20, 12, 20, 53, 123000, tzinfo=UTC)),
        ("2026-11-20T12:20:53", datetime(2026, 11, 20, 12, 20, 53, tzinfo=UTC)),
        (None, None),
    ],
)
def test_parse_time(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text) == expected
