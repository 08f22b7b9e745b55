"""Figure builders on inline frames: findings in titles, exact hovers, units, intervals, gaps, fixed colours."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import plotly.graph_objects as go
import polars as pl
import pytest

from dashboards import figures, palette
from dashboards.data import METRIC_COLUMNS

ORG = "__org__"
T0 = datetime(2026, 3, 2, tzinfo=UTC)
SCHEMA = {
    "team": pl.String, "sprint_id": pl.String, "sprint_name": pl.String,
    "sprint_start": pl.Datetime("us", "UTC"), "sprint_end": pl.Datetime("us", "UTC"),
    "sprint_state": pl.String, "metric_id": pl.String, "value": pl.Float64, "numerator": pl.Float64,
    "denominator": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "coverage": pl.Float64,
    "definition_version": pl.Int32, "status": pl.String, "note": pl.String,
}  # fmt: skip


def rows(metric_id: str, values: list[Any], *, team: str = ORG, states: list[str] | None = None,
         parts: list[tuple[float, float]] | None = None, ci: float | None = 0.05) -> pl.DataFrame:  # fmt: skip
    """One row per sprint: a number is ok, None is insufficient data, 'S' is suppressed."""
    out = []
    for i, v in enumerate(values):
        start = T0 + timedelta(days=14 * i)
        status = "suppressed" if v == "S" else ("insufficient_data" if v is None else "ok")
        value = cast(float, v) if status == "ok" else None
        num, den = parts[i] if parts else (None, None)
        out.append({
            "team": team, "sprint_id": f"{team}-{i + 1}", "sprint_name": f"S{i + 1}",
            "sprint_start": start, "sprint_end": start + timedelta(days=14),
            "sprint_state": (states or [])[i] if states else "closed", "metric_id": metric_id,
            "value": value, "numerator": num if status != "suppressed" else None,
            "denominator": den if status != "suppressed" else None,
            "ci_low": value - ci if value is not None and ci else None,
            "ci_high": value + ci if value is not None and ci else None,
            "coverage": 1.0 if status == "ok" else None, "definition_version": 1, "status": status, "note": None,
        })  # fmt: skip
    return pl.DataFrame(out, schema=SCHEMA, orient="row").select(METRIC_COLUMNS)


def lines(fig: go.Figure) -> list[Any]:
    return [t for t in fig.data if getattr(t, "mode", None) == "lines+markers"]


def note(fig: go.Figure) -> str:
    return " ".join(a.text.replace("<br>", " ") for a in fig.layout.annotations if a.name == "note")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- trend


def test_trend_title_states_the_move_over_the_range() -> None:
    fig = figures.trend(rows("acr_lines", [0.12, 0.2, 0.31, 0.43]), "acr_lines")
    assert (
        figures.title_text(fig)
        == "Detected AI share of added lines rose to 43 % in S4 (from 12 % in S1)"
    )


def test_trend_title_for_a_fall_a_team_and_a_ratio() -> None:
    fig = figures.trend(rows("cycle_time_p50", [30.0, 22.5], team="Web"), "cycle_time_p50")
    assert (
        figures.title_text(fig)
        == "Median PR cycle time (Web) fell to 22.5 h in S2 (from 30.0 h in S1)"
    )
    held = figures.trend(rows("velocity_acceleration", [1.5, 1.501]), "velocity_acceleration")
    assert (
        figures.title_text(held)
        == "Velocity against the pre-AI baseline held at 1.50× in S2 (from 1.50× in S1)"
    )


def test_trend_title_compares_teams_when_there_are_several() -> None:
    frame = pl.concat([
        rows("agentic_commit_rate", [0.1, 0.31], team="Web"),
        rows("agentic_commit_rate", [0.05, 0.09], team="Mobile"),
    ])  # fmt: skip
    fig = figures.trend(frame, "agentic_commit_rate")
    assert figures.title_text(fig) == (
        "Agent-authored share of commits, latest closed sprint: highest for Web (31 %), lowest for Mobile (9 %)"
    )


def test_trend_title_prefers_the_last_closed_sprint_over_the_running_one() -> None:
    frame = rows("velocity_points", [40.0, 50.0, 12.0], states=["closed", "closed", "active"])
    assert figures.title_text(figures.trend(frame, "velocity_points", bars=True)) == "Velocity rose to 50 in S2 (from 40 in S1)"  # fmt: skip


def test_trend_hover_carries_the_exact_numbers() -> None:
    frame = rows("acr_lines", [0.12, 1234 / 2856], parts=[(240, 2000), (1234, 2856)])
    trace = lines(figures.trend(frame, "acr_lines"))[0]
    assert list(trace.customdata[1]) == ["S2", "43.21 %", "1,234 / 2,856", "38 % to 48 %", "100 %"]
    assert "%{customdata[1]}" in trace.hovertemplate and "%{customdata[2]}" in trace.hovertemplate
    assert list(trace.y) == [0.12, 1234 / 2856]


def test_trend_axes_carry_units() -> None:
    share = figures.trend(rows("acr_lines", [0.1, 0.2]), "acr_lines")
    assert share.layout.yaxis.title.text == "share (%)" and share.layout.yaxis.tickformat == ".0%"  # type: ignore[attr-defined]
    assert share.layout.xaxis.title.text == "sprint (start date)"  # type: ignore[attr-defined]
    hours = figures.trend(rows("cycle_time_p50", [3.0, 4.0]), "cycle_time_p50")
    assert hours.layout.yaxis.title.text == "hours"  # type: ignore[attr-defined]
    density = figures.trend(rows("bug_density_kloc", [0.5, 0.4]), "bug_density_kloc")
    assert density.layout.yaxis.title.text == "bugs per 1,000 added lines"  # type: ignore[attr-defined]
    assert (
        figures.title_text(density)
        == "Bugs per 1,000 added lines fell to 0.40 in S2 (from 0.50 in S1)"
    )


def test_insufficient_data_is_a_gap_with_a_note() -> None:
    fig = figures.trend(rows("acr_lines", [0.1, None, 0.3]), "acr_lines")
    assert list(lines(fig)[0].y) == [0.1, None, 0.3]
    assert lines(fig)[0].connectgaps is False
    assert note(fig) == "No value: insufficient data in Organisation (S2)."


def test_suppressed_sprints_are_gaps_and_say_so() -> None:
    frame = pl.concat([rows("acr_lines", [0.2, 0.3], team="Web"), rows("acr_lines", ["S", "S", "S"], team="Tiny")])  # fmt: skip
    fig = figures.trend(frame, "acr_lines")
    tiny = next(t for t in lines(fig) if t.name == "Tiny (suppressed)")
    assert list(tiny.y) == [None, None, None]
    assert [row[1] for row in tiny.customdata] == ["—", "—", "—"]
    assert "suppressed (team below the minimum group size) in Tiny (3 sprints)" in note(fig)
    assert "Tiny" not in figures.title_text(fig)


def test_intervals_are_drawn_as_bands() -> None:
    fig = figures.trend(rows("acr_lines", [0.2, 0.3, 0.4], ci=0.05), "acr_lines")
    bands = [t for t in fig.data if t.fill == "toself"]  # type: ignore[attr-defined]
    assert len(bands) == 1 and bands[0].mode == "lines" and bands[0].hoverinfo == "skip"
    assert list(bands[0].y) == pytest.approx([0.25, 0.35, 0.45, 0.35, 0.25, 0.15])


def test_a_band_breaks_at_a_gap_and_a_lone_interval_becomes_an_error_bar() -> None:
    fig = figures.trend(rows("acr_lines", [0.2, 0.3, None, 0.5]), "acr_lines")
    bands = [t for t in fig.data if t.fill == "toself"]  # type: ignore[attr-defined]
    assert len(bands) == 1 and len(bands[0].x) == 4
    errors = lines(fig)[0].error_y
    assert list(errors.array) == pytest.approx([0.05, 0.05, None, 0.05])


def test_reference_bands_come_from_the_definitions() -> None:
    fig = figures.trend(rows("agentic_commit_rate", [0.2, 0.3]), "agentic_commit_rate")
    shapes = [(s.y0, s.y1) for s in fig.layout.shapes]  # type: ignore[attr-defined]
    assert shapes == [(0.35, 0.45), (0.6, 0.7)]
    speed = figures.trend(rows("velocity_acceleration", [1.2, 1.4]), "velocity_acceleration")
    assert any(a.text == "baseline (1×)" for a in speed.layout.annotations)  # type: ignore[attr-defined]


def test_team_colours_are_fixed_whatever_the_selection() -> None:
    every = palette.team_colors(["Web", "Mobile", "Tiny"])
    alone = figures.trend(rows("acr_lines", [0.1, 0.2], team="Web"), "acr_lines", colors=every)
    both = figures.trend(
        pl.concat([rows("acr_lines", [0.1, 0.2], team="Mobile"), rows("acr_lines", [0.1, 0.2], team="Web")]),
        "acr_lines", colors=every,
    )  # fmt: skip
    web = [t.line.color for t in lines(alone) + lines(both) if t.name == "Web"]
    assert (
        web == [every["Web"], every["Web"]] == ["#59A14F", "#59A14F"]
    )  # third of Mobile, Tiny, Web
    assert every[ORG] == palette.ORGANISATION
    assert palette.team_colors(["Web", "Mobile"]) == {
        "Mobile": "#4E79A7",
        "Web": "#F28E2B",
        ORG: "#8C8C8C",
    }


def test_organisation_label_from_names() -> None:
    fig = figures.trend(rows("acr_lines", [0.1, 0.2]), "acr_lines", names={ORG: "Acme"})
    assert lines(fig)[0].name == "Acme"


def test_no_data_says_so() -> None:
    fig = figures.trend(rows("acr_lines", [None, None]), "acr_lines")
    assert (
        figures.title_text(fig)
        == "Detected AI share of added lines: no sprint in this range has enough data yet"
    )


# --------------------------------------------------------------------------- other builders


def mix(
    records: list[tuple[int, str, str, int]], *, states: list[str] | None = None
) -> pl.DataFrame:
    out = []
    for sprint, tool, mode, commits in records:
        start = T0 + timedelta(days=14 * sprint)
        out.append({
            "team": ORG, "sprint_id": str(sprint), "sprint_name": f"S{sprint + 1}", "sprint_start": start,
            "sprint_end": start + timedelta(days=14), "sprint_state": (states or [])[sprint] if states else "closed",
            "tool": tool, "mode": mode, "commits": commits, "lines": commits * 10, "prs": 1,
        })  # fmt: skip
    return pl.DataFrame(out)


def test_tool_mix_title_hover_and_fixed_tool_colours() -> None:
    frame = mix([(0, "cursor", "assisted", 4), (1, "claude_code", "agent", 9), (1, "cursor", "assisted", 3),
                 (1, "claude_code", "assisted", 2)])  # fmt: skip
    fig = figures.tool_mix(frame)
    assert (
        figures.title_text(fig)
        == "Claude Code made the most detected AI commits in S2 (79 % of 14)"
    )
    colours = {t.name: t.marker.color for t in fig.data}  # type: ignore[attr-defined]
    assert colours == {"Claude Code": "#D97757", "Cursor": "#3B82F6"}
    claude = next(t for t in fig.data if t.name == "Claude Code")  # type: ignore[attr-defined]
    assert list(claude.customdata[0]) == ["S2", "11", "78.6 %"]
    reordered = figures.tool_mix(frame.reverse())
    assert {t.name: t.marker.color for t in reordered.data} == colours  # type: ignore[attr-defined]
    assert fig.layout.yaxis.title.text == "AI commits" and fig.layout.barmode == "stack"  # type: ignore[attr-defined]


def test_modes_title_states_the_agent_share_and_its_move() -> None:
    frame = mix([(0, "cursor", "assisted", 9), (0, "devin", "agent", 1), (1, "cursor", "assisted", 6),
                 (1, "devin", "agent", 4), (2, "devin", "agent", 9)], states=["closed", "closed", "active"])  # fmt: skip
    fig = figures.modes(frame)
    assert (
        figures.title_text(fig) == "Agents made 40 % of detected AI commits in S2 (from 10 % in S1)"
    )


def test_flavours_keep_the_three_acr_apart() -> None:
    frame = pl.concat([
        rows("acr_lines", [0.3, 0.43]), rows("acr_commits", [0.2, 0.35]), rows("acr_prs", [0.5, 0.67]),
    ])  # fmt: skip
    fig = figures.flavours(frame)
    assert [t.name for t in lines(fig)] == ["ACR (lines)", "ACR (commits)", "ACR (pull requests)"]
    assert (
        figures.title_text(fig)
        == "Detected AI share in S2: 43 % of added lines, 35 % of commits, 67 % of merged PRs"
    )


def test_cycle_breakdown_names_the_longest_part() -> None:
    frame = pl.concat([
        rows("coding_time_p50", [4.0, 3.0]), rows("pickup_time_p50", [8.0, 9.1]),
        rows("review_time_p50", [6.0, 5.0]), rows("cycle_time_p50", [20.0, 22.8]),
    ])  # fmt: skip
    fig = figures.cycle_breakdown(frame)
    assert figures.title_text(fig) == (
        "Pickup time is the longest part of the PR cycle in S2 (median 9.1 h of a 22.8 h median cycle)"
    )
    assert "need not add up" in note(fig)
    assert fig.layout.barmode == "stack"  # type: ignore[attr-defined]


def test_compare_shows_suppressed_teams_without_a_number() -> None:
    frame = pl.concat([
        rows("acr_lines", [0.48], team="Web"), rows("acr_lines", [0.4], team="Mobile"),
        rows("acr_lines", ["S"], team="Tiny"),
    ])  # fmt: skip
    fig = figures.compare(frame, "acr_lines", sprint_label="S1")
    bar = fig.data[0]
    assert list(bar.y) == ["Mobile · 40 %", "Tiny · suppressed", "Web · 48 %"]  # type: ignore[attr-defined]
    assert list(bar.x) == [0.4, 0, 0.48]  # type: ignore[attr-defined]
    assert figures.title_text(fig) == (
        "Detected AI share of added lines in S1: highest for Web (48 %), lowest for Mobile (40 %); 1 team suppressed"
    )
    assert fig.layout.xaxis.title.text == "share (%)"  # type: ignore[attr-defined]


def test_durability_compares_ai_with_human_lines() -> None:
    frame = pl.concat([rows("ai_durability", [0.8, 0.82]), rows("human_durability", [0.9, 0.88])])
    fig = figures.durability(frame)
    assert figures.title_text(fig) == (
        "82 % of AI-added lines were still alive after 30 days in S2, against 88 % of human-added lines"
    )
    # Each line shares its band's legend group: Plotly lays grouped and ungrouped traces of a
    # legend above the plot on separate rows, which ran into the title.
    groups = [(t.name, t.legendgroup, t.showlegend) for t in fig.data]  # type: ignore[attr-defined]
    assert all(group for _, group, _ in groups), groups
    shown = [name for name, _, showlegend in groups if showlegend is not False]
    assert shown == ["AI-added lines", "human-added lines"]


def test_figures_read_on_light_and_dark_pages() -> None:
    layout: Any = figures.trend(rows("acr_lines", [0.1, 0.2]), "acr_lines").layout
    assert layout.paper_bgcolor == "rgba(0,0,0,0)" and layout.plot_bgcolor == "rgba(0,0,0,0)"
    assert layout.yaxis.gridcolor == palette.GRID


def test_long_titles_wrap_for_display_only() -> None:
    frame = pl.concat([rows("acr_lines", [0.1, 0.2], team="A very long team name indeed"),
                       rows("acr_lines", [0.3, 0.4], team="Another long team name")])  # fmt: skip
    fig = figures.trend(frame, "acr_lines")
    assert "<br>" in fig.layout.title.text  # type: ignore[attr-defined]
    assert "<br>" not in figures.title_text(fig)


def test_strips_draw_many_teams_as_one_trace_with_gaps_named() -> None:
    frame = pl.concat(
        [rows("acr_lines", [0.1 * (i % 5), 0.2, 0.3], team=f"Team {i:02d}") for i in range(12)]
        + [rows("acr_lines", ["S", "S", "S"], team="Tiny")]
    )
    fig = figures.strips(frame, "acr_lines")
    assert len(fig.data) == 1
    trace: Any = fig.data[0]
    assert len(trace.x) == 36 and "Tiny" not in set(trace.y)
    assert trace.marker.colorbar.title.text == "share (%)"
    assert list(fig.layout.yaxis.categoryarray)[-1] == "Team 00"  # type: ignore[attr-defined]
    assert "suppressed (team below the minimum group size) in Tiny (3 sprints)" in note(fig)
    assert figures.title_text(fig).startswith("Detected AI share of added lines, latest closed sprint: highest for")  # fmt: skip


def test_values_read_as_the_board_expects() -> None:
    from dashboards import formatting as fmt

    assert fmt.value("bug_density_change", -0.004) == "0 %"
    assert fmt.value("bug_density_change", -0.12) == "-12 %"
    assert fmt.value("velocity_acceleration", 1.6) == "1.60×"
    assert fmt.value("acr_lines", 0.4321, precise=True) == "43.21 %"
    assert fmt.value("deployment_frequency", 0.857) == "0.86 per day"
    assert fmt.value("velocity_points", 1234.0) == "1,234"
    assert fmt.value("acr_lines", None) == "—"
    assert fmt.delta("acr_lines", 0.43, 0.38) == "+5.0 pts"
    assert fmt.delta("cycle_time_p50", 22.5, 24.0) == "-1.5 h"
    assert fmt.interval("cycle_time_p85", 12.0, None) == "12.0 h to …"
