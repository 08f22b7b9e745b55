"""Flow metrics: cycle time and its parts, PR size, throughput per engineer, and the quantile interval."""

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metrics import flow
from metrics.marts import FAMILIES, compute
from metrics.model import ORG, Member, PersonSpec, Settings, TeamSpec
from tests.metrics.raw_tables import at, make_inputs

SPRINT = "2026-03-02"
SETTINGS = Settings(
    teams=(TeamSpec("Web", members=(Member("ana"), Member("bo"), Member("cy")), repos=("web",)),),
    cadence_days=7,
    cadence_start=date(2026, 3, 2),
    min_sample=3,
    confidence=0.9,
    today=date(2026, 3, 20),
)
FORGE = [{"repo": "acme/web", "git_repo": "web"}]


def pr(number: int, author: str, created: datetime, merged: datetime | None, *,
       first_commit: datetime | None = None, size: tuple[int | None, int | None] = (10, 0),
       **extra: Any) -> dict[str, Any]:  # fmt: skip
    state = "merged" if merged else extra.pop("state", "open")
    return {"number": number, "forge_id": f"PR_{number}", "author_login": author, "state": state,
            "created_at": created, "updated_at": merged or created, "merged_at": merged,
            "closed_at": merged, "first_commit_at": first_commit, "additions": size[0],
            "deletions": size[1], "merge_commit_sha": None} | extra  # fmt: skip


def review(number: int, who: str, when: datetime, *, human: bool = True, state: str = "approved") -> dict[str, Any]:  # fmt: skip
    return {"pr_number": number, "review_id": f"{number}-{who}-{when:%H%M}", "reviewer_login": who,
            "reviewer_type": "user" if human else "bot", "state": state, "submitted_at": when,
            "is_human": human, "ai_mode": None if human else "review"}  # fmt: skip


# The timeline, in hours after Monday 2 March 2026 00:00 UTC (sprint 2026-03-02 is one week).
#   PR  author  first commit  opened  first human review  merged   cycle coding pickup review  size
#   1   ana      0            10      12 (bot at 10:30)    20       20    10     2      8       40
#   2   bo       5             6      16 (bot 7, pending 8) 30      25     1    10     14      100
#   3   cy       -            20      21                   24        4     -     1      3        8   no commit times
#   4   ana     40 (rebased)  30      35                   50       20     0     5     15      250  commits newer than the PR
#   5   agent   50            51      - (bot only)         60       10     1     -      -       12  agent PR, team by repository
#   6   dependabot 0           0      -                    100      bot: never counted
#   7   bo      58            60      70 (after the merge) 62        4     2     -      -       20
#   8   cy      open draft; 9 ana closed without merging: activity, not merged
PRS = [
    pr(1, "ana", at(0, 10), at(0, 20), first_commit=at(0, 0), size=(30, 10)),
    pr(2, "bo", at(0, 6), at(0, 30), first_commit=at(0, 5), size=(60, 40)),
    pr(3, "cy", at(0, 20), at(0, 24), size=(8, 0)),
    pr(4, "ana", at(0, 30), at(0, 50), first_commit=at(0, 40), size=(200, 50)),
    pr(5, "copilot-swe-agent[bot]", at(0, 51), at(0, 60), first_commit=at(0, 50), size=(12, 0),
       author_type="bot", ai_mode="agent", ai_tool="copilot_agent"),
    pr(6, "dependabot[bot]", at(0, 0), at(0, 100), first_commit=at(0, 0), size=(500, 500),
       author_type="bot", ai_mode="bot", ai_tool="dependabot"),
    pr(7, "bo", at(0, 60), at(0, 62), first_commit=at(0, 58), size=(15, 5)),
    pr(8, "cy", at(0, 70), None, first_commit=at(0, 69), is_draft=True),
    pr(9, "ana", at(0, 71), None, first_commit=at(0, 70), state="closed", closed_at=at(0, 80)),
]  # fmt: skip
REVIEWS = [
    review(1, "coderabbitai[bot]", at(0, 10, 30), human=False, state="commented"),
    review(1, "bo", at(0, 12)),
    review(2, "copilot-pull-request-reviewer[bot]", at(0, 7), human=False, state="commented"),
    review(2, "ana", at(0, 8), state="pending"),
    review(2, "cy", at(0, 16), state="changes_requested"),
    review(3, "ana", at(0, 21)),
    review(4, "cy", at(0, 35)),
    review(5, "coderabbitai[bot]", at(0, 52), human=False, state="commented"),
    review(7, "ana", at(0, 70)),
]


def metrics(prs: Sequence[Mapping[str, Any]] = PRS, reviews: Sequence[Mapping[str, Any]] = REVIEWS,
            s: Settings = SETTINGS, commits: Sequence[Mapping[str, Any]] = ()) -> pl.DataFrame:  # fmt: skip
    inputs = make_inputs(pull_requests=prs, pr_reviews=reviews, forge_repos=FORGE, commits=commits)
    marts = compute(inputs, s, families={"flow": FAMILIES["flow"]})
    return marts.tables["sprint_metrics"]


def test_hand_computed_sprint() -> None:
    out = metrics().filter((pl.col("team") == "Web") & (pl.col("sprint_id") == SPRINT))
    got = out.select("metric_id", "value", "numerator", "denominator", "ci_low", "ci_high",
                     "coverage", "status", "note").sort("metric_id")  # fmt: skip
    half = 1.6448536 * math.sqrt(1 / 3) / math.sqrt(3)  # z · sd([2, 2, 1]) / √3
    expected = pl.DataFrame(
        [
            # coding: [0, 1, 1, 2, 10]; order statistics 1 and 5 bound the median at 90 %.
            ("coding_time_p50", 1.0, 1.0, 5.0, 0.0, 10.0, 4 / 6, "ok",
             "PRs without commit times, left out: 1; PRs with commits newer than the PR, coding time 0: 1"),
            # cycle: [4, 4, 10, 20, 20, 25]; median 15 in [x(1), x(6)].
            ("cycle_time_p50", 15.0, 15.0, 6.0, 4.0, 25.0, 4 / 6, "ok",
             "PRs without commit times, cycle from PR creation: 1; PRs with commits newer than the PR, cycle from PR creation: 1"),
            # p85 = 20 + 0.25 · 5; lower bound x(4) = 20; six PRs cannot bound the tail from above.
            ("cycle_time_p85", 21.25, 21.25, 6.0, 20.0, None, 4 / 6, "ok",
             "PRs without commit times, cycle from PR creation: 1; PRs with commits newer than the PR, cycle from PR creation: 1"),
            # pickup: [1, 2, 5, 10] (bot and pending reviews ignored); four values bound neither side.
            ("pickup_time_p50", 3.5, 3.5, 4.0, None, None, 4 / 6, "ok",
             "merged PRs without a human review before the merge, left out: 2"),
            ("pr_size_p50", 30.0, 30.0, 6.0, 8.0, 250.0, 1.0, "ok", None),
            ("review_time_p50", 11.0, 11.0, 4.0, None, None, 4 / 6, "ok",
             "merged PRs without a human review before the merge, left out: 2"),
            # 6 merged PRs (the agent's included) over ana, bo, cy; per engineer [2, 2, 1].
            ("throughput_per_engineer", 2.0, 6.0, 3.0, 2.0 - half, 2.0 + half, 5 / 6, "ok",
             "merged PRs of no configured person (agents credited by repository, unknown authors): 1"),
        ],
        schema=got.schema,
        orient="row",
    )  # fmt: skip
    assert_frame_equal(got, expected)
    # Everything happened in the one team: the organisation sees the same numbers.
    org = metrics().filter((pl.col("team") == ORG) & (pl.col("sprint_id") == SPRINT))
    assert_frame_equal(
        org.select("metric_id", "value", "ci_low", "ci_high").sort("metric_id"),
        got.select("metric_id", "value", "ci_low", "ci_high"),
    )


def test_bot_reviews_never_count_as_pickup() -> None:
    # Without the human review on PR 1, its pickup is unknown, not the bot's half hour.
    out = metrics(reviews=[r for r in REVIEWS if not (r["pr_number"] == 1 and r["is_human"])])
    pickup = out.filter((pl.col("team") == "Web") & (pl.col("sprint_id") == SPRINT)
                        & (pl.col("metric_id") == "pickup_time_p50"))  # fmt: skip
    assert pickup.select("value", "denominator").row(0) == (5.0, 3.0)  # [1, 5, 10]


def test_small_samples_are_insufficient_and_later_sprints_have_rows() -> None:
    out = metrics(prs=PRS[:2], reviews=REVIEWS[:2])
    web = out.filter((pl.col("team") == "Web") & (pl.col("sprint_id") == SPRINT))
    assert set(web["status"].to_list()) == {"insufficient_data"}
    assert web["value"].null_count() == web.height
    cycle = web.filter(pl.col("metric_id") == "cycle_time_p50")
    assert cycle.select("numerator", "denominator").row(0) == (22.5, 2.0)  # kept for the record
    later = out.filter((pl.col("team") == "Web") & (pl.col("sprint_id") == "2026-03-09"))
    assert later.height == 7 and set(later["status"].to_list()) == {"insufficient_data"}


def test_active_engineers_come_from_commits_and_prs() -> None:
    commits = [{"sha": f"{i:040x}", "committed_at": at(1, i), "author_email": e}
               for i, e in enumerate(["dee@acme.example", "ana@acme.example", "zed@acme.example"])]  # fmt: skip
    s = Settings(
        teams=(TeamSpec("Web", members=(*SETTINGS.teams[0].members, Member("dee@acme.example")),
                        repos=("web",)),),
        people=(PersonSpec("ana", ("ana", "ana@acme.example")),),
        cadence_days=7, cadence_start=date(2026, 3, 2), min_sample=3, confidence=0.9,
        today=date(2026, 3, 20),
    )  # fmt: skip
    row = metrics(s=s, commits=commits).filter(
        (pl.col("team") == "Web") & (pl.col("sprint_id") == SPRINT)
        & (pl.col("metric_id") == "throughput_per_engineer")
    )  # fmt: skip
    # dee only committed, ana's commit is ana's, zed is nobody's: 4 engineers for the 6 merged PRs.
    assert row.select("numerator", "denominator").row(0) == (6.0, 4.0)


# --------------------------------------------------------------------------- quantile intervals


def binomial_cdf(k: int, n: int, q: float) -> float:
    return sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize(("q", "confidence"), [(0.5, 0.9), (0.5, 0.95), (0.85, 0.9)])
def test_rank_table_is_the_exact_order_statistic_interval(q: float, confidence: float) -> None:
    table = flow.rank_table(q, confidence)
    alpha = (1 - confidence) / 2
    for n, lo, hi in table.head(60).iter_rows():
        # lo: the largest rank whose lower tail is at most alpha/2 (None when even rank 1 exceeds it).
        lows = [r for r in range(1, n + 1) if binomial_cdf(r - 1, n, q) <= alpha]
        assert lo == (max(lows) if lows else None), (n, "lo")
        highs = [r for r in range(1, n + 1) if binomial_cdf(r - 1, n, q) >= 1 - alpha]
        assert hi == (min(highs) if highs else None), (n, "hi")
        if lo is not None and hi is not None:
            coverage = binomial_cdf(hi - 1, n, q) - binomial_cdf(lo - 1, n, q)
            assert coverage >= confidence - 1e-12


def test_ranks_for_some_sample_sizes_are_the_full_tables_rows() -> None:
    sizes = (1, 2, 7, 30, 31, 250, 999, 1000, 1001)
    some = flow.rank_table(0.85, 0.9, ns=sizes)
    full = flow.rank_table(0.85, 0.9)
    assert some["_n"].to_list() == [n for n in sizes if n <= flow.EXACT_RANKS]
    assert_frame_equal(some, full.filter(pl.col("_n").is_in(sizes)))


def test_reference_intervals_for_the_median() -> None:
    table = flow.rank_table(0.5, 0.95)
    by_n = {n: (lo, hi) for n, lo, hi in table.iter_rows()}
    assert by_n[10] == (2, 9)  # the textbook 95 % interval for n = 10: x(2) .. x(9), 97.9 %
    assert by_n[100] == (40, 61)
    assert by_n[5] == (None, None)


def test_large_samples_use_the_normal_approximation_within_a_rank() -> None:
    exact = flow.rank_table(0.85, 0.9, size=1200).filter(pl.col("_n") > flow.EXACT_RANKS)
    lo, hi = flow._approx_ranks(pl.col("_n"), 0.85, 0.9)
    approx = exact.with_columns(lo.alias("a_lo"), hi.alias("a_hi"))
    assert ((approx["a_lo"] - approx["_lo"]).abs() <= 1).all()
    assert ((approx["a_hi"] - approx["_hi"]).abs() <= 1).all()


durations = st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(durations, st.sampled_from([0.5, 0.85]))
def test_quantile_interval_contains_the_quantile(values: list[float], q: float) -> None:
    facts = pl.LazyFrame({"team": ["T"] * len(values), "sprint_id": ["S"] * len(values),
                          "org_sprint_id": ["S"] * len(values), "h": values})  # fmt: skip
    grouped = flow.by_team_and_org(facts, flow.quantile_aggs("h", q))
    got = flow.quantile_rows(grouped, "cycle_time_p50", "h", q, 0.9).collect()
    for value, low, high, sample in got.select("value", "ci_low", "ci_high", "sample").iter_rows():
        assert sample == len(values)
        assert value == pytest.approx(float(pl.Series(values).quantile(q, "linear") or 0))
        assert low is None or low <= value + 1e-9
        assert high is None or value <= high + 1e-9


# --------------------------------------------------------------------------- properties

pr_specs = st.lists(
    st.tuples(
        st.sampled_from(["ana", "bo", "cy", "zed"]),
        st.integers(0, 120),  # opened, hours after T0
        st.one_of(st.none(), st.integers(-30, 30)),  # first commit relative to opening
        st.one_of(st.none(), st.integers(0, 40)),  # first human review after opening
        st.integers(0, 60),  # merged after opening
        st.sampled_from([None, "assisted", "agent"]),
    ),
    min_size=1,
    max_size=25,
)


def spec_rows(specs: list[tuple[str, int, int | None, int | None, int, str | None]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    prs, reviews = [], []
    for i, (who, opened, first, reviewed, merged, mode) in enumerate(specs, start=1):
        created = at(0, opened)
        prs.append(pr(i, who, created, at(0, opened + merged), ai_mode=mode,
                      first_commit=None if first is None else at(0, opened + first)))  # fmt: skip
        if reviewed is not None:
            reviews.append(review(i, "cy" if who != "cy" else "bo", at(0, opened + reviewed)))
    return prs, reviews


def flow_rows(prs: list[dict[str, Any]], reviews: list[dict[str, Any]], s: Settings = SETTINGS) -> pl.DataFrame:  # fmt: skip
    return (
        metrics(prs, reviews, s)
        .select("team", "sprint_id", "metric_id", "value", "numerator", "denominator", "ci_low",
                "ci_high", "coverage", "status", "note")
        .sort("team", "sprint_id", "metric_id")
    )  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(pr_specs, st.lists(st.tuples(st.integers(0, 120), st.integers(0, 60)), max_size=8))
def test_bot_prs_and_bot_reviews_never_change_flow_metrics(
    specs: list[tuple[str, int, int | None, int | None, int, str | None]],
    bots: list[tuple[int, int]],
) -> None:
    prs, reviews = spec_rows(specs)
    base = flow_rows(prs, reviews)
    bot_prs = [pr(1000 + i, "renovate[bot]", at(0, o), at(0, o + m), author_type="bot", ai_mode="bot",
                  first_commit=at(0, o)) for i, (o, m) in enumerate(bots)]  # fmt: skip
    bot_reviews = [review(p["number"], "coderabbitai[bot]", at(0, 1), human=False) for p in prs]
    assert_frame_equal(base, flow_rows(prs + bot_prs, reviews + bot_reviews))


@settings(max_examples=25, deadline=None)
@given(pr_specs)
def test_durations_are_never_negative_and_parts_add_up(
    specs: list[tuple[str, int, int | None, int | None, int, str | None]],
) -> None:
    prs, reviews = spec_rows(specs)
    inputs = make_inputs(pull_requests=prs, pr_reviews=reviews, forge_repos=FORGE)
    facts = compute(inputs, SETTINGS, families={"flow": FAMILIES["flow"]}).tables["mart_prs"].lazy()
    d = flow.pr_durations(facts).collect()
    for column in ("cycle_hours", "coding_hours", "pickup_hours", "review_hours"):
        assert (d[column].drop_nulls() >= 0).all()
    # With commit times, no rewrite and a review before the merge the three parts make the cycle.
    whole = d.filter(pl.col("has_commit_times") & ~pl.col("commits_after_open")
                     & pl.col("reviewed_before_merge"))  # fmt: skip
    parts = whole["coding_hours"] + whole["pickup_hours"] + whole["review_hours"]
    assert ((parts - whole["cycle_hours"]).abs() < 1e-9).all()


@settings(max_examples=20, deadline=None)
@given(pr_specs)
def test_relabelling_teams_permutes_results_and_recomputation_is_deterministic(
    specs: list[tuple[str, int, int | None, int | None, int, str | None]],
) -> None:
    prs, reviews = spec_rows(specs)
    first = flow_rows(prs, reviews)
    assert_frame_equal(first, flow_rows(prs, reviews))
    renamed = Settings(teams=(TeamSpec("Renamed", members=SETTINGS.teams[0].members, repos=("web",)),),
                       cadence_days=7, cadence_start=date(2026, 3, 2), min_sample=3, confidence=0.9,
                       today=date(2026, 3, 20))  # fmt: skip
    other = (
        flow_rows(prs, reviews, renamed)
        .with_columns(pl.col("team").replace({"Renamed": "Web"}))
        .sort("team", "sprint_id", "metric_id")
    )
    assert_frame_equal(first, other)
