"""Delivery metrics: sprint scope as Jira's velocity chart counts it, fallbacks, team credit, velocity per engineer, acceleration and the inflation guard."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from metrics.marts import Marts
from metrics.model import ORG, Member, Settings, TeamSpec
from metrics.stats import bootstrap_ratio_to_mean
from tests.metrics.delivery_support import (
    START,
    STATUSES,
    TODAY,
    commit,
    event,
    metric,
    pr,
    run,
    sprint,
    ticket,
)

WEB = TeamSpec(
    "Web",
    members=(Member("a@x"), Member("b@x"), Member("c@x")),
    projects=("WEB",),
    sprint_source="jira",
    sprint_board="7",
)
MOB = TeamSpec(
    "Mob",
    members=(Member("d@x"), Member("e@x"), Member("f@x")),
    sprint_source="gh",
    sprint_board="acme/mobile",
)
OPS = TeamSpec("Ops", members=(Member("g@x"), Member("h@x"), Member("i@x")), projects=("OPS",))
SETTINGS = Settings(
    teams=(WEB, MOB, OPS), cadence_days=14, cadence_start=START.date(), min_sample=1, today=TODAY
)

# Web's board: three closed two-week sprints and a running one.
WEB_SPRINTS = [
    sprint("1", 0, 14, completed=14),
    sprint("2", 14, 28, completed=28),
    sprint("3", 28, 42, completed=42),
    sprint("4", 42, 56),
]
# Mob plans with GitHub milestones, a day later than the organisation's cadence.
MOB_SPRINTS = [
    {**sprint("M1", 1, 15, completed=15), "source": "gh", "tracker": "github", "board_id": "acme/mobile"},
    {**sprint("M2", 15, 29, completed=29), "source": "gh", "tracker": "github", "board_id": "acme/mobile"},
]  # fmt: skip

# Status ids: 1 To Do, 3 In Progress, 5 Done (STATUSES).
EVENTS = [
    # A: committed to sprint 1, carried over twice (Jira appends the next sprint when one closes), done in sprint 3.
    event("A", -1, "sprint", None, "1"), event("A", 14, "sprint", "1", "1, 2"), event("A", 28, "sprint", "1,2", "1,2,3"),
    event("A", 2, "status", "1", "3"), event("A", 30, "status", "3", "5"),
    # B: created into sprint 1 (no sprint item), estimated 3 before the start, re-estimated 8 mid-sprint, done.
    event("B", -3, "story_points", None, "3"), event("B", 5, "story_points", "3", "8"), event("B", 10, "status", "1", "5"),
    # C: committed, removed on day 6, done on day 8 outside the sprint.
    event("C", -2, "sprint", None, "1"), event("C", 6, "sprint", "1", None), event("C", 8, "status", "1", "5"),
    # D: created and added mid-sprint, done.
    event("D", 4, "sprint", None, "1"), event("D", 9, "status", "1", "5"),
    # E: committed to sprint 2, done the day after it closed without being carried over.
    event("E", 13, "sprint", None, "2"), event("E", 29, "status", "1", "5"),
    # G: done long before, then added to sprint 2: completed outside the sprint.
    event("G", -15, "status", "1", "5"), event("G", 15, "sprint", None, "2"),
    # H: done in sprint 2, reopened, carried over, done again in sprint 3.
    event("H", 13, "sprint", None, "2"), event("H", 28, "sprint", "2", "2,3"),
    event("H", 16, "status", "1", "5"), event("H", 20, "status", "5", "3"), event("H", 30, "status", "3", "5"),
]  # fmt: skip
TICKETS = [
    ticket("A", points=5, sprint_id="3", category="done", resolved=30),
    ticket("B", created=-5, points=8, sprint_id="1", category="done", resolved=10),
    ticket("C", created=-5, points=2, category="done", resolved=8),
    ticket("D", created=3, points=1, sprint_id="1", category="done", resolved=9),
    ticket("E", created=-5, points=3, sprint_id="2", category="done", resolved=29),
    ticket("F", created=-5, points=3, sprint_id="1", type_category="subtask"),
    ticket("G", created=-20, points=2, sprint_id="2", category="done", resolved=-15),
    ticket("H", created=-5, points=2, sprint_id="3", category="done", resolved=30),
    ticket("BUG1", created=3, type_category="bug"),
    # Forge issues on Mob's milestones: no changelog anywhere in that source.
    ticket("X", created=-3, sprint_id="M1", category="done", resolved=5, source="gh", project="acme/mobile"),
    ticket("Y", created=2, sprint_id="M1", source="gh", project="acme/mobile"),
    ticket("Z", created=-3, points=3, sprint_id="M2", category="done", resolved=20, source="gh", project="acme/mobile"),
    # Ops works on a cadence: credit by project, else by assignee.
    ticket("O1", created=-2, points=2, category="done", resolved=3, project="OPS"),
    ticket("O2", created=-2, points=1, category="done", resolved=16, project="MISC", assignee="G@x"),
    ticket("O3", created=-2, points=5, category="canceled", resolved=4, project="OPS"),
]  # fmt: skip
TICKET_SPRINTS = [
    {"source": "jira", "ticket_id": "B", "sprint_id": "1"},
    {"source": "gh", "ticket_id": "Z", "sprint_id": "M1"},
    {"source": "gh", "ticket_id": "Z", "sprint_id": "M2"},
]


@pytest.fixture(scope="module")
def marts() -> Marts:
    return run(
        SETTINGS,
        tickets=TICKETS,
        ticket_events=EVENTS,
        ticket_sprints=TICKET_SPRINTS,
        ticket_statuses=STATUSES,
        sprints=WEB_SPRINTS + MOB_SPRINTS,
    )


SCOPE_COLUMNS = {
    "team": pl.String,
    "sprint_id": pl.String,
    "ticket_id": pl.String,
    "method": pl.String,
    "committed": pl.Boolean,
    "added": pl.Boolean,
    "removed": pl.Boolean,
    "completed": pl.Boolean,
    "carried_over": pl.Boolean,
    "points_start": pl.Float64,
    "points_end": pl.Float64,
    "org_sprint_id": pl.String,
}
T, F, N = True, False, None


def test_scope_follows_the_velocity_chart_rules(marts: Marts) -> None:
    expected = pl.DataFrame(
        [
            ("Mob", "M1", "X", "sprint_field", T, F, F, T, F, N, N, "2026-03-02"),
            ("Mob", "M1", "Y", "sprint_field", F, T, F, F, T, N, N, "2026-03-02"),
            ("Mob", "M1", "Z", "sprint_field", T, F, F, F, T, 3.0, 3.0, "2026-03-02"),
            ("Mob", "M2", "Z", "sprint_field", T, F, F, T, F, 3.0, 3.0, "2026-03-16"),
            ("Ops", "2026-03-02", "O1", "resolution", N, N, N, T, N, N, 2.0, "2026-03-02"),
            ("Ops", "2026-03-16", "O2", "resolution", N, N, N, T, N, N, 1.0, "2026-03-16"),
            ("Web", "1", "A", "changelog", T, F, F, F, T, 5.0, 5.0, "2026-03-02"),
            ("Web", "1", "B", "changelog", T, F, F, T, F, 3.0, 8.0, "2026-03-02"),
            ("Web", "1", "C", "changelog", T, F, T, F, F, 2.0, 2.0, "2026-03-02"),
            ("Web", "1", "D", "changelog", F, T, F, T, F, 1.0, 1.0, "2026-03-02"),
            ("Web", "2", "A", "changelog", T, F, F, F, T, 5.0, 5.0, "2026-03-16"),
            ("Web", "2", "E", "changelog", T, F, F, F, T, 3.0, 3.0, "2026-03-16"),
            ("Web", "2", "G", "changelog", F, T, F, F, F, 2.0, 2.0, "2026-03-16"),
            ("Web", "2", "H", "changelog", T, F, F, F, T, 2.0, 2.0, "2026-03-16"),
            ("Web", "3", "A", "changelog", T, F, F, T, F, 5.0, 5.0, "2026-03-30"),
            ("Web", "3", "H", "changelog", T, F, F, T, F, 2.0, 2.0, "2026-03-30"),
        ],
        schema=SCOPE_COLUMNS,
        orient="row",
    )
    got = (
        marts.tables["mart_sprint_scope"]
        .select(list(SCOPE_COLUMNS))
        .sort("team", "sprint_id", "ticket_id")
    )
    assert_frame_equal(got, expected)


def test_velocity_commitment_and_carry_over_by_hand(marts: Marts) -> None:
    def values(team: str, metric_id: str, sprints: list[str]) -> list[float | None]:
        return [metric(marts, team, s, metric_id)["value"] for s in sprints]

    web = ["1", "2", "3"]
    assert values("Web", "velocity_points", web) == [
        9.0,
        0.0,
        7.0,
    ]  # B at its end estimate 8, D 1; A+H
    assert values("Web", "velocity_issues", web) == [2.0, 0.0, 2.0]
    assert values("Web", "commitment_points", web) == [
        10.0,
        10.0,
        7.0,
    ]  # A+B(3 at start)+C; A+E+H; A+H
    assert values("Web", "added_points", web) == [1.0, 2.0, 0.0]
    assert values("Web", "carry_over_points", web) == [5.0, 10.0, 0.0]
    first = metric(marts, "Web", "1", "commitment_completion")
    assert (first["numerator"], first["denominator"], first["value"]) == (3.0, 10.0, 0.3)
    assert metric(marts, "Web", "1", "velocity_points")["coverage"] == 1.0
    # No changelog: the sprint field and resolution time; X completed without an estimate.
    m1 = metric(marts, "Mob", "M1", "velocity_points")
    assert (m1["value"], m1["coverage"]) == (0.0, 0.0)
    assert "3 of 3 issues from the sprint field" in m1["note"]
    assert "without an estimate (counted as 0 points): 1" in m1["note"]
    assert metric(marts, "Mob", "M2", "velocity_points")["value"] == 3.0
    # A cadence team has completed work but no commitment.
    assert metric(marts, "Ops", "2026-03-02", "velocity_points")["value"] == 2.0
    ops = metric(marts, "Ops", "2026-03-02", "commitment_points")
    assert ops["status"] == "insufficient_data" and "commitment is unknown" in ops["note"]
    # The running sprint has no scope yet: no number.
    assert metric(marts, "Web", "4", "velocity_points")["status"] == "insufficient_data"


def test_the_organisation_sums_team_sprints_by_midpoint(marts: Marts) -> None:
    # Mob's milestones start a day after the cadence: their midpoints still fall in the same sprints.
    got = [
        metric(marts, ORG, s, "velocity_points")["value"]
        for s in ("2026-03-02", "2026-03-16", "2026-03-30")
    ]
    assert got == [9.0 + 0.0 + 2.0, 0.0 + 3.0 + 1.0, 7.0]
    assert "sum of 3 team sprints" in metric(marts, ORG, "2026-03-02", "velocity_points")["note"]


def test_tickets_credit_board_then_assignee_then_project(marts: Marts) -> None:
    tickets = marts.tables["mart_tickets"].sort("ticket_id")
    credit = dict(
        zip(
            tickets["ticket_id"],
            zip(tickets["team"], tickets["team_via"], strict=True),
            strict=True,
        )
    )
    assert credit["A"] == ("Web", "board") and credit["X"] == ("Mob", "board")
    assert credit["O2"] == ("Ops", "person") and credit["O1"] == ("Ops", "project")
    assert credit["BUG1"] == ("Web", "project")
    bug = tickets.filter(pl.col("ticket_id") == "BUG1").row(0, named=True)
    assert (bug["is_bug"], bug["created_sprint_id"], bug["created_org_sprint_id"]) == (
        True,
        "1",
        "2026-03-02",
    )
    # Dropped work is never done.
    assert tickets.filter(pl.col("ticket_id") == "O3")["done_at"].item() is None


# --------------------------------------------------------------------------- baseline and acceleration

CADENCE = TeamSpec("Ops", members=(Member("ana"), Member("bo"), Member("cy")), projects=("OPS",))


def weekly(points: list[float], *, rollout: date | None, **extra: object) -> tuple[Settings, list]:
    """One completed OPS ticket per weekly sprint with the given points."""
    settings = Settings(
        teams=(TeamSpec(**{**vars(CADENCE), "ai_rollout": rollout}),),  # type: ignore[arg-type]
        cadence_days=7,
        cadence_start=START.date(),
        min_sample=1,
        today=START.date() + timedelta(days=7 * len(points)),
        bootstrap_samples=500,
        **extra,  # type: ignore[arg-type]
    )
    tickets = [
        ticket(f"T{i}", created=7 * i, points=p, category="done", resolved=7 * i + 2, project="OPS")
        for i, p in enumerate(points)
    ]
    return settings, tickets


def test_acceleration_is_velocity_over_the_pre_rollout_mean_with_a_bootstrap_interval() -> None:
    settings, tickets = weekly([4, 6, 5, 5, 10, 15], rollout=date(2026, 3, 30))
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    after = metric(marts, "Ops", "2026-04-06", "velocity_acceleration")
    assert (after["numerator"], after["denominator"], after["value"]) == (15.0, 5.0, 3.0)
    low, high = bootstrap_ratio_to_mean(
        15.0, np.array([4.0, 6.0, 5.0, 5.0]), samples=500, confidence=0.9, seed=0
    )
    assert (after["ci_low"], after["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert "4 sprints before the AI rollout on 2026-03-30" in after["note"]
    assert "velocity in story points" in after["note"]
    assert metric(marts, "Ops", "2026-03-02", "velocity_acceleration")["value"] == pytest.approx(
        0.8
    )
    # The organisation's baseline ends at the earliest rollout: the same here.
    assert metric(marts, ORG, "2026-04-06", "velocity_acceleration")["value"] == 3.0


def test_a_short_baseline_gives_no_ratio() -> None:
    settings, tickets = weekly([4, 6, 10, 15], rollout=date(2026, 3, 16))
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    row = metric(marts, "Ops", "2026-03-23", "velocity_acceleration")
    assert row["status"] == "insufficient_data" and row["value"] is None
    assert "baseline has 2 sprints with data (3 needed)" in row["note"]
    assert (row["numerator"], row["denominator"]) == (15.0, 5.0)


def test_without_a_rollout_the_baseline_is_the_first_sprints() -> None:
    settings, tickets = weekly([4, 6, 5, 5, 10], rollout=None, baseline_sprints=3)
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    row = metric(marts, "Ops", "2026-03-23", "velocity_acceleration")
    assert row["value"] == pytest.approx(5 / 5)
    assert "the first 3 sprints with data (no AI rollout date)" in row["note"]


def test_a_running_sprint_has_velocity_so_far_but_no_acceleration() -> None:
    settings, tickets = weekly([4, 6, 5, 5, 10], rollout=None, baseline_sprints=3)
    settings = Settings(**{**vars(settings), "today": date(2026, 4, 1)})  # inside the fifth sprint
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    velocity = metric(marts, "Ops", "2026-03-30", "velocity_points")
    assert velocity["value"] == 10.0 and "sprint still running" in velocity["note"]
    row = metric(marts, "Ops", "2026-03-30", "velocity_acceleration")
    assert row["status"] == "insufficient_data" and "sprint still running" in row["note"]


# --------------------------------------------------------------------------- per engineer and bases


def test_velocity_per_engineer_counts_people_never_bots() -> None:
    settings = Settings(
        teams=(CADENCE,), cadence_days=14, cadence_start=START.date(), min_sample=1, today=TODAY
    )
    tickets = [
        ticket("T1", points=3, category="done", resolved=2, project="OPS", assignee="cy"),
        ticket("T2", points=5, category="done", resolved=3, project="OPS"),
    ]
    commits = [
        commit(1, "ana", 1),
        commit(2, "dependabot[bot]@users.noreply.github.com", 1, mode="bot"),
        commit(3, "noreply@devin.ai", 2, mode="agent"),
    ]
    prs = [
        pr(1, "bo", 1, merged=2),
        pr(2, "dependabot[bot]", 1, merged=2, mode="bot"),
    ]
    marts = run(settings, tickets=tickets, commits=commits, prs=prs, ticket_statuses=STATUSES)
    row = metric(marts, "Ops", "2026-03-02", "velocity_per_engineer")
    # ana (commit), bo (PR), cy (completed issue); the bot and the agent are nobody.
    assert (row["numerator"], row["denominator"], row["value"]) == (8.0, 3.0, 8.0 / 3.0)
    assert metric(marts, "Ops", "2026-03-02", "merged_prs")["value"] == 1.0


def test_teams_without_points_use_issues_and_without_tickets_merged_prs() -> None:
    settings = Settings(
        teams=(
            CADENCE,
            TeamSpec("Pay", members=(Member("dee"), Member("eve"), Member("fay"))),
        ),
        cadence_days=14,
        cadence_start=START.date(),
        min_sample=1,
        today=TODAY,
    )
    tickets = [ticket("T1", category="done", resolved=2, project="OPS", assignee="ana")]
    prs = [pr(1, "dee", 1, merged=2), pr(2, "eve", 1, merged=3)]
    marts = run(settings, tickets=tickets, prs=prs, ticket_statuses=STATUSES)
    ops = metric(marts, "Ops", "2026-03-02", "velocity_per_engineer")
    assert (ops["numerator"], ops["note"]) == (1.0, "velocity in completed issues")
    assert metric(marts, "Ops", "2026-03-02", "velocity_points")["status"] == "insufficient_data"
    pay = metric(marts, "Pay", "2026-03-02", "velocity_per_engineer")
    assert (pay["numerator"], pay["denominator"], pay["note"]) == (
        2.0,
        2.0,
        "velocity in merged PRs",
    )
    # Teams in different units: the organisation falls back to the unit they all have.
    assert (
        metric(marts, ORG, "2026-03-02", "velocity_per_engineer")["note"]
        == "velocity in merged PRs"
    )


# --------------------------------------------------------------------------- inflation guard


def test_points_per_pr_above_the_baseline_envelope_is_flagged() -> None:
    settings = Settings(
        teams=(TeamSpec(**{**vars(CADENCE), "ai_rollout": date(2026, 3, 30)}),),  # type: ignore[arg-type]
        cadence_days=7,
        cadence_start=START.date(),
        min_sample=2,
        today=date(2026, 4, 13),
    )
    # Two merged PRs a week; points per PR 2, 2, 2.2, 1.8 before the rollout, then 3.2 and 2.4.
    points = [4.0, 4.0, 4.4, 3.6, 6.4, 4.8]
    tickets = [
        ticket(f"T{i}", created=7 * i, points=p, category="done", resolved=7 * i + 2, project="OPS")
        for i, p in enumerate(points)
    ]
    prs = [pr(10 * i + j, "ana", 7 * i, merged=7 * i + 1) for i in range(6) for j in range(2)]
    marts = run(settings, tickets=tickets, prs=prs, ticket_statuses=STATUSES)
    guards = marts.tables["mart_guards"].filter(
        (pl.col("team") == "Ops") & (pl.col("metric_id") == "points_per_pr")
    )
    # mean 2, sd 0.1633: envelope = max(2 + 2 sd, 1.3 × 2) = 2.6.
    assert guards["envelope_high"].unique().to_list() == [pytest.approx(2.6)]
    assert guards.sort("sprint_id")["inflated"].to_list() == [
        F,
        F,
        F,
        F,
        T,
        F,
        F,
    ]  # last: running, no data
    flagged = metric(marts, "Ops", "2026-03-30", "points_per_pr")
    assert flagged["value"] == pytest.approx(3.2)
    assert flagged["note"].startswith("possible story-point inflation: 3.2 is above")
    assert (
        "within the baseline envelope"
        in metric(marts, "Ops", "2026-04-06", "points_per_pr")["note"]
    )


def test_a_cycle_rolled_over_at_the_closing_instant_and_statuses_known_only_by_name() -> None:
    """Linear moves unfinished issues to the next cycle the moment one ends: carried over, then committed."""
    lin = TeamSpec(
        "Lin",
        members=(Member("a@x"), Member("b@x"), Member("c@x")),
        sprint_source="lin",
        sprint_board="team-1",
    )
    settings = Settings(
        teams=(lin,), cadence_days=7, cadence_start=START.date(), min_sample=1, today=TODAY
    )
    cycles = [
        {**sprint(c, s, s + 7, completed=s + 7), "source": "lin", "tracker": "linear", "board_id": "team-1"}
        for c, s in (("c1", 0), ("c2", 7))
    ]  # fmt: skip
    # The source's workflow states were not read: the status names of current tickets say what is done.
    moves = [
        event("L1", -1, "sprint", None, "c1", source="lin"),
        event("L1", 7, "sprint", "c1", "c2", source="lin"),
        {**event("L1", 10, "status", "st-1", "st-9", source="lin"), "from_value": "Todo", "to_value": "Done"},
    ]  # fmt: skip
    tickets = [
        {**ticket("L1", points=3, sprint_id="c2", category="done", resolved=10, source="lin"), "status": "Done"},
        {**ticket("L2", sprint_id="c2", source="lin"), "status": "Todo"},
    ]  # fmt: skip
    marts = run(settings, tickets=tickets, ticket_events=moves, sprints=cycles)
    scope = (
        marts.tables["mart_sprint_scope"]
        .filter(pl.col("ticket_id") == "L1")
        .sort("sprint_id")
        .select("sprint_id", "committed", "removed", "completed", "carried_over")
    )
    assert scope.rows() == [("c1", T, F, F, T), ("c2", T, F, T, F)]
    assert metric(marts, "Lin", "c2", "velocity_points")["value"] == 3.0
