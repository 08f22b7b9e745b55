"""Durability metrics: hand-computed sprints, coverage, properties, and the SQL of docs/metrics.md against the marts."""

import math
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metrics.durability import MEASURED_SCHEMA
from metrics.marts import FAMILIES, compute
from metrics.model import ORG, Member, Settings, TeamSpec
from tests.conftest import GitRepo, MakeRepo
from tests.metrics.raw_tables import at, make_inputs, sha

SETTINGS = Settings(
    teams=(
        TeamSpec(
            "Web",
            members=(
                Member("ana@acme.example"),
                Member("bo@acme.example"),
                Member("cy@acme.example"),
            ),
            repos=("web",),
        ),
    ),
    cadence_days=7,
    cadence_start=date(2026, 3, 2),
    min_sample=2,
    confidence=0.9,
    today=date(2026, 5, 1),
)
METRICS = ("ai_churn", "ai_durability", "ai_surviving_share", "human_churn", "human_durability")
AI = {"ai_tool": "claude_code", "ai_mode": "assisted"}
BOT = {
    "author_email": "49699333+dependabot[bot]@users.noreply.github.com",
    "ai_tool": "dependabot",
    "ai_mode": "bot",
}


def commit(label: str, who: str, day: float, **extra: Any) -> dict[str, Any]:
    return {
        "sha": sha(label),
        "author_email": f"{who}@acme.example",
        "committed_at": at(day, 12),
        **extra,
    }


def survival(label: str, lines: int, churn: int, durable: int, *, note_ai: tuple[int, int, int] = (0, 0, 0),
             note_human: tuple[int, int, int] = (0, 0, 0), day: float = 0) -> dict[str, Any]:  # fmt: skip
    return {"repo": "web", "sha": sha(label), "landed_at": at(day, 12), "lines_added": lines, "alive_churn": churn,
            "alive_durable": durable, "note_ai_lines": note_ai[0], "note_ai_alive_churn": note_ai[1],
            "note_ai_alive_durable": note_ai[2], "note_human_lines": note_human[0],
            "note_human_alive_churn": note_human[1], "note_human_alive_durable": note_human[2]}  # fmt: skip


# Sprint 2026-03-02. c1 AI: 80 lines, 60 alive at +21 d, 50 at +30 d. c2 AI with a git-ai note
# (10 lines attested AI: 8/5 alive; 20 attested human: 18/15 alive; 10 untracked: 10/10, AI as the
# commit): AI 20 lines, 18 and 15 alive; human 20, 18 and 15. c3, c4 human. c5 human, window open.
# The bot commit, the merge and the pure deletion are not in the population.
# Sprint 2026-03-09: one of three commits measured: no values.
COMMITS = [
    commit("c1", "ana", 0, **AI),
    commit("c2", "bo", 1, **AI),
    commit("c3", "cy", 2),
    commit("c4", "ana", 3),
    commit("c5", "bo", 4),
    commit("bot", "x", 2, **BOT),
    commit("merge", "cy", 3, is_merge=True, additions=0),
    commit("deletion", "cy", 3, additions=0, deletions=9),
    commit("c9", "ana", 7, **AI),
    commit("c10", "bo", 8),
    commit("c11", "cy", 9),
]
MEASURED = [
    survival("c1", 80, 60, 50),
    survival("c2", 40, 36, 30, note_ai=(10, 8, 5), note_human=(20, 18, 15), day=1),
    survival("c3", 50, 45, 40, day=2),
    survival("c4", 30, 30, 30, day=3),
    survival("bot", 500, 0, 0, day=2),
    survival("c9", 10, 10, 10, day=7),
]


def linearised(
    ys: Sequence[float], xs: Sequence[float], z: float = 1.6448536269514722
) -> tuple[float, float]:
    r = sum(ys) / sum(xs)
    n, xbar = len(xs), sum(xs) / len(xs)
    se = math.sqrt(
        sum((y - r * x) ** 2 for y, x in zip(ys, xs, strict=True)) / (n * (n - 1) * xbar**2)
    )
    return max(r - z * se, 0.0), min(r + z * se, 1.0)


def metrics(commits: Sequence[Mapping[str, Any]] = COMMITS, measured: Sequence[Mapping[str, Any]] = MEASURED,
            s: Settings = SETTINGS) -> dict[str, pl.DataFrame]:  # fmt: skip
    inputs = make_inputs(commits=commits)
    inputs.extra["commit_durability"] = pl.DataFrame(list(measured), schema=MEASURED_SCHEMA).lazy()
    return compute(inputs, s, families={"durability": FAMILIES["durability"]}).tables


def test_hand_computed_sprint() -> None:
    out = metrics()["sprint_metrics"]
    got = out.filter((pl.col("team") == "Web") & (pl.col("sprint_id") == "2026-03-02")).select(
        "metric_id", "value", "numerator", "denominator", "ci_low", "ci_high", "coverage", "status", "note"
    ).sort("metric_id")  # fmt: skip
    note = "4 of 5 commits measured (the others' windows have not closed)"
    expected = pl.DataFrame(
        [
            ("ai_churn", 0.22, 22.0, 100.0, *linearised([20, 2], [80, 20]), 0.8, "ok", note),
            ("ai_durability", 0.65, 65.0, 100.0, *linearised([50, 15], [80, 20]), 0.8, "ok", note),
            ("ai_surviving_share", 65 / 150, 65.0, 150.0, *linearised([50, 15, 0, 0], [50, 30, 40, 30]), 0.8, "ok", note),
            ("human_churn", 0.07, 7.0, 100.0, *linearised([2, 5, 0], [20, 50, 30]), 0.8, "ok", note),
            ("human_durability", 0.85, 85.0, 100.0, *linearised([15, 40, 30], [20, 50, 30]), 0.8, "ok", note),
        ],
        schema=got.schema,
        orient="row",
    )  # fmt: skip
    assert_frame_equal(got, expected)
    org = (
        out.filter((pl.col("team") == ORG) & (pl.col("sprint_id") == "2026-03-02"))
        .select(got.columns)
        .sort("metric_id")
    )
    assert_frame_equal(org, expected)


def test_a_sprint_mostly_unmeasured_has_no_values_but_keeps_its_counts() -> None:
    out = metrics()["sprint_metrics"].filter(
        (pl.col("team") == "Web") & (pl.col("sprint_id") == "2026-03-09")
    )
    assert out.get_column("status").unique().to_list() == ["insufficient_data"]
    assert out.get_column("value").null_count() == len(METRICS)
    row = out.filter(pl.col("metric_id") == "ai_durability").row(0, named=True)
    assert (row["numerator"], row["denominator"], row["coverage"]) == (
        10.0,
        10.0,
        pytest.approx(1 / 3),
    )
    assert row["note"] == "1 of 3 commits measured (the others' windows have not closed)"


def test_the_fact_mart_splits_lines_by_note_and_commit() -> None:
    mart = metrics()["mart_durability"].sort("committed_at")
    assert mart.get_column("sha").to_list() == [
        sha(x) for x in ("c1", "c2", "c3", "c4", "c5", "c9", "c10", "c11")
    ]
    c2 = mart.row(1, named=True)
    assert (c2["lines"], c2["ai_lines"], c2["ai_alive_churn"], c2["ai_alive_durable"]) == (
        40,
        20,
        18,
        15,
    )
    assert (c2["human_lines"], c2["human_alive_churn"], c2["human_alive_durable"]) == (20, 18, 15)
    c5 = mart.row(4, named=True)
    assert c5["measured"] is False and c5["lines"] is None


# --------------------------------------------------------------------------- properties

_CLASS = st.tuples(st.integers(0, 200), st.floats(0, 1), st.floats(0, 1)).map(
    lambda t: (t[0], round(t[0] * t[1]), round(t[0] * t[2]))
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    commits: list[dict[str, Any]] = []
    measured: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 12))):
        label = f"p{i}"
        who = draw(st.sampled_from(["ana", "bo", "cy"]))
        extra = AI if draw(st.booleans()) else {}
        commits.append(commit(label, who, draw(st.integers(0, 20)), **extra))
        if draw(st.booleans()):
            ai, human, rest = draw(_CLASS), draw(_CLASS), draw(_CLASS)
            total = [a + h + r for a, h, r in zip(ai, human, rest, strict=True)]
            measured.append(survival(label, *total, note_ai=ai, note_human=human))
    return commits, measured


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_shares_stay_in_range_with_intervals_around_them(scenario: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:  # fmt: skip
    out = metrics(*scenario)["sprint_metrics"].filter(pl.col("status") == "ok")
    for row in out.iter_rows(named=True):
        assert 0.0 <= row["value"] <= 1.0
        if row["ci_low"] is not None:
            assert row["ci_low"] <= row["value"] + 1e-12 and row["value"] <= row["ci_high"] + 1e-12


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), bots=st.lists(st.integers(0, 300), min_size=1, max_size=4))
def test_bots_change_nothing(
    scenario: tuple[list[dict[str, Any]], list[dict[str, Any]]], bots: list[int]
) -> None:
    commits, measured = scenario
    before = metrics(commits, measured)["sprint_metrics"]
    extra = [commit(f"b{i}", "x", i, **BOT) for i in range(len(bots))]
    extra_measured = [survival(f"b{i}", n, n // 2, n // 3) for i, n in enumerate(bots)]
    after = metrics([*commits, *extra], [*measured, *extra_measured])["sprint_metrics"]
    assert_frame_equal(before, after)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_team_names_only_permute_and_recomputation_repeats(scenario: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:  # fmt: skip
    first = metrics(*scenario)["sprint_metrics"]
    assert_frame_equal(first, metrics(*scenario)["sprint_metrics"])
    renamed = Settings(
        **{
            **SETTINGS.__dict__,
            "teams": (TeamSpec("Zeta", members=SETTINGS.teams[0].members, repos=("web",)),),
        }
    )
    other = metrics(*scenario, s=renamed)["sprint_metrics"]
    expected = first.with_columns(pl.col("team").replace({"Web": "Zeta"})).sort(
        "team", "sprint_start", "metric_id"
    )
    assert_frame_equal(other.sort("team", "sprint_start", "metric_id"), expected)


# --------------------------------------------------------------------------- the SQL in docs/metrics.md

REPRODUCE = {
    "ai_durability": "SELECT sum(ai_alive_durable), sum(ai_lines) FROM mart_durability WHERE measured AND {scope}",
    "human_durability": "SELECT sum(human_alive_durable), sum(human_lines) FROM mart_durability WHERE measured AND {scope}",
    "ai_churn": "SELECT sum(ai_lines - ai_alive_churn), sum(ai_lines) FROM mart_durability WHERE measured AND {scope}",
    "human_churn": "SELECT sum(human_lines - human_alive_churn), sum(human_lines) FROM mart_durability "
    "WHERE measured AND {scope}",
    "ai_surviving_share": "SELECT sum(ai_alive_durable), sum(alive_durable) FROM mart_durability WHERE measured AND {scope}",
}
COVERAGE = "SELECT avg(CAST(measured AS INTEGER)) FROM mart_durability WHERE {scope}"
CONFIG = """
organisation: Test Org
workspace: ws
sources:
  - type: git
    path: {repo}
    name: web
teams:
  - name: Web
    repos: [web]
    members: [ana@acme.example, bo@acme.example, cy@acme.example]
sprints:
  length_days: 7
  first_start: 2023-11-13
metrics:
  min_sample: 1
"""
CLAUDE = "\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"


@pytest.fixture
def repo(make_repo: MakeRepo) -> GitRepo:
    """Four weeks of edits from 2023-11-14: AI and human commits, rewrites, deletions, a move."""
    r = make_repo("web")
    people = ["Ana <ana@acme.example>", "Bo <bo@acme.example>", "Cy <cy@acme.example>"]
    files: dict[str, list[str]] = {}
    for i in range(24):
        name = f"src/m{i % 5}.py"
        body = files.setdefault(name, [])
        body.extend(f"value_{i}_{k} = compute({i}, {k}, 'argument')" for k in range(3 + i % 4))
        if i % 3 == 2 and len(body) > 6:
            del body[1:3]  # deletions of earlier lines
        if i % 4 == 3:
            body[0] = f"rewritten_{i} = True"
        stamp = f"@{1_700_000_000 + i * 86_400 + 3600} +0000"
        message = f"change {i}" + (CLAUDE if i % 3 == 0 else "")
        r.commit(message, {name: "".join(f"{x}\n" for x in body)}, author=people[i % 3], date=stamp)
    moved = files.pop("src/m0.py")
    r.commit("move m0", {"src/m0.py": None, "lib/m0.py": "".join(f"{x}\n" for x in moved)}, author=people[0],
             date=f"@{1_700_000_000 + 25 * 86_400} +0000")  # fmt: skip
    return r


def test_every_durability_number_is_one_sql_query_away(
    repo: GitRepo, tmp_path: Path, git_env: dict[str, str]
) -> None:
    config = tmp_path / "sprintproof.yaml"
    config.write_text(CONFIG.format(repo=repo.path))
    env = {**git_env, "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dagster_project", *args, "--config", str(config)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, check=False)  # fmt: skip

    ingested = run("ingest")
    assert ingested.returncode == 0, ingested.stderr
    assert "line survival of 25 commits measured" in ingested.stdout
    done = run("metrics", "--today", "2023-12-20")
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT team, sprint_id, metric_id, value, numerator, denominator, coverage, status FROM sprint_metrics "
            "WHERE metric_id IN (SELECT unnest(?))",
            [list(REPRODUCE)],
        ).fetchall()
        checked = 0
        for team, sprint, metric, value, numerator, denominator, coverage, status in rows:
            scope = "org_sprint_id = ?" if team == ORG else "team = ? AND sprint_id = ?"
            params = [sprint] if team == ORG else [team, sprint]
            k, n = con.execute(REPRODUCE[metric].format(scope=scope), params).fetchone() or (
                None,
                None,
            )
            assert (numerator or 0, denominator or 0) == (k or 0, n or 0), (team, sprint, metric)
            (share,) = con.execute(COVERAGE.format(scope=scope), params).fetchone() or (None,)
            assert coverage == pytest.approx(share) if share is not None else coverage is None
            if status == "ok":
                assert k is not None and n and value == pytest.approx(k / n)
                checked += 1
        assert checked >= 10
        lines = con.execute("SELECT sum(lines), sum(alive_durable) FROM mart_durability").fetchone()
        assert lines is not None and lines[0] > lines[1] > 0
