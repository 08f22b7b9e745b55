"""Metrics core: sprint calendar, identity resolution, team credit, AI ratios with intervals, status rules, SQL reproducibility."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metrics import ai
from metrics.calendar import assign_sprint, build_calendar, cadence
from metrics.facts import fact_commits
from metrics.marts import finalise
from metrics.model import ORG, Member, PersonSpec, Settings, TeamSpec
from metrics.people import membership, resolve, team_of

DAY = date(2026, 3, 2)  # a Monday


def ts(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=day, hours=hour - 12 + 12)


# --------------------------------------------------------------------------- calendar


def test_cadence_is_half_open_and_states_follow_today() -> None:
    cal = cadence("T", DAY, 7, until=date(2026, 3, 17), today=date(2026, 3, 17)).collect()
    assert cal["sprint_id"].to_list() == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert cal["sprint_state"].to_list() == ["closed", "closed", "active"]
    assert cal["sprint_end"][0] == datetime(2026, 3, 9, tzinfo=UTC) == cal["sprint_start"][1]


def test_tracker_sprints_end_when_completed_and_facts_fall_in_the_right_one() -> None:
    sprints = pl.LazyFrame(
        {
            "source": ["jira"] * 3,
            "board_id": ["7", "7", "8"],
            "sprint_id": ["1", "2", "9"],
            "name": ["S1", "S2", "other board"],
            "state": ["closed", "active", "closed"],
            "start_at": [
                datetime(2026, 3, 2, tzinfo=UTC),
                datetime(2026, 3, 16, tzinfo=UTC),
                datetime(2026, 3, 2, tzinfo=UTC),
            ],
            "end_at": [
                datetime(2026, 3, 16, tzinfo=UTC),
                datetime(2026, 3, 30, tzinfo=UTC),
                datetime(2026, 3, 16, tzinfo=UTC),
            ],
            "completed_at": [datetime(2026, 3, 13, 17, tzinfo=UTC), None, None],
            "is_deleted": [False, False, False],
        }
    )
    team = TeamSpec("Web", sprint_source="jira", sprint_board="7")
    cal = build_calendar(
        sprints,
        Settings(teams=(team,), cadence_days=14, cadence_start=DAY),
        first_activity=DAY,
        today=date(2026, 3, 20),
    )
    web = cal.filter(pl.col("team") == "Web").collect()
    assert web["sprint_id"].to_list() == ["1", "2"]
    assert web["sprint_end"][0] == datetime(2026, 3, 13, 17, tzinfo=UTC)  # completed early
    facts = pl.LazyFrame(
        {
            "team": ["Web", "Web", "Web", "Web", None],
            "at": [datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 13, 16, tzinfo=UTC), datetime(2026, 3, 14, tzinfo=UTC),
                   datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)],
        }
    )  # fmt: skip
    got = assign_sprint(facts, cal, team_col="team", time_col="at").collect()
    # Start inclusive, end exclusive; the gap between a completed sprint and the next is no sprint.
    assert got["sprint_id"].to_list() == ["1", "1", None, "2", None]


# --------------------------------------------------------------------------- identities


def observed(*identities: str) -> pl.DataFrame:
    return pl.DataFrame({"identity": list(identities), "kind": ["email"] * len(identities), "seen": [1] * len(identities), "name": [None] * len(identities)},
                        schema={"identity": pl.String, "kind": pl.String, "seen": pl.Int64, "name": pl.String})  # fmt: skip


def test_identities_join_through_config_mailmap_noreply_and_accounts_but_not_bots() -> None:
    s = Settings(
        people=(PersonSpec("Ana Lima", ("ana@acme.example", "5b10ac")),),
        teams=(TeamSpec("Web", members=(Member("ana@acme.example"), Member("bo@acme.example"))),),
    )
    links = pl.DataFrame(
        {
            "a": ["ana@home.example", "12345+ana-l@users.noreply.github.com", "bot@x"],
            "b": ["ana@acme.example", "ana@acme.example", "bo@acme.example"],
        }
    )
    seen = observed("ANA@home.example", "12345+ana-l@users.noreply.github.com", "ana-l", "bo@acme.example", "carl@acme.example",
                    "49699333+dependabot[bot]@users.noreply.github.com", "bot@x")  # fmt: skip
    result = resolve(
        s, seen, links, bots=["bot@x", "49699333+dependabot[bot]@users.noreply.github.com"]
    )
    mapping = dict(
        zip(result.identity_map["identity"], result.identity_map["person_id"], strict=True)
    )
    assert mapping["ana@home.example"] == mapping["ana-l"] == mapping["5b10ac"] == "Ana Lima"
    assert mapping["bo@acme.example"] == "bo@acme.example"
    assert "bot@x" not in mapping and "carl@acme.example" not in mapping
    unmatched = result.unmatched["identity"].to_list()
    assert unmatched == ["carl@acme.example"]


def test_an_identity_joining_two_configured_people_is_reported() -> None:
    s = Settings(people=(PersonSpec("A", ("a@x",)), PersonSpec("B", ("b@x",))))
    result = resolve(s, observed("a@x", "b@x"), pl.DataFrame({"a": ["a@x"], "b": ["b@x"]}), bots=[])
    assert len(result.conflicts) == 1


def test_team_credit_follows_membership_dates_and_config_order() -> None:
    s = Settings(
        teams=(
            TeamSpec("Web", members=(Member("ana@x", end=date(2026, 3, 10)),)),
            TeamSpec("Pay", members=(Member("ana@x", start=date(2026, 3, 10)),)),
        )
    )
    ids = resolve(
        s,
        observed("ana@x"),
        pl.DataFrame({"a": [], "b": []}, schema={"a": pl.String, "b": pl.String}),
        bots=[],
    ).identity_map
    members = membership(s, ids)
    facts = pl.LazyFrame({"k": [1, 2, 3], "person_id": ["ana@x"] * 3,
                          "at": [datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 10, 12, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)]})  # fmt: skip
    got = (
        team_of(facts, members.lazy(), key=["k"], person_col="person_id", time_col="at")
        .sort("k")
        .collect()
    )
    assert got["team"].to_list() == ["Web", "Web", "Pay"]  # on the 10th both apply: Web comes first


# --------------------------------------------------------------------------- facts and AI ratios


def commit_rows(specs: list[tuple[str, str | None, int, bool]]) -> pl.DataFrame:
    """(author email, ai_mode, added lines, in default history) per commit, all on day 1."""
    return pl.DataFrame(
        {
            "repo": ["web"] * len(specs),
            "sha": [f"{i:040x}" for i in range(len(specs))],
            "authored_at": [ts(1)] * len(specs),
            "committed_at": [ts(1)] * len(specs),
            "author_email": [s[0] for s in specs],
            "author_canonical_email": [s[0] for s in specs],
            "is_merge": [False] * len(specs),
            "in_default_history": [s[3] for s in specs],
            "is_reachable": [True] * len(specs),
            "ai_tool": [
                {"agent": "devin", "assisted": "claude_code", "bot": "dependabot"}.get(s[1] or "")
                for s in specs
            ],
            "ai_mode": [s[1] for s in specs],
            "ai_via_pr": [None] * len(specs),
            "is_revert": [False] * len(specs),
            "stats_complete": [True] * len(specs),
            "additions": [s[2] for s in specs],
            "deletions": [0] * len(specs),
            "excluded_additions": [0] * len(specs),
            "excluded_deletions": [0] * len(specs),
        },
        schema_overrides={"ai_tool": pl.String, "ai_mode": pl.String, "ai_via_pr": pl.String},
    )


TEAMS = (TeamSpec("Web", members=(Member("a@x"), Member("b@x"), Member("c@x")), repos=("web",)),)
SETTINGS = Settings(
    teams=TEAMS,
    cadence_days=7,
    cadence_start=DAY,
    min_sample=3,
    confidence=0.95,
    today=date(2026, 3, 20),
)
NO_TRAILERS = pl.LazyFrame(
    schema={
        "repo": pl.String,
        "sha": pl.String,
        "position": pl.Int16,
        "key": pl.String,
        "value": pl.String,
    }
)


def facts_for(
    commits: pl.DataFrame, s: Settings = SETTINGS
) -> tuple[pl.LazyFrame, pl.DataFrame, pl.DataFrame]:
    cal = build_calendar(
        pl.LazyFrame(schema={"source": pl.String, "board_id": pl.String}),
        s,
        first_activity=DAY,
        today=s.today or DAY,
    ).collect()
    ids = resolve(
        s,
        observed(*commits["author_email"].unique().to_list()),
        pl.DataFrame(schema={"a": pl.String, "b": pl.String}),
        bots=[],
    ).identity_map
    members = membership(s, ids)
    facts = fact_commits(commits.lazy(), NO_TRAILERS, ids.lazy(), members.lazy(), cal.lazy(), s)
    return facts, cal, members


def test_ai_ratios_match_hand_computed_values() -> None:
    commits = commit_rows([
        ("a@x", "assisted", 30, True), ("b@x", None, 60, True), ("c@x", "agent", 10, True),
        ("a@x", None, 100, True), ("b@x", None, 0, True),
        ("dependabot@x", "bot", 500, True),   # bots are not work
        ("a@x", "assisted", 999, False),      # not in the default branch's history
    ])  # fmt: skip
    facts, _, _ = facts_for(commits)
    got = ai.commit_metrics(facts, 0.95).filter(pl.col("team") == "Web").collect().sort("metric_id")
    by_id = {r["metric_id"]: r for r in got.iter_rows(named=True)}
    assert (by_id["acr_commits"]["numerator"], by_id["acr_commits"]["denominator"]) == (2, 5)
    assert by_id["acr_commits"]["value"] == pytest.approx(0.4)
    assert by_id["agentic_commit_rate"]["value"] == pytest.approx(0.2)
    assert (by_id["acr_lines"]["numerator"], by_id["acr_lines"]["denominator"]) == (40, 200)
    # Wilson 95 % for 2/5 (reference values: 0.1176, 0.7693).
    assert by_id["acr_commits"]["ci_low"] == pytest.approx(0.1176, abs=1e-4)
    assert by_id["acr_commits"]["ci_high"] == pytest.approx(0.7693, abs=1e-4)
    # Linearised interval of a ratio of sums: R = 0.2; sum (y - R x)^2 = 24^2+12^2+8^2+20^2+0 = 1184;
    # x̄ = 40; se = sqrt(1184 / (5*4*1600)) = 0.19235; z = 1.95996.
    assert by_id["acr_lines"]["ci_low"] == pytest.approx(
        max(0.0, 0.2 - 1.95996 * 0.19235), abs=1e-4
    )
    assert by_id["acr_lines"]["ci_high"] == pytest.approx(0.2 + 1.95996 * 0.19235, abs=1e-4)
    org = ai.commit_metrics(facts, 0.95).filter(pl.col("team") == ORG).collect()
    assert org.filter(pl.col("metric_id") == "acr_commits")["value"].item() == pytest.approx(0.4)


def test_agent_commits_are_credited_to_the_initiating_human() -> None:
    commits = commit_rows([("noreply@anthropic.com", "agent", 10, True)]).with_columns(
        pl.lit("mobile").alias("repo")
    )
    trailers = pl.LazyFrame({"repo": ["mobile"], "sha": [f"{0:040x}"], "position": [0], "key": ["co-authored-by"], "value": ["Bea <B@x>"]},
                            schema_overrides={"position": pl.Int16})  # fmt: skip
    cal = build_calendar(
        pl.LazyFrame(schema={"source": pl.String, "board_id": pl.String}),
        SETTINGS,
        first_activity=DAY,
        today=date(2026, 3, 20),
    ).collect()
    ids = resolve(
        SETTINGS,
        observed("b@x"),
        pl.DataFrame(schema={"a": pl.String, "b": pl.String}),
        bots=["noreply@anthropic.com"],
    ).identity_map
    facts = fact_commits(
        commits.lazy(), trailers, ids.lazy(), membership(SETTINGS, ids).lazy(), cal.lazy(), SETTINGS
    ).collect()
    assert facts.select("person_id", "team", "team_via").row(0) == (None, "Web", "initiator")


# --------------------------------------------------------------------------- statuses


def test_small_teams_are_suppressed_and_small_samples_insufficient() -> None:
    small = Settings(teams=(TeamSpec("Duo", members=(Member("a@x"), Member("b@x"))),), cadence_days=7, cadence_start=DAY,
                     min_sample=3, today=date(2026, 3, 20))  # fmt: skip
    commits = commit_rows([("a@x", "assisted", 10, True), ("b@x", None, 10, True)])
    facts, cal, members = facts_for(commits, small)
    out = finalise(ai.commit_metrics(facts, 0.9).collect(), cal, members, small, ("ai",))
    duo = out.filter((pl.col("team") == "Duo") & (pl.col("metric_id") == "acr_commits"))
    assert set(duo["status"].to_list()) == {"suppressed"}
    assert duo["value"].null_count() == duo.height and duo["numerator"].null_count() == duo.height
    org = out.filter(
        (pl.col("team") == ORG)
        & (pl.col("metric_id") == "acr_commits")
        & (pl.col("sprint_id") == "2026-03-02")
    )
    assert org.select("status", "numerator", "denominator").row(0) == (
        "insufficient_data",
        1.0,
        2.0,
    )
    # Every started sprint has every metric of the family, with or without data.
    assert out.filter(pl.col("team") == ORG).group_by("sprint_id").len()[
        "len"
    ].unique().to_list() == [out["metric_id"].n_unique()]
    assert "acr_prs" in out["metric_id"].to_list()


# --------------------------------------------------------------------------- properties


modes = st.sampled_from([None, "assisted", "agent", "bot"])
commit_specs = st.lists(
    st.tuples(
        st.sampled_from(["a@x", "b@x", "c@x", "z@x"]), modes, st.integers(0, 500), st.booleans()
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(commit_specs)
def test_ratios_stay_in_range_and_intervals_contain_the_value(
    specs: list[tuple[str, str | None, int, bool]],
) -> None:
    facts, _, _ = facts_for(commit_rows(specs))
    got = ai.commit_metrics(facts, 0.9).collect().drop_nulls("value")
    assert got["value"].is_between(0, 1).all()
    bounded = got.drop_nulls("ci_low")
    assert (bounded["ci_low"] <= bounded["value"] + 1e-12).all() and (
        bounded["value"] <= bounded["ci_high"] + 1e-12
    ).all()


@settings(max_examples=40, deadline=None)
@given(commit_specs, st.lists(st.integers(0, 900), min_size=1, max_size=10))
def test_adding_bot_activity_never_changes_human_metrics(
    specs: list[tuple[str, str | None, int, bool]], bots: list[int]
) -> None:
    base, _, _ = facts_for(commit_rows(specs))
    more, _, _ = facts_for(commit_rows(specs + [("dependabot@x", "bot", n, True) for n in bots]))
    assert_frame_equal(
        ai.commit_metrics(base, 0.9).collect().sort("team", "sprint_id", "metric_id"),
        ai.commit_metrics(more, 0.9).collect().sort("team", "sprint_id", "metric_id"),
    )


@settings(max_examples=30, deadline=None)
@given(commit_specs)
def test_relabelling_teams_permutes_results_and_recomputation_is_deterministic(
    specs: list[tuple[str, str | None, int, bool]],
) -> None:
    renamed = Settings(teams=(TeamSpec("Renamed", members=TEAMS[0].members, repos=("web",)),), cadence_days=7, cadence_start=DAY,
                       min_sample=3, confidence=0.95, today=date(2026, 3, 20))  # fmt: skip
    first, _, _ = facts_for(commit_rows(specs))
    again, _, _ = facts_for(commit_rows(specs))
    other, _, _ = facts_for(commit_rows(specs), renamed)
    a = ai.commit_metrics(first, 0.9).collect().sort("team", "sprint_id", "metric_id")
    assert_frame_equal(
        a, ai.commit_metrics(again, 0.9).collect().sort("team", "sprint_id", "metric_id")
    )
    b = (
        ai.commit_metrics(other, 0.9)
        .collect()
        .with_columns(pl.col("team").replace({"Renamed": "Web"}))
        .sort("team", "sprint_id", "metric_id")
    )
    assert_frame_equal(a, b)
