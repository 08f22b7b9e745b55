"""Plotly figure builders shared by the dashboard and the board pack: plain `(frame, ...) -> go.Figure`.

Every figure's title states what the data shows (computed from the frame), axes carry units, the
hover gives exact numbers, intervals are drawn as bands or error bars, and sprints without a value
(insufficient data, suppressed) are gaps named in a note under the plot. Colours come from
`dashboards.palette`, so a tool or a team looks the same everywhere. Backgrounds are transparent
and lines mid-tone, so figures read on light and dark pages alike; the board pack may apply its
own template before export.
"""

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from dashboards import formatting as fmt
from dashboards import palette

ORG = "__org__"
TITLE_WIDTH = 62  # characters per title line: a half-width chart holds about that many

STATUS_WORDS = {
    "insufficient_data": "insufficient data",
    "suppressed": "suppressed (team below the minimum group size)",
}


# --------------------------------------------------------------------------- helpers


def title_text(fig: go.Figure) -> str:
    """The figure's title as one plain line (titles are wrapped with <br> for display)."""
    text = fig.layout.title.text or ""  # type: ignore[attr-defined]
    return " ".join(text.replace("<br>", " ").split())


def _wrap(text: str, width: int = TITLE_WIDTH) -> str:
    return "<br>".join(textwrap.wrap(text, width)) if len(text) > width else text


def _label(team: str, names: Mapping[str, str] | None) -> str:
    if names and team in names:
        return names[team]
    return "Organisation" if team == ORG else team


def _colors(teams: Sequence[str], colors: Mapping[str, str] | None) -> dict[str, str]:
    found = palette.team_colors(teams)
    if colors:
        found.update(colors)
    return found


def _number(v: float | None) -> str:
    if not fmt.is_number(v):
        return "—"
    assert v is not None
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.3f}"


def _hover_rows(metric_id: str, rows: pl.DataFrame) -> np.ndarray:
    """Exact numbers for the hover, one row per point (an array: Plotly checks nested lists item by item)."""
    exact = fmt.formatter(metric_id, precise=True)
    rounded = fmt.formatter(metric_id)
    hours = fmt.kind(metric_id) == "hours"
    out = []
    columns = ("sprint_name", "sprint_state", "value", "numerator", "denominator", "ci_low", "ci_high", "coverage")  # fmt: skip
    for name, state, v, num, den, low, high, cover in rows.select(columns).iter_rows():
        if fmt.is_number(low) or fmt.is_number(high):
            spread = f"{rounded(low) if fmt.is_number(low) else '…'} to {rounded(high) if fmt.is_number(high) else '…'}"  # fmt: skip
        else:
            spread = "none"
        if hours and fmt.is_number(den):
            parts = f"{_number(den)} behind it"
        elif fmt.is_number(num) and fmt.is_number(den):
            parts = f"{_number(num)} / {_number(den)}"
        else:
            parts = _number(num) if fmt.is_number(num) else ""
        out.append([
            f"{name} (running)" if state == "active" else (name or ""),
            exact(v),
            parts,
            spread,
            f"{cover * 100:.0f} %" if fmt.is_number(cover) else "—",
        ])  # fmt: skip
    return np.array(out, dtype=object).reshape(len(out), 5)


HOVER = (
    "<b>%{customdata[0]}</b><br>%{fullData.name}: %{customdata[1]}<br>"
    "numerator / denominator: %{customdata[2]}<br>interval: %{customdata[3]}<br>"
    "coverage: %{customdata[4]}<extra></extra>"
)


def _x(rows: pl.DataFrame) -> np.ndarray:
    """Sprint starts as datetime64 (UTC): Plotly takes arrays whole, where lists are checked item by item."""
    return rows.get_column("sprint_start").dt.replace_time_zone(None).to_numpy()


def _ok(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter((pl.col("status") == "ok") & pl.col("value").is_not_null())


def _settled(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows of closed sprints when there are any: a running sprint's numbers are still moving."""
    if "sprint_state" not in rows.columns:
        return rows
    closed = rows.filter(pl.col("sprint_state") == "closed")
    return closed if not closed.is_empty() else rows


def _sprint_label(row: Mapping[str, Any]) -> str:
    name = row.get("sprint_name") or ""
    return f"{name} (running)" if row.get("sprint_state") == "active" else name


def _values(rows: pl.DataFrame) -> list[float | None]:
    """Values with None where the status is not ok, so the line breaks there."""
    return [
        r["value"] if r["status"] == "ok" else None
        for r in rows.select("value", "status").iter_rows(named=True)
    ]


def _runs(rows: pl.DataFrame) -> list[pl.DataFrame]:
    """Consecutive rows that all have both interval bounds: one band polygon each."""
    runs: list[pl.DataFrame] = []
    current: list[int] = []
    flags = (
        rows.select(
            (
                (pl.col("status") == "ok") & pl.col("ci_low").is_not_null() & pl.col("ci_high").is_not_null()
            ).alias("f")
        )
        .get_column("f")
        .to_list()
    )  # fmt: skip
    for index, flag in enumerate(flags):
        if flag:
            current.append(index)
        elif current:
            runs.append(rows[current[0] : current[-1] + 1])
            current = []
    if current:
        runs.append(rows[current[0] : current[-1] + 1])
    return runs


def _band(fig: go.Figure, rows: pl.DataFrame, colour: str, group: str) -> None:
    for run in _runs(rows):
        xs = _x(run)
        highs = run.get_column("ci_high").to_list()
        lows = run.get_column("ci_low").to_list()
        if len(xs) == 1:
            continue  # a single point gets its error bar from the line trace
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([xs, xs[::-1]]),
                y=highs + lows[::-1],
                fill="toself",
                mode="lines",
                fillcolor=palette.translucent(colour, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=group,
                name=f"{group} interval",
            )
        )


def _gaps_note(frames: Sequence[tuple[str, pl.DataFrame]], *, limit: int = 4) -> str | None:
    """'No value: insufficient data in Web (WEB Sprint 27); suppressed in Tiny (3 sprints).'"""
    parts = []
    for status, words in STATUS_WORDS.items():
        items = []
        for label, rows in frames:
            missing = rows.filter(pl.col("status") == status).get_column("sprint_name").to_list()
            if not missing:
                continue
            if len(missing) <= 2:
                items.append(f"{label} ({', '.join(missing)})")
            else:
                items.append(f"{label} ({len(missing)} sprints)")
        if items:
            shown = items[:limit] + ([f"{len(items) - limit} more"] if len(items) > limit else [])
            parts.append(f"{words} in {', '.join(shown)}")
    return "No value: " + "; ".join(parts) + "." if parts else None


def _note(fig: go.Figure, text: str | None) -> None:
    if not text:
        return
    fig.add_annotation(
        text="<br>".join(textwrap.wrap(text, 90)),
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-58,  # below the tick labels and the axis title, whatever the plot's height
        xanchor="left",
        yanchor="top",
        showarrow=False,
        align="left",
        font={"size": 11},
        name="note",
    )
    lines = len(textwrap.wrap(text, 90))
    fig.update_layout(margin={"b": 80 + 16 * lines})


def _layout(fig: go.Figure, title: str, *, y_title: str, tickformat: str | None = None,
            x_title: str = "sprint (start date)", barmode: str | None = None) -> go.Figure:  # fmt: skip
    entries = sum(1 for t in fig.data if t.showlegend is not False)  # type: ignore[attr-defined]
    # Many entries go to the right, a few above the plot: a wrapping legend would run into the title.
    side = entries > 3
    top = entries > 1 and not side
    legend = (
        {
            "orientation": "v",
            "yanchor": "top",
            "y": 1.0,
            "x": 1.02,
            "xanchor": "left",
            "title": {"text": ""},
        }
        if side
        else {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "title": {"text": ""}}
    )
    fig.update_layout(
        # Above the plot (and above a legend there), pushing the margin as far as its lines need.
        title={"text": _wrap(title, TITLE_WIDTH - 16 if side else TITLE_WIDTH), "x": 0, "xanchor": "left", "xref": "paper", "y": 1.0,
               "yanchor": "bottom", "yref": "paper", "automargin": True, "font": {"size": 15},
               "pad": {"b": 34 if top else 12}},
        template="plotly_white",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="closest",
        showlegend=entries > 1,
        legend=legend,
        margin={"l": 60, "r": 20, "t": 20, "b": 60},
    )  # fmt: skip
    if barmode:
        fig.update_layout(barmode=barmode)
    fig.update_xaxes(title_text=x_title, gridcolor=palette.GRID, zeroline=False)
    fig.update_yaxes(title_text=y_title, gridcolor=palette.GRID, zeroline=False, rangemode="tozero")
    if tickformat:
        fig.update_yaxes(tickformat=tickformat)
    return fig


def _reference_bands(fig: go.Figure, metric_id: str) -> None:
    definition = fmt.definition(metric_id)
    if definition is None:
        return
    for band in definition.bands:
        if band.low is None or band.high is None:
            continue
        fig.add_hrect(
            y0=band.low,
            y1=band.high,
            fillcolor=palette.BAND_FILL,
            line_width=0,
            layer="below",
            annotation_text=f"reference: {band.label}",
            annotation_position="top left",
            annotation_font_size=10,
        )
    if fmt.kind(metric_id) == "times":
        fig.add_hline(
            y=1.0,
            line_dash="dot",
            line_color=palette.BAND_LINE,
            annotation_text="baseline (1×)",
            annotation_position="bottom right",
            annotation_font_size=10,
        )


def _moved(metric_id: str, now: float, before: float) -> str:
    k = fmt.kind(metric_id)
    small = abs(now - before) < (
        0.005 if k in ("share", "change") else 0.01 * max(abs(before), 1e-9)
    )
    if small:
        return "held at"
    return "rose to" if now > before else "fell to"


# --------------------------------------------------------------------------- findings


def trend_finding(
    rows: pl.DataFrame, metric_id: str, names: Mapping[str, str] | None = None
) -> str:
    """What a metric's series says: its move over the range for one scope, the spread for several."""
    label = fmt.phrase(metric_id)
    ok = _settled(_ok(rows)).sort("sprint_start")
    if ok.is_empty():
        return f"{label}: no sprint in this range has enough data yet"
    teams = ok.get_column("team").unique(maintain_order=True).to_list()
    if len(teams) == 1:
        first, last = ok.row(0, named=True), ok.row(-1, named=True)
        now = fmt.in_title(metric_id, last["value"])
        where = f" ({_label(teams[0], names)})" if teams[0] != ORG else ""
        if first["sprint_id"] == last["sprint_id"]:
            return f"{label}{where}: {now} in {_sprint_label(last)}"
        verb = _moved(metric_id, last["value"], first["value"])
        before = fmt.in_title(metric_id, first["value"])
        return f"{label}{where} {verb} {now} in {_sprint_label(last)} (from {before} in {first['sprint_name']})"
    latest = ok.group_by("team", maintain_order=True).last().sort("value", descending=True)
    top, bottom = latest.row(0, named=True), latest.row(-1, named=True)
    return (
        f"{label}, latest closed sprint: highest for {_label(top['team'], names)} "
        f"({fmt.in_title(metric_id, top['value'])}), lowest for {_label(bottom['team'], names)} "
        f"({fmt.in_title(metric_id, bottom['value'])})"
    )


# --------------------------------------------------------------------------- builders


def trend(
    rows: pl.DataFrame,
    metric_id: str,
    *,
    colors: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    bars: bool = False,
    title: str | None = None,
) -> go.Figure:
    """One metric over sprints, a line (or bars) per team, with its interval band and reference bands."""
    rows = rows.filter(pl.col("metric_id") == metric_id).sort("team", "sprint_start")
    teams = rows.get_column("team").unique(maintain_order=True).to_list()
    colours = _colors(teams, colors)
    fig = go.Figure()
    noted: list[tuple[str, pl.DataFrame]] = []
    for team in teams:
        part = rows.filter(pl.col("team") == team)
        label = _label(team, names)
        shown = label + (
            " (suppressed)" if (part.get_column("status") == "suppressed").all() else ""
        )
        colour = colours.get(team, palette.ORGANISATION)
        noted.append((label, part))
        errors = _error_bars(part) if bars or _single_points(part) else None
        if bars:
            fig.add_trace(
                go.Bar(
                    x=_x(part),
                    y=_values(part),
                    name=shown,
                    marker_color=colour,
                    # The running sprint is paler: its number is still growing.
                    marker_opacity=[
                        0.45 if s == "active" else 1.0
                        for s in part.get_column("sprint_state").to_list()
                    ],
                    customdata=_hover_rows(metric_id, part),
                    hovertemplate=HOVER,
                    error_y=errors,
                    legendgroup=label,
                )
            )
            continue
        _band(fig, part, colour, label)
        fig.add_trace(
            go.Scatter(
                x=_x(part),
                y=_values(part),
                mode="lines+markers",
                name=shown,
                line={"color": colour, "width": 2.5 if team == ORG else 2},
                marker={"size": 6},
                connectgaps=False,
                customdata=_hover_rows(metric_id, part),
                hovertemplate=HOVER,
                error_y=errors,
                legendgroup=label,
            )
        )
    _reference_bands(fig, metric_id)
    _layout(
        fig,
        title or trend_finding(rows, metric_id, names),
        y_title=fmt.axis_title(metric_id),
        tickformat=fmt.tickformat(metric_id),
        barmode="group" if bars else None,
    )
    _note(fig, _gaps_note(noted))
    return fig


def strips(
    rows: pl.DataFrame,
    metric_id: str,
    *,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """One metric for many teams over sprints: a row of coloured cells per team, one trace for all.

    Where a line per team would be a tangle (and slow to draw), each team sprint is a square
    coloured by its value; sprints without a value stay blank and are named in the note.
    """
    rows = rows.filter(pl.col("metric_id") == metric_id).sort("team", "sprint_start")
    teams = sorted(rows.get_column("team").unique().to_list(), key=lambda t: (t != ORG, t))
    ok = _ok(rows)
    labels = [_label(t, names) for t in ok.get_column("team").to_list()]
    sprints = max((rows.filter(pl.col("team") == t).height for t in teams), default=1)
    fig = go.Figure(
        go.Scatter(
            x=_x(ok),
            y=np.array(labels, dtype=object),
            mode="markers",
            marker={
                "symbol": "square",
                "size": max(6, min(16, 900 // max(sprints, 1))),
                "color": ok.get_column("value").to_numpy(),
                "colorscale": "Viridis",
                "reversescale": fmt.better(metric_id) == "down",
                "colorbar": {
                    "title": {"text": fmt.axis_title(metric_id)},
                    "tickformat": fmt.tickformat(metric_id) or "",
                },
                "line": {"width": 0},
            },
            customdata=_hover_rows(metric_id, ok),
            hovertemplate="<b>%{y}</b> · %{customdata[0]}<br>value: %{customdata[1]}<br>"
            "numerator / denominator: %{customdata[2]}<br>interval: %{customdata[3]}<extra></extra>",
            name=fmt.name(metric_id),
            showlegend=False,
        )
    )
    _layout(fig, title or trend_finding(rows, metric_id, names), y_title="", tickformat=None)
    order = [_label(t, names) for t in teams]
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], rangemode="normal", type="category")  # fmt: skip
    fig.update_layout(height=160 + 22 * len(teams))
    _note(fig, _gaps_note([(_label(t, names), rows.filter(pl.col("team") == t)) for t in teams]))
    return fig


def _single_points(rows: pl.DataFrame) -> bool:
    """Whether some interval stands alone (no neighbour to draw a band to): then use error bars."""
    runs = _runs(rows)
    return any(run.height == 1 for run in runs)


def _error_bars(rows: pl.DataFrame) -> dict[str, Any] | None:
    values = _values(rows)
    lows, highs = rows.get_column("ci_low").to_list(), rows.get_column("ci_high").to_list()
    if all(low is None and high is None for low, high in zip(lows, highs, strict=True)):
        return None
    plus = [
        h - v if v is not None and h is not None else None
        for v, h in zip(values, highs, strict=True)
    ]
    minus = [
        v - low if v is not None and low is not None else None
        for v, low in zip(values, lows, strict=True)
    ]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "thickness": 1.2, "width": 3}  # fmt: skip


def _series(fig: go.Figure, metric_id: str, part: pl.DataFrame, label: str, colour: str,
            dash: str = "solid") -> None:  # fmt: skip
    """One metric's line over sprints with its interval band, both in one legend group (a line
    outside its band's group would put the legend on two rows, into the title)."""
    _band(fig, part, colour, label)
    fig.add_trace(
        go.Scatter(
            x=_x(part),
            y=_values(part),
            mode="lines+markers",
            name=label,
            legendgroup=label,
            line={"color": colour, "dash": dash, "width": 2},
            connectgaps=False,
            customdata=_hover_rows(metric_id, part),
            hovertemplate=HOVER,
        )
    )


def flavours(
    rows: pl.DataFrame,
    *,
    metric_ids: Sequence[str] = ("acr_lines", "acr_commits", "acr_prs"),
    names: Mapping[str, str] | None = None,
) -> go.Figure:
    """Several share metrics of one scope over sprints (ACR in its three flavours), never mixed into one."""
    styles = dict(zip(metric_ids, ("solid", "dash", "dot", "dashdot"), strict=False))
    colours = ("#4E79A7", "#F28E2B", "#59A14F", "#B07AA1")
    teams = rows.get_column("team").unique().to_list()
    scope = teams[0] if len(teams) == 1 else ORG
    fig = go.Figure()
    noted = []
    latest: list[str] = []
    for index, metric_id in enumerate(metric_ids):
        part = rows.filter(pl.col("metric_id") == metric_id).sort("sprint_start")
        if part.is_empty():
            continue
        label = fmt.name(metric_id).replace("AI contribution ratio ", "ACR ")
        colour = colours[index % len(colours)]
        noted.append((label, part))
        _series(fig, metric_id, part, label, colour, styles.get(metric_id, "solid"))
        ok = _settled(_ok(part))
        if not ok.is_empty():
            last = ok.row(-1, named=True)
            unit = {
                "acr_lines": "of added lines",
                "acr_commits": "of commits",
                "acr_prs": "of merged PRs",
            }
            latest.append(
                f"{fmt.value(metric_id, last['value'])} {unit.get(metric_id, fmt.name(metric_id))}"
            )
    ok_all = _settled(_ok(rows)).sort("sprint_start")
    if latest and not ok_all.is_empty():
        sprint = _sprint_label(ok_all.row(-1, named=True))
        where = f" for {_label(scope, names)}" if scope != ORG else ""
        title = f"Detected AI share{where} in {sprint}: {', '.join(latest)}"
    else:
        title = "Detected AI share: no sprint in this range has enough data yet"
    _layout(fig, title, y_title="detected AI share (%)", tickformat=".0%")
    _note(fig, _gaps_note(noted))
    return fig


def _mix_totals(mix: pl.DataFrame, by: str, measure: str) -> pl.DataFrame:
    return (
        mix.group_by("sprint_start", "sprint_name", "sprint_state", by)
        .agg(pl.col(measure).sum().alias("amount"))
        .sort("sprint_start", by)
    )


MEASURE_WORDS = {"commits": "AI commits", "lines": "AI-added lines", "prs": "merged AI PRs"}


def tool_mix(mix: pl.DataFrame, *, measure: str = "commits") -> go.Figure:
    """Detected AI work per sprint, stacked by tool, in one fixed colour per tool."""
    totals = _mix_totals(mix, "tool", measure)
    fig = go.Figure()
    per_sprint = totals.group_by("sprint_start").agg(pl.col("amount").sum().alias("all"))
    totals = totals.join(per_sprint, on="sprint_start")
    for tool in sorted(totals.get_column("tool").unique().to_list()):
        part = totals.filter(pl.col("tool") == tool)
        fig.add_trace(
            go.Bar(
                x=_x(part),
                y=part.get_column("amount").to_list(),
                name=fmt.tool_name(tool),
                marker_color=palette.tool_color(tool),
                customdata=[
                    [
                        _sprint_label(r),
                        f"{r['amount']:,}",
                        f"{r['amount'] / r['all'] * 100:.1f} %" if r["all"] else "—",
                    ]
                    for r in part.iter_rows(named=True)
                ],
                hovertemplate="<b>%{customdata[0]}</b><br>%{fullData.name}: %{customdata[1]} "
                + MEASURE_WORDS.get(measure, measure)
                + " (%{customdata[2]} of detected AI)<extra></extra>",
            )
        )
    words = MEASURE_WORDS.get(measure, measure)
    latest = _settled(totals.filter(pl.col("all") > 0))
    if latest.is_empty():
        title = f"No detected {words} in this range"
    else:
        last_start = latest.get_column("sprint_start").max()
        last = latest.filter(pl.col("sprint_start") == last_start).sort(
            "amount", "tool", descending=[True, False]
        )
        top = last.row(0, named=True)
        title = (
            f"{fmt.tool_name(top['tool'])} made the most detected {words} in {top['sprint_name']} "
            f"({top['amount'] / top['all'] * 100:.0f} % of {top['all']:,})"
        )
    return _layout(fig, title, y_title=words, barmode="stack")


def modes(mix: pl.DataFrame, *, measure: str = "commits") -> go.Figure:
    """Agent against assisted AI work per sprint (an agent authored it, or a human with AI help)."""
    totals = _mix_totals(mix.filter(pl.col("mode").is_in(["agent", "assisted"])), "mode", measure)
    per_sprint = totals.group_by("sprint_start").agg(pl.col("amount").sum().alias("all"))
    totals = totals.join(per_sprint, on="sprint_start").sort("sprint_start")
    fig = go.Figure()
    for mode in ("agent", "assisted"):
        part = totals.filter(pl.col("mode") == mode)
        fig.add_trace(
            go.Bar(
                x=_x(part),
                y=part.get_column("amount").to_list(),
                name="agent (AI authored)" if mode == "agent" else "assisted (human with AI)",
                marker_color=palette.MODES[mode],
                customdata=[
                    [
                        _sprint_label(r),
                        f"{r['amount']:,}",
                        f"{r['amount'] / r['all'] * 100:.1f} %" if r["all"] else "—",
                    ]
                    for r in part.iter_rows(named=True)
                ],
                hovertemplate="<b>%{customdata[0]}</b><br>%{fullData.name}: %{customdata[1]} (%{customdata[2]})<extra></extra>",
            )
        )
    words = MEASURE_WORDS.get(measure, measure)
    shares = (
        _settled(totals.filter(pl.col("all") > 0))
        .group_by("sprint_start", "sprint_name")
        .agg(
            (
                pl.col("amount").filter(pl.col("mode") == "agent").sum() / pl.col("all").first()
            ).alias("share")
        )
        .sort("sprint_start")
    )
    if shares.is_empty():
        title = f"No detected {words} in this range"
    else:
        last, first = shares.row(-1, named=True), shares.row(0, named=True)
        title = (
            f"Agents made {last['share'] * 100:.0f} % of detected {words} in {last['sprint_name']}"
        )
        if first["sprint_start"] != last["sprint_start"]:
            title += f" (from {first['share'] * 100:.0f} % in {first['sprint_name']})"
    return _layout(fig, title, y_title=words, barmode="stack")


CYCLE_PARTS = ("coding_time_p50", "pickup_time_p50", "review_time_p50")


def cycle_breakdown(rows: pl.DataFrame, *, names: Mapping[str, str] | None = None) -> go.Figure:
    """Median coding, pickup and review time per sprint, with the median cycle time and its interval."""
    fig = go.Figure()
    noted = []
    for metric_id in CYCLE_PARTS:
        part = rows.filter(pl.col("metric_id") == metric_id).sort("sprint_start")
        if part.is_empty():
            continue
        label = fmt.name(metric_id).replace(" (median)", "")
        noted.append((label, part))
        fig.add_trace(
            go.Bar(
                x=_x(part),
                y=_values(part),
                name=f"{label} (median)",
                marker_color=palette.PARTS[metric_id],
                customdata=_hover_rows(metric_id, part),
                hovertemplate=HOVER,
            )
        )
    cycle = rows.filter(pl.col("metric_id") == "cycle_time_p50").sort("sprint_start")
    if not cycle.is_empty():
        noted.append(("cycle time", cycle))
        fig.add_trace(
            go.Scatter(
                x=_x(cycle),
                y=_values(cycle),
                mode="markers+lines",
                name="cycle time (median)",
                line={"color": palette.ORGANISATION, "width": 2},
                marker={"size": 7, "symbol": "diamond"},
                error_y=_error_bars(cycle),
                connectgaps=False,
                customdata=_hover_rows("cycle_time_p50", cycle),
                hovertemplate=HOVER,
            )
        )
    ok = _settled(_ok(rows.filter(pl.col("metric_id").is_in(CYCLE_PARTS))))
    if ok.is_empty():
        title = "PR cycle time: no sprint in this range has enough data yet"
    else:
        last_start = ok.get_column("sprint_start").max()
        last = (
            ok.filter(pl.col("sprint_start") == last_start)
            .sort("value", descending=True)
            .row(0, named=True)
        )
        part_name = fmt.name(last["metric_id"]).replace(" (median)", "")
        title = f"{part_name} is the longest part of the PR cycle in {last['sprint_name']} (median {fmt.value(last['metric_id'], last['value'])}"
        whole = _ok(cycle.filter(pl.col("sprint_start") == last_start))
        title += (
            f" of a {fmt.value('cycle_time_p50', whole.row(0, named=True)['value'])} median cycle)"
            if not whole.is_empty()
            else ")"
        )
    _layout(fig, title, y_title="hours", barmode="stack")
    _note(
        fig,
        " ".join(
            filter(
                None,
                [
                    "Bars are the medians of each part; they need not add up to the median cycle time.",
                    _gaps_note(noted),
                ],
            )
        ),
    )
    return fig


def compare(
    rows: pl.DataFrame,
    metric_id: str,
    *,
    colors: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    sprint_label: str = "",
) -> go.Figure:
    """One metric for several teams in one sprint, side by side; suppressed teams shown as such, without a number."""
    rows = rows.filter(pl.col("metric_id") == metric_id).sort("team")
    teams = rows.get_column("team").to_list()
    colours = _colors(teams, colors)
    values = _values(rows)
    # The value (or why there is none) is part of the team's label: text on the bars would
    # collide with the error bars.
    labels = [
        f"{_label(t, names)} · "
        + (
            fmt.value(metric_id, v)
            if s == "ok"
            else ("suppressed" if s == "suppressed" else "insufficient data")
        )
        for t, v, s in zip(teams, values, rows.get_column("status").to_list(), strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=[v if v is not None else 0 for v in values],
            orientation="h",
            marker_color=[colours.get(t, palette.ORGANISATION) for t in teams],
            error_x=_error_bars(rows),
            customdata=_hover_rows(metric_id, rows),
            hovertemplate="<b>%{y}</b> · %{customdata[0]}<br>value: %{customdata[1]}<br>"
            "numerator / denominator: %{customdata[2]}<br>interval: %{customdata[3]}<extra></extra>",
            name=fmt.name(metric_id),
            showlegend=False,
        )
    )
    ok = _ok(rows).sort("value", descending=True)
    suppressed = rows.filter(pl.col("status") == "suppressed").height
    when = f" in {sprint_label}" if sprint_label else ""
    if ok.is_empty():
        title = f"{fmt.phrase(metric_id)}{when}: no team has enough data"
    elif ok.height == 1:
        only = ok.row(0, named=True)
        title = f"{fmt.phrase(metric_id)}{when}: {_label(only['team'], names)} at {fmt.value(metric_id, only['value'])}"
    else:
        top, bottom = ok.row(0, named=True), ok.row(-1, named=True)
        title = (
            f"{fmt.phrase(metric_id)}{when}: highest for {_label(top['team'], names)} ({fmt.value(metric_id, top['value'])}), "
            f"lowest for {_label(bottom['team'], names)} ({fmt.value(metric_id, bottom['value'])})"
        )
    if suppressed:
        title += f"; {suppressed} team{'s' if suppressed > 1 else ''} suppressed"
    _layout(fig, title, y_title="", x_title=fmt.axis_title(metric_id), tickformat=None)
    fig.update_yaxes(rangemode="normal", autorange="reversed")
    fig.update_layout(height=max(320, 150 + 26 * len(teams)))  # a readable row per team
    if fmt.tickformat(metric_id):
        fig.update_xaxes(tickformat=fmt.tickformat(metric_id))
    return fig


def durability(rows: pl.DataFrame, *, names: Mapping[str, str] | None = None) -> go.Figure:
    """Share of AI-added against human-added lines still alive after the durability window."""
    pairs = (
        ("ai_durability", "AI-added lines", "#7C4DFF"),
        ("human_durability", "human-added lines", "#9C9C9C"),
    )
    fig = go.Figure()
    noted = []
    for metric_id, label, colour in pairs:
        part = rows.filter(pl.col("metric_id") == metric_id).sort("sprint_start")
        if part.is_empty():
            continue
        noted.append((label, part))
        _series(fig, metric_id, part, label, colour)
    ai = _settled(_ok(rows.filter(pl.col("metric_id") == "ai_durability")))
    human = _ok(rows.filter(pl.col("metric_id") == "human_durability"))
    if ai.is_empty():
        title = "AI code durability: no sprint in this range has enough data yet"
    else:
        last = ai.sort("sprint_start").row(-1, named=True)
        title = f"{fmt.value('ai_durability', last['value'])} of AI-added lines were still alive after 30 days in {last['sprint_name']}"
        same = human.filter(pl.col("sprint_id") == last["sprint_id"])
        if not same.is_empty():
            title += f", against {fmt.value('human_durability', same.row(0, named=True)['value'])} of human-added lines"
    _layout(fig, title, y_title="lines still alive (%)", tickformat=".0%")
    _note(fig, _gaps_note(noted))
    return fig
