"""DORA metrics: deployments, incidents, changes and recoveries from hand-written timelines."""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from dagster_project.config import Config, MetricsConfig, metrics_settings
from ingestion.warehouse import connect
from metrics import dora
from metrics.marts import FAMILIES, Marts, compute, write
from metrics.model import ORG, Member, Settings, TeamSpec
from tests.metrics.raw_tables import at, make_inputs, sha

S1, S2, S3 = "2026-03-02", "2026-03-09", "2026-03-16"
WEB = TeamSpec("Web", members=(Member("ana"), Member("bo"), Member("cy")), repos=("web", "app"),
               projects=("WEB",))  # fmt: skip
SETTINGS = Settings(teams=(WEB,), cadence_days=7, cadence_start=date(2026, 3, 2), min_sample=2,
                    confidence=0.9, today=date(2026, 3, 20))  # fmt: skip

# The story, day by day (day 0 = Monday 2 March 2026; one-week sprints; Web owns web and app).
#   web commits on main: c0 day -3 (shipped by D0 on day -1, the first record), c1 day 0 10:00 (PR 1 squashed),
#     c2 day 1 10:00 (PR 2), cbot day 1 11:00 (a dependency bump), c3 day 2 09:00 (pushed without
#     a PR), c4 day 4 10:00 (PR 3, a hotfix), c5 day 9 10:00 (PR 4)
#   D1 day 0 ships c1, succeeds 12:30; incident WEB-1 opens 20:00 (7.5 h later), resolved day 1 08:00
#   D2 day 2 12:00 fails at 12:20; D3 13:00 redeploys c3, succeeds 13:30 (rework: after a failure)
#   D4 day 4 ships the hotfix, succeeds 14:30 (rework: ships a fix)
#   D5 day 1 to staging: not production, ignored
#   D6 day 9 ships c5, 12:30; D7 day 10 deploys c4 again (a rollback); D8 day 10 never finishes;
#   D9 day 11 fails and is not recovered
#   app has no deployment records: its releases R1 (day 1) and R2 (day 5) stand in; R3 is a draft,
#     R4 a prerelease
#   tools (no team) D-T1 day 2 succeeds 10:00; incident OPS-1 (no team's project) opens 11:00
C = {name: sha(name) for name in ("c0", "c1", "c2", "cbot", "c3", "c4", "c5")}
COMMITS = [
    {"sha": C["c0"], "committed_at": at(-3, 10)},
    {"sha": C["c1"], "committed_at": at(0, 10)},
    {"sha": C["c2"], "committed_at": at(1, 10), "author_email": "bo@acme.example"},
    {"sha": C["cbot"], "committed_at": at(1, 11), "author_email": "dependabot[bot]@users.noreply.github.com",
     "ai_mode": "bot", "ai_tool": "dependabot"},
    {"sha": C["c3"], "committed_at": at(2, 9), "author_email": "bo@acme.example"},
    {"sha": C["c4"], "committed_at": at(4, 10), "author_email": "cy@acme.example"},
    {"sha": C["c5"], "committed_at": at(9, 10)},
]  # fmt: skip


def pr(number: int, author: str, created: datetime, merged: datetime, merge: str, *,
       first_commit: datetime | None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"number": number, "forge_id": f"PR_{number}", "author_login": author, "created_at": created,
            "updated_at": merged, "merged_at": merged, "closed_at": merged, "first_commit_at": first_commit,
            "merge_commit_sha": merge} | extra  # fmt: skip


PRS = [
    pr(1, "ana", at(0, 4), at(0, 10), C["c1"], first_commit=at(0, 2)),
    pr(2, "bo", at(1, 6), at(1, 10), C["c2"], first_commit=None),
    pr(3, "cy", at(4, 8, 30), at(4, 10), C["c4"], first_commit=at(4, 8),
       title="Hotfix checkout regression", labels=["hotfix"], head_ref="hotfix/checkout"),
    pr(4, "ana", at(9, 8), at(9, 10), C["c5"], first_commit=at(8, 12)),
    pr(5, "dependabot[bot]", at(1, 9), at(1, 11), C["cbot"], first_commit=at(1, 9), author_type="bot",
       ai_mode="bot", ai_tool="dependabot"),
]  # fmt: skip
PR_COMMITS = [
    {"pr_number": 1, "sha": sha("p1"), "author_email": "ana@acme.example", "authored_at": at(0, 2)}
]


def deployment(ident: str, commit: str | None, created: datetime, *states: tuple[str, datetime],
               repo: str = "acme/web", environment: str = "production") -> tuple[dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    row = {"repo": repo, "deployment_id": ident, "sha": commit, "ref": "main", "environment": environment,
           "created_at": created, "latest_state": states[-1][0] if states else None,
           "latest_state_at": states[-1][1] if states else None}  # fmt: skip
    statuses = [{"repo": repo, "deployment_id": ident, "status_id": f"{ident}-{i}", "state": s, "created_at": t}
                for i, (s, t) in enumerate(states)]  # fmt: skip
    return row, statuses


DEPLOYMENTS = [
    deployment("D0", C["c0"], at(-1, 12), ("success", at(-1, 12, 30))),  # the records start here
    deployment("D1", C["c1"], at(0, 12), ("in_progress", at(0, 12)), ("success", at(0, 12, 30))),
    deployment("D2", C["c3"], at(2, 12), ("failure", at(2, 12, 20))),
    deployment("D3", C["c3"], at(2, 13), ("success", at(2, 13, 30))),
    deployment("D4", C["c4"], at(4, 14), ("success", at(4, 14, 30))),
    deployment("D5", C["c1"], at(1, 0), ("success", at(1, 0, 5)), environment="staging"),
    deployment("D6", C["c5"], at(9, 12), ("success", at(9, 12, 30))),
    deployment("D7", C["c4"], at(10, 9), ("success", at(10, 9, 30))),
    deployment("D8", C["c5"], at(10, 10), ("queued", at(10, 10))),
    deployment("D9", C["c5"], at(11, 10), ("failure", at(11, 10, 15))),
    deployment("T1", "f" * 40, at(2, 9, 30), ("success", at(2, 10)), repo="acme/tools"),
]  # fmt: skip


def release(ident: str, tag: str, published: datetime, **extra: Any) -> dict[str, Any]:
    return {"repo": "acme/app", "release_id": ident, "tag_name": tag, "created_at": published,
            "published_at": published} | extra  # fmt: skip


RELEASES = [
    release("R1", "v1.0.0", at(1, 15)),
    release("R2", "v1.1.0", at(5, 15)),
    release("R3", "v1.2.0", at(6, 15), is_draft=True),
    release("R4", "v1.2.0-rc1", at(6, 16), is_prerelease=True),
]


def ticket(ident: str, project: str, created: datetime, resolved: datetime | None, *,
           category: str = "incident", status: str = "done", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"ticket_id": ident, "key": f"{project}-{ident}", "project": project, "type_category": category,
            "status_category": status, "created_at": created, "updated_at": resolved or created,
            "resolved_at": resolved} | extra  # fmt: skip


TICKETS = [
    ticket("1", "WEB", at(0, 20), at(1, 8)),
    ticket("2", "OPS", at(2, 11), None, status="in_progress"),
    ticket("3", "WEB", at(9, 14), at(9, 15), status="canceled"),  # a false alarm
    ticket("4", "WEB", at(9, 13), None, category="bug", status="todo"),
]
FORGE = [{"repo": f"acme/{name}", "git_repo": name} for name in ("web", "app", "tools")]


def run(s: Settings = SETTINGS, *, deployments: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]] = DEPLOYMENTS,
        tickets: Sequence[Mapping[str, Any]] = TICKETS, families: Sequence[str] = ("dora",),
        forge: Sequence[Mapping[str, Any]] = FORGE) -> Marts:  # fmt: skip
    inputs = make_inputs(
        commits=COMMITS, pull_requests=PRS, pr_commits=PR_COMMITS, forge_repos=forge, releases=RELEASES,
        tickets=tickets, deployments=[d for d, _ in deployments],
        deployment_statuses=[s for _, statuses in deployments for s in statuses],
    )  # fmt: skip
    return compute(inputs, s, families={f: FAMILIES[f] for f in families})


def wilson(k: int, n: int, z: float = 1.6448536) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def garwood(k: int, confidence: float = 0.9) -> tuple[float, float]:
    """Exact Poisson interval by bisection on the Poisson distribution function."""

    def cdf(x: int, mu: float) -> float:
        return sum(math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1)) for i in range(x + 1))

    def solve(f: Any) -> float:
        lo, hi = 1e-12, 3.0 * k + 50
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        return lo

    a = (1 - confidence) / 2
    lower = 0.0 if k == 0 else solve(lambda mu: a - (1 - cdf(k - 1, mu)))
    upper = solve(lambda mu: cdf(k, mu) - a)
    return lower, upper


def metric_rows(marts: Marts, team: str, sprint: str) -> dict[str, dict[str, Any]]:
    out = marts.tables["sprint_metrics"].filter(
        (pl.col("team") == team) & (pl.col("sprint_id") == sprint)
    )
    return {r["metric_id"]: r for r in out.iter_rows(named=True)}


def test_hand_computed_first_sprint_of_the_team() -> None:
    got = metric_rows(run(), "Web", S1)
    release_note = "releases stand in for deployments (no deployment records): app"
    # Successful production deployments: D1, D3, D4 and the releases R1, R2, over 7 days.
    df = got["deployment_frequency"]
    assert (df["value"], df["numerator"], df["denominator"]) == pytest.approx((5 / 7, 5, 7))
    low, high = garwood(5)
    assert (df["ci_low"], df["ci_high"]) == pytest.approx((low / 7, high / 7), rel=1e-6)
    assert (df["status"], df["note"], df["coverage"]) == ("ok", release_note, 1.0)
    # Change failures: D2 failed, D1 was followed by WEB-1; of D1, D2, D3, D4, R1, R2.
    cfr = got["change_fail_rate"]
    assert (cfr["numerator"], cfr["denominator"]) == (2, 6)
    assert (cfr["ci_low"], cfr["ci_high"]) == pytest.approx(wilson(2, 6))
    assert cfr["note"] == f"failed: 1; followed by an incident: 1; {release_note}"
    # Rework: D3 (within a day of D2's failure) and D4 (ships the hotfix PR).
    rework = got["deployment_rework_rate"]
    assert (rework["numerator"], rework["denominator"], rework["value"]) == (
        2,
        6,
        pytest.approx(1 / 3),
    )
    assert rework["coverage"] == pytest.approx(4 / 6)  # the releases name no commit
    # Lead times: PR 1 02:00 -> D1 12:30 = 10.5 h; PR 2 (no commit times) day 1 06:00 -> D3 day 2
    # 13:30 = 31.5 h; c3 09:00 -> D3 13:30 = 4.5 h; PR 3 08:00 -> D4 14:30 = 6.5 h. Median 8.5.
    lead = got["change_lead_time_p50"]
    assert (lead["value"], lead["denominator"], lead["coverage"]) == (8.5, 4, 1.0)
    assert (lead["ci_low"], lead["ci_high"]) == (None, None)  # four values bound no side at 90 %
    assert lead["note"] == "PRs timed from their creation (no earlier commit time): 1"
    # Recovery: D2 12:20 -> D3 13:30 = 70 min; WEB-1 20:00 -> 08:00 = 12 h. Median 6.583 h.
    recovery = got["recovery_time_p50"]
    assert (recovery["value"], recovery["denominator"]) == (pytest.approx((70 / 60 + 12) / 2), 2)
    assert (recovery["status"], recovery["coverage"], recovery["note"]) == ("ok", 1.0, None)


def test_second_and_running_sprints() -> None:
    marts = run()
    s2 = metric_rows(marts, "Web", S2)
    # D6 and D7 succeeded, D9 failed, D8 never finished (left out, and said so).
    assert (s2["deployment_frequency"]["numerator"], s2["deployment_frequency"]["coverage"]) == (
        2,
        0.75,
    )
    assert s2["deployment_frequency"]["note"] == "deployments without a final status: 1"
    assert (s2["change_fail_rate"]["numerator"], s2["change_fail_rate"]["denominator"]) == (1, 3)
    assert (
        s2["deployment_rework_rate"]["numerator"],
        s2["deployment_rework_rate"]["denominator"],
    ) == (1, 3)
    lead = s2["change_lead_time_p50"]  # PR 4: day 8 12:00 -> D6 day 9 12:30; one change is too few
    assert (lead["numerator"], lead["denominator"], lead["status"]) == (
        24.5,
        1,
        "insufficient_data",
    )
    recovery = s2["recovery_time_p50"]  # D9 is not recovered: no value, and the note says why
    assert (recovery["status"], recovery["coverage"]) == ("insufficient_data", 0.0)
    assert recovery["note"] == "failures that started in the sprint, not recovered yet: 1"
    s3 = metric_rows(marts, "Web", S3)  # running: Monday 16th to the end of Friday 20th
    df = s3["deployment_frequency"]
    assert (df["value"], df["denominator"], df["status"]) == (0.0, 5.0, "ok")
    assert (df["ci_low"], df["ci_high"]) == pytest.approx((0.0, garwood(0)[1] / 5), rel=1e-6)
    assert df["note"] == "sprint in progress: 5.0 days so far"
    assert s3["change_fail_rate"]["status"] == "insufficient_data"


def test_the_organisation_counts_deployments_of_no_team() -> None:
    got = metric_rows(run(), ORG, S1)
    assert got["deployment_frequency"]["numerator"] == 6  # T1 of tools, owned by no team
    # OPS-1 belongs to no team's project: it is blamed on the latest deployment anywhere, T1.
    assert (got["change_fail_rate"]["numerator"], got["change_fail_rate"]["denominator"]) == (3, 7)
    recovery = got["recovery_time_p50"]
    assert (recovery["denominator"], recovery["coverage"]) == (2, pytest.approx(2 / 3))
    assert recovery["note"] == "failures that started in the sprint, not recovered yet: 1"


def test_fact_marts_record_why() -> None:
    marts = run()
    deployments = marts.tables["mart_deployments"].sort("deployment_id")
    assert deployments.select("deployment_id", "outcome", "incidents", "is_change_failure", "rework_reason",
                              "team").rows() == [
        ("D0", "success", 0, False, None, "Web"),
        ("D1", "success", 1, True, None, "Web"),
        ("D2", "failure", 0, True, None, "Web"),
        ("D3", "success", 0, False, "after_failure", "Web"),
        ("D4", "success", 0, False, "fix", "Web"),
        ("D6", "success", 0, False, None, "Web"),
        ("D7", "success", 0, False, "rollback", "Web"),
        ("D8", "pending", 0, False, None, "Web"),
        ("D9", "failure", 0, True, None, "Web"),
        ("R1", "success", 0, False, None, "Web"),
        ("R2", "success", 0, False, None, "Web"),
        ("T1", "success", 1, True, None, None),
    ]  # fmt: skip
    changes = marts.tables["mart_changes"].sort("start_at")
    assert changes.select("kind", "number", "status", "deployment_id", "lead_hours", "is_fix").rows() == [
        ("commit", None, "before_data", None, None, False),
        ("pr", 1, "deployed", "D1", 10.5, False),
        ("pr", 2, "deployed", "D3", 31.5, False),
        ("commit", None, "deployed", "D3", 4.5, False),
        ("pr", 3, "deployed", "D4", 6.5, True),
        ("pr", 4, "deployed", "D6", 24.5, False),
    ]  # fmt: skip
    recoveries = marts.tables["mart_recoveries"].sort("started_at")
    assert recoveries.select("kind", "ref", "team", "sprint_id", "org_sprint_id").rows() == [
        ("incident", "WEB-1", "Web", S1, S1),
        ("incident", "OPS-2", None, None, S1),
        ("deployment", "D2", "Web", S1, S1),
        ("deployment", "D9", "Web", S2, S2),
    ]  # fmt: skip


def test_without_forge_repository_rows_the_last_path_segment_names_the_git_repository() -> None:
    got = metric_rows(run(forge=[]), "Web", S1)
    assert (got["change_lead_time_p50"]["value"], got["change_lead_time_p50"]["denominator"]) == (
        8.5,
        4,
    )
    assert got["deployment_frequency"]["numerator"] == 5


def test_consecutive_failures_are_one_recovery_and_retries_count() -> None:
    runs = [
        deployment("D1", C["c1"], at(0, 12), ("failure", at(0, 12, 10))),
        deployment("D2", C["c1"], at(0, 13), ("failure", at(0, 13, 10))),
        # The third attempt first fails, then a retry of the same deployment succeeds.
        deployment("D3", C["c1"], at(0, 14), ("failure", at(0, 14, 10)), ("success", at(0, 15))),
    ]
    marts = run(deployments=runs, tickets=[])
    recoveries = marts.tables["mart_recoveries"]
    assert recoveries.select("ref", "failures", "hours").rows() == [
        ("D1", 3, pytest.approx(170 / 60))
    ]
    deployments = (
        marts.tables["mart_deployments"]
        .filter(pl.col("origin") == "deployment")
        .sort("deployment_id")
    )
    assert deployments["outcome"].to_list() == ["failure"] * 3
    assert deployments["rework_reason"].to_list() == [None, "after_failure", "after_failure"]


def test_configuration_decides_environments_incidents_and_windows() -> None:
    base = run()
    # A label marks the bug as an incident; one hour after D6 it is D6's failure.
    labelled = [
        *TICKETS[:3],
        ticket("4", "WEB", at(9, 13), None, category="bug", status="todo", labels=["SEV1"]),
    ]
    s = replace(SETTINGS, incident_labels=("sev1",))
    by_label = metric_rows(run(s, tickets=labelled), "Web", S2)["change_fail_rate"]
    assert (by_label["numerator"], base.tables["sprint_metrics"].filter(
        (pl.col("team") == "Web") & (pl.col("sprint_id") == S2) & (pl.col("metric_id") == "change_fail_rate")
    )["numerator"].item()) == (2, 1)  # fmt: skip
    # A window of six hours no longer ties WEB-1 (7.5 h after D1) to D1.
    narrow = replace(SETTINGS, incident_window_hours=6)
    assert metric_rows(run(narrow), "Web", S1)["change_fail_rate"]["numerator"] == 1
    # Staging as production: D5 counts too.
    staging = replace(SETTINGS, production_environments=("production", "Staging"))
    assert metric_rows(run(staging), "Web", S1)["deployment_frequency"]["numerator"] == 6


def test_metrics_settings_carry_the_dora_keys() -> None:
    config = Config(metrics=MetricsConfig(incident_types=["Incident", "Outage"], incident_labels=["sev1"],
                                          incident_window_hours=48, rework_window_hours=12,
                                          rework_pattern="(?i)hotfix"))  # fmt: skip
    s = metrics_settings(config)
    assert (s.incident_types, s.incident_labels, s.incident_window_hours, s.rework_window_hours,
            s.rework_pattern) == (("Incident", "Outage"), ("sev1",), 48, 12, "(?i)hotfix")  # fmt: skip
    with pytest.raises(ValueError, match="look-around"):
        MetricsConfig(rework_pattern="(?<=x)fix")


@pytest.mark.parametrize("k", [0, 1, 2, 5, 20, 100])
def test_poisson_table_is_the_exact_garwood_interval(k: int) -> None:
    table = dora.poisson_table(0.9)
    got = table.filter(pl.col("_k") == k).select("_p_low", "_p_high").row(0)
    assert got == pytest.approx(garwood(k), rel=1e-6, abs=1e-9)


def test_bounds_for_some_counts_are_the_full_tables_rows() -> None:
    counts = (0, 1, 3, 64, 199, 200, 201)
    some = dora.poisson_table(0.9, counts=counts)
    assert some["_k"].to_list() == [0, 1, 3, 64, 199, 200]
    assert_frame_equal(some, dora.poisson_table(0.9).filter(pl.col("_k").is_in(counts)))


def test_many_events_use_the_cube_root_approximation_within_a_permille() -> None:
    table = dora.poisson_table(0.95, size=260).filter(pl.col("_k") > dora.EXACT_POISSON)
    low, high = dora.poisson_interval(pl.col("_k"), 0.95)
    got = table.with_columns(low.alias("low"), high.alias("high"))
    assert ((got["low"] / got["_p_low"] - 1).abs() < 1e-3).all()
    assert ((got["high"] / got["_p_high"] - 1).abs() < 1e-3).all()
    framed = dora.with_poisson_bounds(pl.LazyFrame({"n": [3, 250]}), "n", 0.95).collect()
    assert framed["_p_low"][0] == pytest.approx(garwood(3, 0.95)[0], rel=1e-6)
    assert framed["_p_high"][1] == pytest.approx(garwood(250, 0.95)[1], rel=1e-3)


# --------------------------------------------------------------------------- properties

outcomes = st.sampled_from(["success", "failure", "error", "queued", "canceled"])
deploy_specs = st.lists(
    st.tuples(
        st.integers(0, 20 * 24),
        outcomes,
        st.sampled_from(["c1", "c3", "c4", "c5", None]),
        st.sampled_from(["acme/web", "acme/tools"]),
    ),
    min_size=1,
    max_size=20,
)


def spec_deployments(specs: list[tuple[int, str, str | None, str]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:  # fmt: skip
    return [deployment(f"X{i}", C[commit] if commit else None, at(0, hour), (outcome, at(0, hour, 20)), repo=repo)
            for i, (hour, outcome, commit, repo) in enumerate(specs)]  # fmt: skip


def dora_rows(marts: Marts) -> pl.DataFrame:
    return marts.tables["sprint_metrics"].sort("team", "sprint_id", "metric_id")


@settings(max_examples=20, deadline=None)
@given(deploy_specs)
def test_shares_stay_in_range_and_nothing_is_double_counted(
    specs: list[tuple[int, str, str | None, str]],
) -> None:
    marts = run(deployments=spec_deployments(specs))
    rows = marts.tables["sprint_metrics"]
    shares = rows.filter(
        pl.col("metric_id").is_in(["change_fail_rate", "deployment_rework_rate"])
    ).drop_nulls("value")
    assert shares["value"].is_between(0, 1).all()
    # Every successful production deployment lands in exactly one organisation sprint.
    org_df = rows.filter((pl.col("team") == ORG) & (pl.col("metric_id") == "deployment_frequency"))
    successes = sum(1 for _, outcome, _, _ in specs if outcome == "success") + 2  # and the releases
    assert org_df["numerator"].sum() == successes
    changes = marts.tables["mart_changes"]
    assert (changes["lead_hours"].drop_nulls() >= 0).all()
    assert changes.filter(pl.col("status") == "deployed")["deployed_at"].null_count() == 0


@settings(max_examples=15, deadline=None)
@given(deploy_specs)
def test_non_production_deployments_change_nothing(
    specs: list[tuple[int, str, str | None, str]],
) -> None:
    deployments = spec_deployments(specs)
    staging = [deployment(f"S{i}", C["c5"], at(0, i * 7), ("failure", at(0, i * 7, 5)), environment="staging")
               for i in range(len(specs))]  # fmt: skip
    assert_frame_equal(
        dora_rows(run(deployments=deployments)), dora_rows(run(deployments=deployments + staging))
    )


@settings(max_examples=15, deadline=None)
@given(deploy_specs)
def test_relabelling_teams_permutes_results_and_recomputation_is_deterministic(
    specs: list[tuple[int, str, str | None, str]],
) -> None:
    deployments = spec_deployments(specs)
    first = dora_rows(run(deployments=deployments))
    assert_frame_equal(first, dora_rows(run(deployments=deployments)))
    renamed = replace(SETTINGS, teams=(replace(WEB, name="Renamed"),))
    other = (
        dora_rows(run(renamed, deployments=deployments))
        .with_columns(pl.col("team").replace({"Renamed": "Web"}))
        .sort("team", "sprint_id", "metric_id")
    )
    assert_frame_equal(first, other)


# --------------------------------------------------------------------------- SQL in the docs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
FLOW_AND_DORA = ("cycle_time_p50", "cycle_time_p85", "coding_time_p50", "pickup_time_p50", "review_time_p50",
                 "pr_size_p50", "throughput_per_engineer", "deployment_frequency", "change_fail_rate",
                 "deployment_rework_rate", "change_lead_time_p50", "recovery_time_p50")  # fmt: skip


def documented_queries() -> dict[str, str]:
    """The first SQL block under each metric heading of the Flow and DORA sections of docs/metrics.md."""
    text = DOCS.read_text(encoding="utf-8")
    part = text[text.index("\n## Flow\n") : text.index("\n## Running totals")]
    queries: dict[str, str] = {}
    for section in re.split(r"\n### ", part)[1:]:
        heading, _, body = section.partition("\n")
        ids = [word for word in heading.split(" (v")[0].split() if "_" in word]
        block = re.search(r"\n\n((?:    SELECT.*\n)(?:    .*\n)*)", body)
        assert block, heading
        sql = "\n".join(line[4:] for line in block.group(1).splitlines())
        for metric in ids:
            queries[metric] = sql.replace("0.5)", "0.85)") if metric.endswith("_p85") else sql
    return queries


def test_every_flow_and_dora_number_is_the_documented_query(tmp_path: Path) -> None:
    queries = documented_queries()
    assert set(queries) == set(FLOW_AND_DORA)
    reviews = [{"pr_number": n, "review_id": f"r{n}", "reviewer_login": "cy" if n != 3 else "bo",
                "submitted_at": at(d, h), "state": "approved"}
               for n, d, h in ((1, 0, 6), (2, 1, 9), (3, 4, 9), (4, 9, 9))]  # fmt: skip
    inputs = make_inputs(
        commits=COMMITS, pull_requests=PRS, pr_commits=PR_COMMITS, pr_reviews=reviews, forge_repos=FORGE,
        releases=RELEASES, tickets=TICKETS, deployments=[d for d, _ in DEPLOYMENTS],
        deployment_statuses=[s for _, statuses in DEPLOYMENTS for s in statuses],
    )  # fmt: skip
    marts = compute(inputs, SETTINGS)
    with connect(tmp_path / "w.duckdb") as con:
        write(con, marts)
        published = con.execute(
            "SELECT team, sprint_id, sprint_state, metric_id, value, numerator, denominator, status "
            "FROM sprint_metrics WHERE metric_id IN (SELECT unnest(?))",
            [list(FLOW_AND_DORA)],
        ).fetchall()
        checked = set()
        for team, sprint, state, metric, value, numerator, denominator, status in published:
            if metric == "deployment_frequency" and state == "active":
                continue  # its days run to the end of today, not to the sprint's end
            scope = "org_sprint_id = ?" if team == ORG else "team = ? AND sprint_id = ?"
            bound = {"scope": [sprint] if team == ORG else [team, sprint], "sprint": [team, sprint]}
            params = [
                v for p in re.findall(r"\{(scope|sprint)\}", queries[metric]) for v in bound[p]
            ]
            sql = (
                queries[metric]
                .replace("{scope}", scope)
                .replace("{sprint}", "team = ? AND sprint_id = ?")
            )
            k, n = con.execute(sql, params).fetchone() or (None, None)
            assert (numerator or 0, denominator or 0) == pytest.approx((k or 0, n or 0)), (
                team,
                sprint,
                metric,
            )
            if status == "ok":
                assert k is not None and n
                ratio = metric in ("deployment_frequency", "change_fail_rate", "deployment_rework_rate",
                                   "throughput_per_engineer")  # fmt: skip
                assert value == pytest.approx(k / n if ratio else k), (team, sprint, metric)
                checked.add(metric)
    assert checked == set(FLOW_AND_DORA)
