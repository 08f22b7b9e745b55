"""Quality metrics: bug densities with Poisson intervals, their change against the baseline, review rejections without bots, abandoned PRs, reverts, rejections per release."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from metrics.marts import Marts
from metrics.model import ORG, Member, Settings, TeamSpec
from metrics.quality import poisson_limits
from metrics.stats import bootstrap_ratio_to_mean
from tests.metrics.delivery_support import (
    START,
    STATUSES,
    TODAY,
    commit,
    forge_repo,
    metric,
    pr,
    release,
    review,
    run,
    ticket,
)

OPS = TeamSpec(
    "Ops", members=(Member("ana"), Member("bo"), Member("cy")), repos=("web",), projects=("OPS",)
)
SETTINGS = Settings(
    teams=(OPS,), cadence_days=14, cadence_start=START.date(), min_sample=2, today=TODAY
)
S1 = "2026-03-02"


@pytest.fixture(scope="module")
def marts() -> Marts:
    tickets = [
        # 20 points delivered in the first sprint.
        ticket("T1", points=8, category="done", resolved=3, project="OPS"),
        ticket("T2", points=12, category="done", resolved=4, project="OPS"),
        # Three bugs reported in it, one more closed as a duplicate, one after the sprint.
        ticket("B1", created=1, type_category="bug", project="OPS"),
        ticket("B2", created=2, type_category="bug", project="OPS", category="done", resolved=5),
        ticket("B3", created=9, type_category="bug", project="OPS"),
        ticket(
            "B4", created=9, type_category="bug", project="OPS", category="canceled", resolved=9
        ),
        ticket("B5", created=15, type_category="bug", project="OPS"),
        # A bug of no team counts for the organisation only.
        ticket("B6", created=3, type_category="bug", project="ELSE"),
    ]
    commits = [
        commit(1, "ana", 1, lines=1000),
        commit(2, "bo", 2, lines=400),
        commit(3, "cy", 3, lines=100, revert=True),
        commit(4, "ana", 3, complete=False),  # a shallow boundary: no line count
        commit(5, "dependabot@x", 3, lines=9000, mode="bot"),
    ]
    prs = [
        pr(1, "ana", 1, merged=2),  # a human asked for changes
        pr(2, "bo", 1, merged=3),  # only a review bot asked for changes
        pr(3, "cy", 1, merged=4),  # approved by a human
        pr(4, "ana", 1, closed=5),  # abandoned after two human change requests
        pr(5, "bo", 1, merged=6),  # no review at all
        pr(6, "renovate[bot]", 1, merged=6, mode="bot"),  # a bot's PR, rejected by a human
        pr(7, "cy", 1),  # still open
    ]
    reviews = [
        review(1, "bo", "changes_requested", 1.5),
        review(1, "bo", "approved", 1.8),
        review(2, "coderabbitai[bot]", "changes_requested", 1.5, human=False),
        review(2, "cy", "commented", 2),
        review(3, "ana", "approved", 3),
        review(4, "bo", "changes_requested", 2),
        review(4, "cy", "changes_requested", 3),
        review(6, "ana", "changes_requested", 3),
        review(7, "ana", "changes_requested", 3),
    ]
    releases = [
        release("1", 5),
        release("2", 10),
        release("3", 11, draft=True),
        release("4", 12, prerelease=True),
    ]
    return run(
        SETTINGS,
        tickets=tickets,
        ticket_statuses=STATUSES,
        commits=commits,
        prs=prs,
        reviews=reviews,
        releases=releases,
        forge_repos=[forge_repo()],
    )


def test_bug_densities_by_hand(marts: Marts) -> None:
    points = metric(marts, "Ops", S1, "bug_density_points")
    # B1, B2, B3 (B4 canceled, B5 next sprint) per 20 points / 100.
    assert (points["numerator"], points["denominator"], points["value"]) == (3.0, 0.2, 15.0)
    kloc = metric(marts, "Ops", S1, "bug_density_kloc")
    # Work commits with complete counts: 1000 + 400 + 100 lines; the bot's are not work.
    assert (kloc["numerator"], kloc["denominator"]) == (3.0, 1.5)
    assert kloc["value"] == pytest.approx(2.0)
    assert kloc["coverage"] == pytest.approx(3 / 4)
    prs = metric(marts, "Ops", S1, "bug_density_prs")
    assert (prs["numerator"], prs["denominator"], prs["value"]) == (3.0, 4.0, 0.75)
    # Exact Poisson interval of 3 events at 90 %: [0.8177, 7.7537], over 0.2 (hundreds of points).
    assert points["ci_low"] == pytest.approx(0.81769 / 0.2, abs=1e-3)
    assert points["ci_high"] == pytest.approx(7.75366 / 0.2, abs=1e-3)
    org = metric(marts, ORG, S1, "bug_density_points")
    assert org["numerator"] == 4.0  # B6 has no team


def test_review_rejections_count_human_reviews_only(marts: Marts) -> None:
    row = metric(marts, "Ops", S1, "review_rejection_rate")
    # Human-reviewed, finished, non-bot PRs: 1, 2, 3, 4. Rejected by a human: 1 and 4.
    assert (row["numerator"], row["denominator"], row["value"]) == (2.0, 4.0, 0.5)
    abandoned = metric(marts, "Ops", S1, "abandoned_pr_rate")
    assert (abandoned["numerator"], abandoned["denominator"]) == (1.0, 5.0)
    per_release = metric(marts, "Ops", S1, "rejections_per_release")
    # Change requests on finished non-bot PRs: 1 (PR 1) + 2 (PR 4); releases 1 and 2 (no draft, no pre-release).
    assert (per_release["numerator"], per_release["denominator"], per_release["value"]) == (
        3.0,
        2.0,
        1.5,
    )
    low, high = poisson_limits(0.9).row(3)[1:]
    assert (per_release["ci_low"], per_release["ci_high"]) == (
        pytest.approx(low / 2),
        pytest.approx(high / 2),
    )


def test_revert_rate_over_work_commits(marts: Marts) -> None:
    row = metric(marts, "Ops", S1, "revert_rate")
    assert (row["numerator"], row["denominator"]) == (1.0, 4.0)


def test_a_sprint_without_releases_has_no_rejections_per_release(marts: Marts) -> None:
    row = metric(marts, "Ops", "2026-03-16", "rejections_per_release")
    assert row["status"] == "insufficient_data"


def test_poisson_limits_match_the_exact_interval() -> None:
    limits = poisson_limits(0.95)
    # Garwood's table: 0 events [0, 3.689], 1 event [0.0253, 5.572], 10 events [4.795, 18.39].
    expected = {0: (0.0, 3.6889), 1: (0.0253, 5.5716), 10: (4.7954, 18.3904)}
    for k, (low, high) in expected.items():
        _, got_low, got_high = limits.row(k)
        assert (got_low, got_high) == (pytest.approx(low, abs=1e-3), pytest.approx(high, abs=1e-3))


def test_limits_for_some_counts_are_the_full_tables_rows() -> None:
    counts = (0, 1, 2, 37, 99, 100, 101)
    some = poisson_limits(0.9, counts)
    assert some["_k"].to_list() == [0, 1, 2, 37, 99, 100]
    assert_frame_equal(some, poisson_limits(0.9).filter(pl.col("_k").is_in(counts)))


def weekly_bugs(bugs: list[int], *, rollout: date) -> tuple[Settings, list[dict[str, object]]]:
    """A weekly cadence delivering 10 points in 2 issues a week, with `bugs[i]` bugs reported in week i."""
    settings = Settings(
        teams=(TeamSpec(**{**vars(OPS), "ai_rollout": rollout}),),  # type: ignore[arg-type]
        cadence_days=7,
        cadence_start=START.date(),
        min_sample=2,
        today=START.date() + timedelta(days=7 * len(bugs)),
        bootstrap_samples=400,
    )
    tickets: list[dict[str, object]] = []
    for week, count in enumerate(bugs):
        for n in range(2):
            tickets.append(ticket(f"W{week}-{n}", created=7 * week, points=5, category="done",
                                  resolved=7 * week + 1 + n, project="OPS"))  # fmt: skip
        for n in range(count):
            tickets.append(ticket(f"B{week}-{n}", created=7 * week + 2, type_category="bug", project="OPS"))  # fmt: skip
    return settings, tickets


def test_bug_density_change_against_the_baseline_mean() -> None:
    settings, tickets = weekly_bugs([1, 2, 1, 0, 3], rollout=date(2026, 3, 30))
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    row = metric(marts, "Ops", "2026-03-30", "bug_density_change")
    # Densities per 100 points: 10, 20, 10, 0 before the rollout (mean 10); 30 after: +200 %.
    assert (row["numerator"], row["denominator"], row["value"]) == (30.0, 10.0, 2.0)
    low, high = bootstrap_ratio_to_mean(
        30.0, np.array([10.0, 20.0, 10.0, 0.0]), samples=400, confidence=0.9, seed=0
    )
    assert low is not None and high is not None
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low - 1), pytest.approx(high - 1))


def test_bug_density_change_needs_a_baseline_with_bugs_and_enough_sprints() -> None:
    settings, tickets = weekly_bugs([0, 0, 0, 2], rollout=date(2026, 3, 23))
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    row = metric(marts, "Ops", "2026-03-23", "bug_density_change")
    assert row["status"] == "insufficient_data" and "the baseline mean is 0" in row["note"]
    settings, tickets = weekly_bugs([1, 2, 3], rollout=date(2026, 3, 16))
    marts = run(settings, tickets=tickets, ticket_statuses=STATUSES)
    row = metric(marts, "Ops", "2026-03-16", "bug_density_change")
    assert row["status"] == "insufficient_data" and "baseline has 2 sprints" in row["note"]
