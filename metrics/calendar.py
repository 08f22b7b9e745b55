"""The sprint calendar: each team's sprints from its tracker board or a cadence, plus the organisation's cadence.

A sprint is the half-open interval [sprint_start, sprint_end). A tracker sprint ends when it was
completed (Jira's completeDate), else at its planned end; the organisation (`__org__`) and teams
without a tracker board follow a fixed cadence.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import polars as pl

from metrics.model import ORG, UTC_TS, Settings, TeamSpec

CALENDAR_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "sprint_name": pl.String,
    "sprint_start": UTC_TS,
    "sprint_end": UTC_TS,
    "sprint_state": pl.String,
    "origin": pl.String,
}


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _cadence_rows(
    team: str, start: date, length_days: int, until: date, today: date
) -> list[dict[str, object]]:
    if until < start:
        return []
    count = (until - start).days // length_days + 1
    rows: list[dict[str, object]] = []
    for i in range(count):
        first = start + timedelta(days=length_days * i)
        end = first + timedelta(days=length_days)
        state = "closed" if end <= today else "active" if first <= today else "future"
        rows.append(
            {
                "team": team,
                "sprint_id": first.isoformat(),
                "sprint_name": f"{first:%d %b} – {end - timedelta(days=1):%d %b %Y}",
                "sprint_start": _midnight(first),
                "sprint_end": _midnight(end),
                "sprint_state": state,
                "origin": f"cadence:{length_days}d",
            }
        )
    return rows


def cadence(team: str, start: date, length_days: int, until: date, today: date) -> pl.LazyFrame:
    """Back-to-back sprints of `length_days` from `start` until the one that contains `until`."""
    return pl.LazyFrame(
        _cadence_rows(team, start, length_days, until, today), schema=CALENDAR_SCHEMA
    )


def _default_start(first_activity: date | None, today: date) -> date:
    day = first_activity or today
    return day - timedelta(days=day.weekday())  # the Monday on or before the first activity


def tracker_sprints(sprints: pl.LazyFrame, teams: Sequence[TeamSpec]) -> pl.LazyFrame:
    """The sprints of the teams' boards: planned start, completed (or planned) end."""
    boards = pl.LazyFrame(
        [(t.name, t.sprint_source, t.sprint_board) for t in teams],
        schema={"team": pl.String, "source": pl.String, "board_id": pl.String},
        orient="row",
    )
    return (
        sprints.filter(
            ~pl.col("is_deleted")
            & pl.col("start_at").is_not_null()
            & pl.col("end_at").is_not_null()
        )
        .join(boards, on=["source", "board_id"], how="inner")
        .select(
            pl.col("team"),
            pl.col("sprint_id"),
            pl.col("name").alias("sprint_name"),
            pl.col("start_at").dt.convert_time_zone("UTC").alias("sprint_start"),
            pl.when(pl.col("state") == "closed")
            .then(pl.coalesce("completed_at", "end_at"))
            .otherwise(pl.col("end_at"))
            .dt.convert_time_zone("UTC")
            .alias("sprint_end"),
            pl.col("state").alias("sprint_state"),
            pl.concat_str([pl.col("source"), pl.lit(":"), pl.col("board_id")]).alias("origin"),
        )
        .filter(pl.col("sprint_end") > pl.col("sprint_start"))
        .cast(CALENDAR_SCHEMA)  # type: ignore[arg-type]
    )


def build_calendar(
    sprints: pl.LazyFrame, settings: Settings, *, first_activity: date | None, today: date
) -> pl.LazyFrame:
    """Every team's sprints and the organisation's, sorted by team and start."""
    org_start = settings.cadence_start or _default_start(first_activity, today)
    rows = _cadence_rows(ORG, org_start, settings.cadence_days, today, today)
    for team in settings.teams:
        if team.sprint_source is None:
            length = team.cadence_days or settings.cadence_days
            start = team.cadence_start or (
                org_start if team.cadence_days is None else _default_start(first_activity, today)
            )
            rows.extend(_cadence_rows(team.name, start, length, today, today))
    boards = [team for team in settings.teams if team.sprint_source is not None]
    frames = [pl.LazyFrame(rows, schema=CALENDAR_SCHEMA)]
    if boards:
        frames.append(tracker_sprints(sprints, boards))
    return pl.concat(frames).sort("team", "sprint_start")


def assign_sprint(
    facts: pl.LazyFrame, calendar: pl.LazyFrame, *, team_col: str, time_col: str, prefix: str = ""
) -> pl.LazyFrame:
    """Add `{prefix}sprint_id` to each fact: the sprint of its team that contains `time_col` (null when none)."""
    cal = calendar.select(
        pl.col("team").alias(team_col),
        pl.col("sprint_start").alias("_start"),
        pl.col("sprint_end").alias("_end"),
        pl.col("sprint_id").alias(f"{prefix}sprint_id"),
    ).sort("_start")
    return (
        facts.with_row_index("_order")
        .sort(time_col)
        # Both sides are sorted above; Polars cannot verify that per group and would warn.
        .join_asof(
            cal,
            left_on=time_col,
            right_on="_start",
            by=team_col,
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            pl.when(pl.col(time_col) < pl.col("_end"))
            .then(pl.col(f"{prefix}sprint_id"))
            .alias(f"{prefix}sprint_id")
        )
        .sort("_order")
        .drop("_order", "_start", "_end")
    )


def assign_sprints(
    facts: pl.LazyFrame, calendar: pl.LazyFrame, *, team_col: str, time_col: str
) -> pl.LazyFrame:
    """Add `sprint_id` (the sprint of the fact's team containing `time_col`) and `org_sprint_id` (the organisation's).

    The rows come out sorted by `time_col`: one sort serves both as-of joins, which keep that
    order. Use `assign_sprint` where the facts' own order must be kept.
    """

    def sprints(team: pl.Expr, sprint_col: str) -> pl.LazyFrame:
        return (
            calendar.filter(team)
            .select(
                pl.col("team").alias(team_col),
                pl.col("sprint_start").alias("_start"),
                pl.col("sprint_end").alias("_end"),
                pl.col("sprint_id").alias(sprint_col),
            )
            .sort("_start")
        )

    def within(sprint_col: str) -> pl.Expr:
        return pl.when(pl.col(time_col) < pl.col("_end")).then(pl.col(sprint_col)).alias(sprint_col)

    return (
        facts.sort(time_col)
        # Sorted by time globally, so within each team too; Polars cannot verify that per group.
        .join_asof(
            sprints(pl.col("team") != ORG, "sprint_id"),
            left_on=time_col,
            right_on="_start",
            by=team_col,
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(within("sprint_id"))
        .drop("_start", "_end")
        .join_asof(
            sprints(pl.col("team") == ORG, "org_sprint_id").drop(team_col),
            left_on=time_col,
            right_on="_start",
            strategy="backward",
        )
        .with_columns(within("org_sprint_id"))
        .drop("_start", "_end")
    )
