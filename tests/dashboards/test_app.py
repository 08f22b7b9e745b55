"""Every dashboard page through AppTest: renders, shows the warehouse's numbers, follows the filters, keeps privacy."""

import sys
import types
from pathlib import Path

import duckdb
import pytest

from dashboards import formatting as fmt
from tests.dashboards.fixture_warehouse import (
    COUNTED,
    GAP,
    ORG,
    SECRET_NOTE,
    Fixture,
    build_empty,
    build_without_metrics,
)
from tests.dashboards.support import PAGES, Open, charts, texts

pytest_plugins = ("tests.dashboards.support",)


def warehouse_value(path: Path, team: str, sprint_id: str, metric_id: str) -> tuple[float | None, str]:  # fmt: skip
    """The number a page must show, straight from sprint_metrics."""
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(
            "SELECT value, status FROM sprint_metrics WHERE team = ? AND sprint_id = ? AND metric_id = ?",
            [team, sprint_id, metric_id],
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def tiles(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_exception(open_app: Open, warehouse: Fixture, page: str) -> None:  # fmt: skip
    at = open_app(warehouse.path, page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_of_an_empty_warehouse_explains_how_to_fill_it(open_app: Open, tmp_path: Path, page: str) -> None:  # fmt: skip
    at = open_app(build_empty(tmp_path / "empty.duckdb"), page)
    assert not at.exception
    shown = texts(at)
    assert "No data to show yet" in shown
    for command in ("sprintproof demo", "sprintproof ingest", "sprintproof metrics"):
        assert command in shown
    assert not at.metric


def test_a_missing_warehouse_explains_how_to_create_one(open_app: Open, tmp_path: Path) -> None:
    at = open_app(tmp_path / "nowhere" / "warehouse.duckdb")
    assert not at.exception
    shown = texts(at)
    assert "does not exist" in shown and "sprintproof demo" in shown


def test_no_warehouse_at_all_explains_how_to_start(open_app: Open) -> None:
    at = open_app(None)
    assert not at.exception
    assert "SPRINTPROOF_WAREHOUSE" in texts(at)


def test_a_warehouse_without_metrics_asks_for_sprintproof_metrics(open_app: Open, tmp_path: Path) -> None:  # fmt: skip
    at = open_app(build_without_metrics(tmp_path / "raw.duckdb"), "delivery")
    assert not at.exception
    shown = texts(at)
    assert "not been computed" in shown and "sprintproof metrics" in shown


def test_a_file_that_is_no_warehouse_is_reported_not_raised(open_app: Open, tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all" * 100)
    at = open_app(junk)
    assert not at.exception
    assert "cannot be read" in texts(at)


# --------------------------------------------------------------------------- Board overview


def test_overview_tiles_show_the_warehouse_numbers_of_the_last_closed_sprint(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path)
    sprint = warehouse.last_closed
    shown = tiles(at)
    for label, metric_id in (
        ("ACR (lines)", "acr_lines"),
        ("Agentic commit rate", "agentic_commit_rate"),
        ("Velocity acceleration", "velocity_acceleration"),
        ("Bug density change", "bug_density_change"),
        ("Cycle time (median)", "cycle_time_p50"),
    ):
        value, status = warehouse_value(warehouse.path, ORG, sprint.org_id, metric_id)
        assert status == "ok"
        assert shown[label] == fmt.value(metric_id, value)
    # The hand-chosen values, so a formatting change cannot hide a wrong number.
    assert shown["ACR (lines)"] == "43 %"
    assert shown["Velocity acceleration"] == "1.60×"
    assert shown["Cycle time (median)"] == "22.5 h"
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["ACR (lines)"] == "+5.0 pts"  # 38 % in the sprint before
    assert deltas["Cycle time (median)"] == "-1.5 h"
    assert f"Organisation · {sprint.org_name}" in texts(at) or f"My organisation · {sprint.org_name}" in texts(at)  # fmt: skip


def test_overview_states_intervals_reference_bands_and_a_summary(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path)
    shown = texts(at)
    assert "90 % interval 1.45× to 1.75×" in shown
    assert "35 %–45 % (2 months after rollout)" in shown
    assert "1×–4× (published ceiling for agentic teams)" in shown
    summary = next(m.value for m in at.markdown if "detected AI produced" in m.value)
    assert "43 % of the lines" in summary
    assert "Velocity was 1.60× the pre-AI baseline" in summary
    assert "below the published reference for 2 months after rollout" in summary


def test_organisation_name_comes_from_the_settings(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, settings={"organisation": "Acme Robotics"})
    assert f"Acme Robotics · {warehouse.last_closed.org_name}" in [s.value for s in at.subheader]


def test_team_filter_in_the_url_shows_that_team(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, query={"team": "Web"})
    sprint = warehouse.last_closed
    value, _ = warehouse_value(warehouse.path, "Web", sprint.team_id("Web"), "acr_lines")
    assert tiles(at)["ACR (lines)"] == fmt.value("acr_lines", value) == "48 %"
    assert [s.value for s in at.subheader] == [f"Web · {sprint.team_name('Web')}"]
    assert at.multiselect(key="filter_teams").value == ["Web"]


def test_sprint_range_in_the_url_moves_the_focus_sprint(open_app: Open, warehouse: Fixture) -> None:
    first, last = warehouse.sprints[1], warehouse.sprints[3]
    at = open_app(warehouse.path, query={"from": first.org_id, "to": last.org_id})
    assert tiles(at)["ACR (lines)"] == "26 %"
    assert {m.label: m.delta for m in at.metric}["ACR (lines)"] == "+6.0 pts"
    assert at.select_slider(key="filter_sprints").value == (first.org_id, last.org_id)


def test_changing_the_team_widget_changes_the_numbers_and_the_url(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path)
    assert tiles(at)["ACR (lines)"] == "43 %"
    at.multiselect(key="filter_teams").set_value(["Mobile"]).run()
    assert tiles(at)["ACR (lines)"] == "40 %"
    assert at.query_params["team"] in ("Mobile", ["Mobile"])


def test_filters_survive_a_page_change(open_app: Open, warehouse: Fixture) -> None:
    first = warehouse.sprints[2].org_id
    at = open_app(
        warehouse.path, "delivery", query={"from": first, "team": "Web", "repo": "web-app"}
    )
    assert at.select_slider(key="filter_sprints").value == (first, warehouse.sprints[-1].org_id)
    assert at.multiselect(key="filter_teams").value == ["Web"]
    assert at.multiselect(key="filter_repos").value == ["web-app"]
    at.switch_page("app_pages/quality.py").run()
    assert at.select_slider(key="filter_sprints").value == (first, warehouse.sprints[-1].org_id)
    assert dict(at.query_params) == {"from": first, "team": "Web", "repo": "web-app"}


def test_unknown_values_in_the_url_are_ignored(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(
        warehouse.path, query={"team": ["Nope", "Web"], "from": "1999-01-01", "repo": "x"}
    )
    assert not at.exception
    assert at.multiselect(key="filter_teams").value == ["Web"]
    assert at.multiselect(key="filter_repos").value == []


def test_insufficient_data_is_stated_not_drawn_as_a_number(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    gap = warehouse.sprints[GAP]
    at = open_app(warehouse.path, query={"team": "Mobile", "to": gap.org_id})
    assert tiles(at)["ACR (lines)"] == "—"
    assert "insufficient data (4 work commits (fewer than 5))" in texts(at)
    # The trend leaves a gap there and says why.
    acr = next(c for c in charts(at) if "added lines" in c)
    assert "insufficient data in Mobile (MOB Sprint 6)" in acr


def test_a_running_sprint_is_not_the_focus(open_app: Open, warehouse: Fixture) -> None:
    running = warehouse.sprints[-1]
    at = open_app(warehouse.path, query={"from": running.org_id})
    # Only the running sprint is in range: it is shown, and its velocity is not compared yet.
    assert tiles(at)["Velocity acceleration"] == "—"
    assert "velocity of a running sprint is not compared" in texts(at)


# --------------------------------------------------------------------------- privacy


def test_a_suppressed_team_is_shown_as_suppressed_and_never_its_numbers(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, "teams")
    table = at.dataframe[0].value
    tiny = table[table["team"] == "Tiny"].iloc[0]
    assert all(tiny[c] == "suppressed" for c in table.columns if c not in ("team", "sprint"))
    assert "Suppressed: Tiny" in texts(at)
    for page in PAGES:
        shown = open_app(warehouse.path, page, query={"team": "Tiny"})
        assert SECRET_NOTE not in texts(shown), page
        for frame in shown.dataframe:
            assert SECRET_NOTE not in frame.value.to_string(), page


def test_a_suppressed_team_shows_no_tile_values(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, query={"team": "Tiny"})
    assert set(tiles(at).values()) == {"—"}
    assert "suppressed: the team is below the minimum group size" in texts(at)


def test_evidence_of_a_suppressed_team_is_counted_but_not_listed(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, "adoption")
    shown = texts(at)
    acr_commits, agentic = COUNTED["acr_commits"], COUNTED["agentic_commit_rate"]
    assert (
        f"**{acr_commits[0]:.0f}** AI-attributed of **{acr_commits[1]:.0f}** work commits" in shown
    )
    assert "2 of them belong to teams below the minimum group size" in shown
    listed = at.dataframe[0].value
    assert len(listed) == 5 and "Tiny" not in set(listed["team"])
    assert "Tiny secret" not in listed.to_string()
    assert "author" not in listed.columns  # per-person views are off by default
    at.radio(key="evidence_number").set_value("agentic_commit_rate").run()
    assert f"**{agentic[0]:.0f}** agent-authored of **{agentic[1]:.0f}** work commits" in texts(at)


def test_evidence_names_the_rule_that_decided_each_commit(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, "adoption")
    listed = at.dataframe[0].value.set_index("subject")
    assert listed.loc["Add retry budget to checkout", "decided_by"] == "C4"
    assert listed.loc["Add retry budget to checkout", "all_rules"] == "C3.body, C4"
    assert listed.loc["Tidy up session store", "decided_by"] == "U1"
    assert listed.loc["Tidy up session store", "signal"].startswith(
        "trailer: Co-authored-by: Cursor"
    )


def test_evidence_of_pull_requests_and_the_repository_filter(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, "adoption")
    at.radio(key="evidence_number").set_value("acr_prs").run()
    assert "**2** AI-attributed of **3** merged non-bot PRs" in texts(at)
    assert set(at.dataframe[0].value["decided_by"]) == {"G2", "C1"}
    filtered = open_app(warehouse.path, "adoption", query={"repo": "mobile-app"})
    assert "**1** AI-attributed of **5** work commits" in texts(filtered)
    assert "Repository filter (mobile-app)" in texts(filtered)


def test_per_person_views_add_the_author(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "adoption", settings={"privacy": {"per_person_views": True}})
    assert "author" in at.dataframe[0].value.columns


# --------------------------------------------------------------------------- other pages


def test_adoption_tool_mix_and_flavours(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "adoption")
    specs = charts(at)
    sprint = warehouse.last_closed.org_name
    assert any(f"Detected AI share in {sprint}: 43 % of added lines, 35 % of commits, 67 % of merged PRs" in s for s in specs)  # fmt: skip
    assert any("Claude Code made the most detected AI commits" in s for s in specs)
    assert any("Agents made" in s for s in specs)
    at.segmented_control(key="mix_measure").set_value("lines").run()
    specs = charts(at)
    assert any("detected AI-added lines" in s for s in specs)


def test_delivery_shows_velocity_acceleration_with_its_interval(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, "delivery")
    assert tiles(at)["Velocity acceleration"] == "1.60×"
    assert "90 % interval 1.45× to 1.75×" in texts(at)
    specs = " ".join(charts(at))
    assert "Velocity against the pre-AI baseline rose to 1.60×" in specs
    assert "longest part of the PR cycle" in specs


def test_delivery_scope_picker_switches_to_a_team(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "delivery")
    at.selectbox(key="delivery_scope").set_value("Web").run()
    value, _ = warehouse_value(warehouse.path, "Web", warehouse.last_closed.team_id("Web"), "velocity_acceleration")  # fmt: skip
    assert tiles(at)["Velocity acceleration"] == fmt.value("velocity_acceleration", value)


def test_quality_says_durability_is_not_computed_yet(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "quality")
    assert "not computed yet" in texts(at)
    assert tiles(at)["Bug density change"] == "-12 %"
    # A tile whose label names the unit shows the bare number ("1.60", not "1.6 per 100 points").
    value, status = warehouse_value(warehouse.path, ORG, warehouse.last_closed.org_id, "bug_density_points")  # fmt: skip
    assert status == "ok"
    shown = tiles(at)["Bugs per 100 points"]
    assert shown == fmt.in_title("bug_density_points", value) and "per" not in shown


def test_quality_shows_durability_when_present(open_app: Open, durable_warehouse: Fixture) -> None:
    at = open_app(durable_warehouse.path, "quality")
    assert "not computed yet" not in texts(at)
    specs = " ".join(charts(at))
    assert "of AI-added lines were still alive after 30 days" in specs


def test_teams_side_by_side(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "teams")
    table = at.dataframe[0].value.set_index("team")
    assert table.loc["Web", "AI contribution ratio (lines)"] == "48 %"
    assert table.loc["Mobile", "AI contribution ratio (lines)"] == "40 %"
    specs = " ".join(charts(at))
    assert "highest for Web (48 %), lowest for Mobile (40 %); 1 team suppressed" in specs


def test_data_health_reports_freshness_failures_drift_and_identities(open_app: Open, warehouse: Fixture) -> None:  # fmt: skip
    at = open_app(warehouse.path, "health")
    warnings = [w.value for w in at.warning]
    assert any("git mobile-app: the last run failed: mirror fetch refused" in w for w in warnings)
    assert any("github github: rate limit reached" in w for w in warnings)
    assert any("git mobile-app: no successful run for 7" in w for w in warnings)
    assert any("schema drift" in w for w in warnings)
    frames = [f.value for f in at.dataframe]
    drift = next(f for f in frames if "new fields" in f.columns)
    assert drift.iloc[0]["new fields"] == "pull_requests.auto_merge_request"
    assert drift.iloc[0]["missing fields"] == "issues.milestone"
    assert "**2** identities belong to no configured person" in texts(at)
    assert any("old-laptop@users.example" in f.to_string() for f in frames)
    assert "metrics: identity conflict: ana@acme.example" in warnings
    labels = [m.label for m in at.metric]
    assert "Commits with complete line counts" in labels


def test_data_health_repository_filter(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "health", query={"repo": "web-app"})
    sources = at.dataframe[0].value
    assert set(sources[sources["kind"] == "git"]["scope"]) == {"web-app"}


def test_sprint_report_offers_the_csv_and_says_when_the_pdf_is_unavailable(open_app: Open, warehouse: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "dashboards.report", None)  # as if the module were absent
    at = open_app(warehouse.path, "sprint_report")
    assert at.selectbox(key="report_sprint").value == warehouse.last_closed.org_id
    assert any(d.proto.label == "Download CSV" for d in at.get("download_button"))  # type: ignore[attr-defined]
    at.button(key="build_pdf").click().run()
    assert any("not available in this installation" in w.value for w in at.warning)
    assert not at.exception


def test_sprint_report_hands_the_board_pack_over_for_download(open_app: Open, warehouse: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    calls = []

    def build_board_pack(path, *, sprint_id, teams, organisation):  # type: ignore[no-untyped-def]
        calls.append((Path(path), sprint_id, tuple(teams), organisation))
        return b"%PDF-1.7 board pack"

    module = types.ModuleType("dashboards.report")
    module.build_board_pack = build_board_pack  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dashboards.report", module)
    at = open_app(warehouse.path, "sprint_report")
    at.button(key="build_pdf").click().run()
    assert calls == [(warehouse.path, warehouse.last_closed.org_id, (ORG, "Mobile", "Tiny", "Web"), "My organisation")]  # fmt: skip
    assert any(d.proto.label == "Download the board pack" for d in at.get("download_button"))  # type: ignore[attr-defined]


def test_sprint_report_tables_per_scope(open_app: Open, warehouse: Fixture) -> None:
    at = open_app(warehouse.path, "sprint_report")
    org = at.dataframe[0].value.set_index("metric")
    assert org.loc["AI contribution ratio (lines)", "value"] == "43 %"
    assert org.loc["AI contribution ratio (commits)", "numerator"] == "7"
    assert any("Tiny" in e.label for e in at.expander)
    assert "suppressed" in texts(at).lower()
    summaries = [m.value for m in at.markdown if "detected AI produced" in m.value]
    assert summaries[0].startswith(
        f"In {warehouse.last_closed.org_name}, detected AI produced 43 %"
    )
    assert "(+5.0 pts on the previous sprint)" in summaries[0]
    # An earlier sprint: its own numbers, compared with the sprint before it.
    at.selectbox(key="report_sprint").set_value(warehouse.sprints[3].org_id).run()
    earlier = next(m.value for m in at.markdown if "detected AI produced" in m.value)
    assert earlier.startswith(f"In {warehouse.sprints[3].org_name}, detected AI produced 26 %")


def test_sprint_report_csv_export(warehouse: Fixture) -> None:
    """The CSV is built from the same rows as the table: the organisation first, notes of suppressed rows blank."""
    import polars as pl

    from dashboards import data

    rows = data.sprint_report(warehouse.path, warehouse.last_closed.org_id, [ORG, "Web", "Tiny"])
    assert rows.get_column("team").unique(maintain_order=True).to_list() == [ORG, "Tiny", "Web"]
    tiny = rows.filter(pl.col("team") == "Tiny")
    assert tiny.get_column("value").null_count() == tiny.height
