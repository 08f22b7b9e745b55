"""Properties of the delivery, quality and guard numbers: scope invariants, ranges, bots, team names, determinism."""

from datetime import date
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metrics import quality, velocity
from metrics.marts import Marts, compute
from metrics.model import Member, Settings, TeamSpec
from tests.metrics.delivery_support import (
    START,
    STATUSES,
    commit,
    event,
    inputs,
    pr,
    review,
    sprint,
    ticket,
)

WEB = TeamSpec(
    "Web",
    members=(Member("a@x"), Member("b@x"), Member("c@x")),
    repos=("web",),
    projects=("WEB",),
    ai_rollout=date(2026, 3, 30),
    sprint_source="jira",
    sprint_board="7",
)
OPS = TeamSpec("Ops", members=(Member("g@x"), Member("h@x"), Member("i@x")), projects=("OPS",))
SETTINGS = Settings(
    teams=(WEB, OPS),
    cadence_days=14,
    cadence_start=START.date(),
    min_sample=1,
    baseline_min_sprints=1,
    bootstrap_samples=200,
    today=date(2026, 5, 10),
)
SPRINTS = [sprint(str(i + 1), 14 * i, 14 * i + 14, completed=14 * i + 14) for i in range(4)]
FAMILIES = {"delivery": velocity.delivery, "quality": quality.quality, "guard": velocity.guard}
SHARES = ("review_rejection_rate", "abandoned_pr_rate", "revert_rate", "commitment_completion")

days = st.integers(-5, 60)
sprint_sets = st.lists(st.sampled_from(["1", "2", "3", "4"]), max_size=3, unique=True).map(
    lambda ids: ",".join(sorted(ids)) or None
)
changes = st.one_of(
    st.tuples(st.just("sprint"), days, sprint_sets),
    st.tuples(st.just("status"), days, st.sampled_from(["1", "3", "5", "6"])),
    st.tuples(st.just("story_points"), days, st.sampled_from([None, "1", "2", "3", "5", "8"])),
)


@st.composite
def tracker(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Tickets with random changelogs (sprint moves, status changes, re-estimates)."""
    tickets, events = [], []
    for n in range(draw(st.integers(1, 8))):
        tid = f"K{n}"
        history = sorted(draw(st.lists(changes, max_size=6)), key=lambda c: c[1])
        last: dict[str, str | None] = {"sprint": None, "status": "1", "story_points": None}
        for field, day, new in history:
            events.append(event(tid, day, field, last[field], new))
            last[field] = new
        category = {"1": "todo", "3": "in_progress", "5": "done", "6": "canceled"}[
            last["status"] or "1"
        ]
        done_day = next((d for f, d, v in reversed(history) if f == "status" and v == "5"), None)
        sprints = (last["sprint"] or "").split(",")
        tickets.append(
            ticket(
                tid,
                created=draw(st.integers(-10, -6)),
                points=float(last["story_points"]) if last["story_points"] else None,
                sprint_id=sprints[-1] or None,
                category=category,
                resolved=done_day if category == "done" else None,
                type_category=draw(st.sampled_from(["feature", "bug", "task"])),
                project=draw(st.sampled_from(["WEB", "OPS"])),
            )
        )
    return {"tickets": tickets, "ticket_events": events}


@st.composite
def forge(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Human PRs with human reviews, and human commits."""
    people = st.sampled_from(["a@x", "b@x", "c@x", "g@x"])
    prs, reviews, commits = [], [], []
    for n in range(draw(st.integers(0, 8))):
        created = draw(st.integers(0, 50))
        end = created + draw(st.integers(0, 6))
        outcome = draw(st.sampled_from(["merged", "closed", "open"]))
        prs.append(pr(n, draw(people), created, merged=end if outcome == "merged" else None,
                      closed=end if outcome == "closed" else None))  # fmt: skip
        for state in draw(st.lists(st.sampled_from(["approved", "changes_requested", "commented"]), max_size=3)):  # fmt: skip
            reviews.append(review(n, draw(people), state, end))
    for n in range(draw(st.integers(0, 8))):
        commits.append(commit(n, draw(people), draw(st.integers(0, 55)), lines=draw(st.integers(0, 400)),
                              revert=draw(st.booleans())))  # fmt: skip
    return {"prs": prs, "reviews": reviews, "commits": commits}


def recompute(data: dict[str, list[dict[str, Any]]], s: Settings = SETTINGS) -> Marts:
    return compute(inputs(ticket_statuses=STATUSES, sprints=SPRINTS, **data), s, families=FAMILIES)


def ours(marts: Marts) -> pl.DataFrame:
    return (
        marts.tables["sprint_metrics"]
        .filter(pl.col("metric_id").is_in(list(_metric_ids())))
        .sort("team", "sprint_id", "metric_id")
    )


def _metric_ids() -> set[str]:
    from metrics.definitions import definitions

    return {d.id for d in definitions().values() if d.family in FAMILIES}


@settings(max_examples=40, deadline=None)
@given(tracker())
def test_scope_invariants(data: dict[str, list[dict[str, Any]]]) -> None:
    scope = recompute(data).tables["mart_sprint_scope"]
    tracked = scope.filter(pl.col("method") != "resolution")
    # Committed and added exclude each other; a removed issue is never completed or carried over.
    assert not (tracked["committed"] & tracked["added"]).any()
    assert not (tracked["removed"] & (tracked["completed"] | tracked["carried_over"])).any()
    assert not (tracked["completed"] & tracked["carried_over"]).any()
    # Completed only in the sprint where it was done: at most once per team.
    done = scope.filter(pl.col("completed")).group_by("team", "ticket_id").len()
    assert done.is_empty() or done["len"].max() == 1


@settings(max_examples=20, deadline=None)
@given(tracker(), forge())
def test_shares_stay_in_range_and_intervals_contain_the_value(
    tickets: dict[str, list[dict[str, Any]]], work: dict[str, list[dict[str, Any]]]
) -> None:
    got = ours(recompute({**tickets, **work})).filter(pl.col("status") == "ok")
    shares = got.filter(pl.col("metric_id").is_in(SHARES))
    assert shares["value"].is_between(0, 1).all()
    bounded = got.drop_nulls("ci_low")
    assert (bounded["ci_low"] <= bounded["value"] + 1e-9).all()
    assert (bounded["value"] <= bounded["ci_high"] + 1e-9).all()
    counts = got.filter(~pl.col("metric_id").is_in(["velocity_acceleration", "bug_density_change"]))
    assert (counts["value"] >= 0).all()


@settings(max_examples=15, deadline=None)
@given(tracker(), forge(), st.lists(st.integers(0, 50), min_size=1, max_size=6))
def test_bots_never_change_the_numbers(
    tickets: dict[str, list[dict[str, Any]]],
    work: dict[str, list[dict[str, Any]]],
    bot_days: list[int],
) -> None:
    base = recompute({**tickets, **work})
    bots = {
        "prs": work["prs"] + [pr(100 + i, "renovate[bot]", d, merged=d + 1, mode="bot") for i, d in enumerate(bot_days)],
        "reviews": work["reviews"]
        + [review(p["number"], "coderabbitai[bot]", "changes_requested", 50, human=False) for p in work["prs"]]
        + [review(100 + i, "a@x", "changes_requested", d + 1) for i, d in enumerate(bot_days)],
        "commits": work["commits"] + [commit(500 + i, "bot@x", d, lines=999, mode="bot", revert=True) for i, d in enumerate(bot_days)],
    }  # fmt: skip
    more = recompute({**tickets, **bots})
    assert_frame_equal(ours(base), ours(more))
    assert_frame_equal(
        base.tables["mart_sprint_scope"].sort("team", "sprint_id", "ticket_id"),
        more.tables["mart_sprint_scope"].sort("team", "sprint_id", "ticket_id"),
    )


@settings(max_examples=12, deadline=None)
@given(tracker(), forge())
def test_relabelling_teams_permutes_and_recomputing_repeats(
    tickets: dict[str, list[dict[str, Any]]], work: dict[str, list[dict[str, Any]]]
) -> None:
    data = {**tickets, **work}
    first, again = ours(recompute(data)), ours(recompute(data))
    assert_frame_equal(first, again)
    renamed = Settings(
        **{
            **vars(SETTINGS),
            "teams": (
                TeamSpec(**{**vars(WEB), "name": "Zeta"}),  # type: ignore[arg-type]
                TeamSpec(**{**vars(OPS), "name": "Alpha"}),  # type: ignore[arg-type]
            ),
        }
    )
    other = (
        ours(recompute(data, renamed))
        .with_columns(pl.col("team").replace({"Zeta": "Web", "Alpha": "Ops"}))
        .sort("team", "sprint_id", "metric_id")
    )
    assert_frame_equal(first, other)
