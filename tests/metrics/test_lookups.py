"""Fact lookups at scale: team credit by membership slots and both sprint assignments in one pass agree with their definitions."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metrics.calendar import assign_sprint, assign_sprints, build_calendar
from metrics.model import ORG, UTC_TS, Member, Settings, TeamSpec
from metrics.people import IDENTITY_MAP_SCHEMA, membership, team_of

START = datetime(2026, 3, 2, tzinfo=UTC)
SPRINTS = pl.LazyFrame(
    {
        "source": ["jira"] * 3,
        "board_id": ["7"] * 3,
        "sprint_id": ["s1", "s2", "s3"],
        "name": ["S1", "S2", "S3"],
        "state": ["closed", "closed", "active"],
        "start_at": [START, START + timedelta(days=14), START + timedelta(days=28)],
        "end_at": [START + timedelta(days=d) for d in (14, 28, 42)],
        # S1 completed early: facts between its completion and S2 belong to no Web sprint.
        "completed_at": [START + timedelta(days=11), START + timedelta(days=28), None],
        "is_deleted": [False] * 3,
    },
    schema_overrides={"completed_at": UTC_TS},
)
CALENDAR = build_calendar(
    SPRINTS,
    Settings(
        teams=(TeamSpec("Web", sprint_source="jira", sprint_board="7"), TeamSpec("Pay")),
        cadence_days=7,
        cadence_start=date(2026, 3, 2),
    ),
    first_activity=date(2026, 3, 2),
    today=date(2026, 4, 8),
).collect()


def two_passes(facts: pl.LazyFrame) -> pl.DataFrame:
    """The definition: the team's sprint, then the organisation's, each keeping the facts' order."""
    return (
        facts.pipe(assign_sprint, CALENDAR.lazy(), team_col="team", time_col="at")
        .with_columns(pl.lit(ORG).alias("_org"))
        .pipe(assign_sprint, CALENDAR.lazy(), team_col="_org", time_col="at", prefix="org_")
        .drop("_org")
        .collect()
    )


def test_one_pass_sprints_match_two_passes_at_the_edges() -> None:
    hours = [-5, 0, 1, 11 * 24 - 1, 11 * 24, 13 * 24, 14 * 24, 27 * 24, 40 * 24, 60 * 24, 3]
    facts = pl.LazyFrame(
        {
            "k": list(range(len(hours))),
            "team": ["Web", "Web", "Pay", "Web", "Web", "Web", "Web", "Pay", "Web", "Web", None],
            "at": [START + timedelta(hours=h) for h in hours],
        }
    )
    got = assign_sprints(facts, CALENDAR.lazy(), team_col="team", time_col="at").collect()
    assert got["at"].is_sorted()
    assert_frame_equal(got.sort("k"), two_passes(facts))
    web = got.filter(pl.col("team") == "Web").sort("k")
    assert web["sprint_id"].to_list() == [None, "s1", "s1", None, None, "s2", "s3", None]
    assert got.filter(pl.col("team").is_null())["org_sprint_id"].to_list() == ["2026-03-02"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Web", "Pay", "Ops", None]), st.integers(-48, 50 * 24)),
        max_size=40,
    )
)
def test_one_pass_sprints_match_two_passes(rows: list[tuple[str | None, int]]) -> None:
    facts = pl.LazyFrame(
        {
            "k": list(range(len(rows))),
            "team": [r[0] for r in rows],
            "at": [START + timedelta(hours=r[1]) for r in rows],
        },
        schema={"k": pl.Int64, "team": pl.String, "at": UTC_TS},
    )
    got = assign_sprints(facts, CALENDAR.lazy(), team_col="team", time_col="at").collect()
    assert_frame_equal(got.sort("k"), two_passes(facts))


def test_team_credit_takes_the_first_configured_membership_that_applies() -> None:
    s = Settings(
        teams=(
            TeamSpec("A", members=(Member("p", start=date(2026, 3, 10)),)),
            TeamSpec("B", members=(Member("p", end=date(2026, 3, 20)), Member("q"))),
            TeamSpec("C", members=(Member("p"),)),
        )
    )
    ids = pl.DataFrame(
        {"identity": ["p", "q"], "person_id": ["p", "q"], "person_name": ["p", "q"]},
        schema=IDENTITY_MAP_SCHEMA,
    )
    facts = pl.LazyFrame(
        {
            "person_id": ["p", "p", "p", "q", None, "r"],
            "at": [datetime(2026, 3, d, tzinfo=UTC) for d in (1, 10, 25, 1, 1, 1)],
            "k": [1, 2, 3, 4, 5, 6],
        }
    )
    got = team_of(facts, membership(s, ids).lazy(), person_col="person_id", time_col="at")
    # p is in B until the 20th, in A from the 10th, in C always: A comes first in the file.
    assert got.sort("k").collect()["team"].to_list() == ["B", "A", "A", "B", None, None]
    assert got.collect_schema().names() == ["person_id", "at", "k", "team"]


def test_team_credit_without_members_is_empty() -> None:
    empty = membership(Settings(), pl.DataFrame(schema=IDENTITY_MAP_SCHEMA))
    facts = pl.LazyFrame({"person_id": ["p"], "at": [START]})
    got = team_of(facts, empty.lazy(), person_col="person_id", time_col="at").collect()
    assert got["team"].to_list() == [None] and got.schema["team"] == pl.String
