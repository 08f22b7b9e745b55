"""The dashboard's warehouse queries, without Streamlit: states, windows, drill-down counts, health, headline numbers."""

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboards import data, headline
from tests.dashboards.fixture_warehouse import (
    COMMITS,
    GAP,
    ORG,
    Fixture,
    build_empty,
    build_without_metrics,
)

pytest_plugins = ("tests.dashboards.support",)


def test_status_of_each_kind_of_file(tmp_path: Path, warehouse: Fixture) -> None:
    assert data.status(None).state == data.MISSING
    assert data.status(tmp_path / "none.duckdb").state == data.MISSING
    assert data.status(build_empty(tmp_path / "empty.duckdb")).state == data.NOT_INGESTED
    raw = data.status(build_without_metrics(tmp_path / "raw.duckdb"))
    assert (raw.state, raw.commits) == (data.NO_METRICS, 1)
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"x" * 4096)
    assert data.status(junk).state == data.UNREADABLE
    ready = data.status(warehouse.path)
    assert ready.ready and ready.commits == len(COMMITS) and ready.computed_at is not None
    assert not ready.schema_behind


def test_a_file_held_by_a_writer_is_unreadable_not_an_exception(tmp_path: Path) -> None:
    path = build_empty(tmp_path / "held.duckdb")
    with duckdb.connect(str(path)):
        state = data.status(path)
    # DuckDB lets one process hold a file for writing and another read it only when no writer
    # holds it; within one process the second open may succeed. Either way: no exception.
    assert state.state in (data.UNREADABLE, data.NOT_INGESTED)


def test_file_version_changes_when_the_file_changes(tmp_path: Path) -> None:
    path = build_empty(tmp_path / "w.duckdb")
    before = data.file_version(path)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE extra AS SELECT 1 AS x")
        con.execute("CHECKPOINT")
    assert data.file_version(path) != before
    assert data.file_version(tmp_path / "none") == (0, 0)


def test_metric_rows_follow_teams_metrics_and_the_window(warehouse: Fixture) -> None:
    s = warehouse.sprints
    rows = data.metric_rows(warehouse.path, ["acr_lines"], [ORG, "Web"], s[2].start, s[4].end)
    assert rows.columns == list(data.METRIC_COLUMNS)
    assert sorted(set(rows.get_column("sprint_id"))) == sorted(
        [x.org_id for x in s[2:5]] + [x.team_id("Web") for x in s[2:5]]
    )
    # Team sprints start 8 hours after the cadence: their midpoint puts them in the same range.
    assert rows.filter(pl.col("team") == "Web").height == 3
    everything = data.metric_rows(warehouse.path, ["acr_lines", "cycle_time_p50"], [ORG])
    assert everything.height == 2 * len(s)


def test_calendar_names_and_metrics(warehouse: Fixture) -> None:
    sprints = data.org_sprints(warehouse.path)
    assert sprints.get_column("sprint_id").to_list() == [s.org_id for s in warehouse.sprints]
    assert data.team_names(warehouse.path) == ["Mobile", "Tiny", "Web"]
    assert data.repo_names(warehouse.path) == ["mobile-app", "tiny-svc", "web-app"]
    assert "ai_durability" not in data.computed_metrics(warehouse.path)
    assert "acr_lines" in data.computed_metrics(warehouse.path)


def test_drilldown_counts_equal_the_metric_parts(warehouse: Fixture) -> None:
    last = warehouse.last_closed
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        parts = {
            m: (n, d)
            for m, n, d in con.execute(
                "SELECT metric_id, numerator, denominator FROM sprint_metrics WHERE team = ? AND sprint_id = ?",
                [ORG, last.org_id],
            ).fetchall()
        }
    commits = data.ai_commits(warehouse.path, ORG, last.org_id)
    assert (commits.matching, commits.population) == parts["acr_commits"]
    agents = data.ai_commits(warehouse.path, ORG, last.org_id, agent_only=True)
    assert (agents.matching, agents.population) == parts["agentic_commit_rate"]
    prs = data.ai_prs(warehouse.path, ORG, last.org_id)
    assert (prs.matching, prs.population) == parts["acr_prs"]
    assert commits.hidden == 2 and commits.rows.height == commits.matching - commits.hidden


def test_drilldown_of_a_team_and_with_a_repository_filter(warehouse: Fixture) -> None:
    last = warehouse.last_closed
    web = data.ai_commits(warehouse.path, "Web", last.team_id("Web"))
    assert (web.matching, web.population, web.hidden) == (4, 10, 0)
    assert set(web.rows.get_column("tool")) == {"claude_code", "copilot_agent", "cursor"}
    only = data.ai_commits(warehouse.path, ORG, last.org_id, repos=["mobile-app"])
    assert (only.matching, only.population) == (1, 5)
    limited = data.ai_commits(warehouse.path, ORG, last.org_id, limit=2)
    assert limited.rows.height == 2 and limited.matching == 7
    assert "author" not in web.rows.columns
    assert (
        "author"
        in data.ai_commits(warehouse.path, "Web", last.team_id("Web"), per_person=True).rows.columns
    )


def test_health_report(warehouse: Fixture) -> None:
    report = data.health_report(
        warehouse.path,
        thresholds={"identity_coverage": 0.8},
        now=warehouse.now,
    )
    sources = report.sources.select("kind", "scope", "last_status").rows()
    assert ("git", "mobile-app", "failed") in sources and ("git", "tiny-svc", "noop") in sources
    ages = {(k, s): a for k, s, a in report.sources.select("kind", "scope", "age_hours").rows()}
    assert ages[("git", "mobile-app")] == pytest.approx(72 - 2 / 3600, abs=0.01)
    assert ages[("git", "web-app")] == pytest.approx(2 - 3 / 3600, abs=0.01)
    assert any("the last run failed: mirror fetch refused" in w for w in report.warnings)
    assert report.drift.rows() == [
        ("github", "pull_requests.auto_merge_request", "issues.milestone")
    ]
    assert report.unmatched_total == 2
    assert report.metric_runs.height == 1
    lines = next(c for c in report.coverage if c.name == "Commits with complete line counts")
    assert (lines.covered, lines.total, lines.share) == (len(COMMITS), len(COMMITS), 1.0)
    repos = data.health_report(warehouse.path, repos=["web-app"], now=warehouse.now)
    assert set(repos.sources.filter(pl.col("kind") == "git").get_column("scope")) == {"web-app"}


def test_headline_kpis_of_the_last_closed_sprint(warehouse: Fixture) -> None:
    rows = data.metric_rows(warehouse.path, headline.TILES, [ORG])
    items = {k.metric_id: k for k in headline.kpis(rows, ORG)}
    acr = items["acr_lines"]
    assert (acr.sprint_id, acr.value, acr.previous, acr.delta) == (warehouse.last_closed.org_id, 0.43, 0.38, "+5.0 pts")  # fmt: skip
    assert acr.series == [0.12, 0.15, 0.2, 0.26, 0.31, 0.38, 0.43]
    assert items["velocity_acceleration"].interval == "1.45× to 1.75×"
    windowed = {k.metric_id: k for k in headline.kpis(rows, ORG, since=warehouse.sprints[3].start)}
    assert windowed["acr_lines"].series == [0.26, 0.31, 0.38, 0.43]
    assert windowed["acr_lines"].previous == 0.38


def test_headline_states_gaps_suppression_and_missing_metrics(warehouse: Fixture) -> None:
    gap = warehouse.sprints[GAP]
    rows = data.metric_rows(warehouse.path, [*headline.TILES, "ai_durability"], ["Mobile", "Tiny"], None, gap.end + timedelta(hours=12))  # fmt: skip
    mobile = {
        k.metric_id: k for k in headline.kpis(rows, "Mobile", [*headline.TILES, "ai_durability"])
    }
    assert mobile["acr_lines"].status == "insufficient_data" and mobile["acr_lines"].value is None
    assert mobile["ai_durability"].status == "missing"
    tiny = headline.kpis(rows, "Tiny")
    assert {k.status for k in tiny} == {"suppressed"} and all(k.value is None for k in tiny)
    text = headline.summary(tiny, "Tiny")
    assert "below the minimum group size" in text and "%" not in text


def test_summary_verdicts() -> None:
    def kpi(metric_id: str, value: float, low: float, high: float) -> headline.Kpi:
        return headline.Kpi(metric_id, ORG, "s", "S9", "ok", value=value, ci_low=low, ci_high=high)

    faster = [
        kpi("velocity_acceleration", 1.6, 1.4, 1.8),
        kpi("bug_density_change", -0.2, -0.35, -0.05),
    ]
    assert headline.summary(faster, "Acme").endswith("Verdict: faster, with fewer bugs per point.")
    worse = [kpi("velocity_acceleration", 1.6, 1.4, 1.8), kpi("bug_density_change", 0.3, 0.1, 0.5)]
    assert headline.summary(worse, "Acme").endswith(
        "Verdict: faster, but with more bugs per point."
    )
    unclear = [kpi("velocity_acceleration", 1.1, 0.9, 1.3)]
    assert "not distinguishable from the baseline" in headline.summary(unclear, "Acme")
    assert "Verdict" not in headline.summary(unclear, "Acme")


def test_position_against_reference_bands() -> None:
    assert headline.against_bands("agentic_commit_rate", 0.2) == (
        "below the published reference for 2 months after rollout (35 %–45 %)"
    )
    assert headline.against_bands("agentic_commit_rate", 0.4) == (
        "within the published reference for 2 months after rollout (35 %–45 %)"
    )
    assert headline.against_bands("agentic_commit_rate", 0.5) == (
        "above the published reference for 2 months after rollout (35 %–45 %)"
    )
    assert headline.against_bands("acr_lines", 0.5) is None
    assert headline.bands_text("review_rejection_rate") == "published target: 20 % fewer rejections than baseline"  # fmt: skip
