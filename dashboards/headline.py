"""Headline numbers of a scope's latest closed sprint, and the summary written from them (dashboard and board pack)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from dashboards import formatting as fmt

# Short labels: five tiles share one row.
LABELS = {
    "acr_lines": "ACR (lines)",
    "acr_commits": "ACR (commits)",
    "acr_prs": "ACR (PRs)",
    "agentic_commit_rate": "Agentic commit rate",
    "velocity_acceleration": "Velocity acceleration",
    "velocity_points": "Velocity (points)",
    "bug_density_change": "Bug density change",
    "bug_density_points": "Bugs per 100 points",
    "cycle_time_p50": "Cycle time (median)",
    "review_rejection_rate": "Review rejections",
    "revert_rate": "Revert rate",
    "throughput_per_engineer": "Throughput per engineer",
}

TILES = (
    "acr_lines",
    "agentic_commit_rate",
    "velocity_acceleration",
    "bug_density_change",
    "cycle_time_p50",
)


@dataclass(frozen=True)
class Kpi:
    """One number of the focus sprint with what a tile needs around it."""

    metric_id: str
    team: str
    sprint_id: str | None
    sprint_name: str | None
    status: str  # ok | insufficient_data | suppressed | missing (the metric is not computed)
    value: float | None = None
    previous: float | None = None
    previous_sprint: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    coverage: float | None = None
    note: str | None = None
    series: list[float] = field(default_factory=list)

    @property
    def delta(self) -> str | None:
        return fmt.delta(self.metric_id, self.value, self.previous)

    @property
    def interval(self) -> str | None:
        return fmt.interval(self.metric_id, self.ci_low, self.ci_high)


def midpoint() -> pl.Expr:
    """A sprint's midpoint: the instant that places a team sprint in a range of organisation sprints."""
    return pl.col("sprint_start") + (pl.col("sprint_end") - pl.col("sprint_start")) / 2


def in_window(
    rows: pl.DataFrame, start: datetime | None, end: datetime | None = None
) -> pl.DataFrame:
    """Rows of the sprints whose midpoint lies in [start, end), as the warehouse queries select them."""
    if start is not None:
        rows = rows.filter(midpoint() >= start)
    if end is not None:
        rows = rows.filter(midpoint() < end)
    return rows


def focus_sprint(rows: pl.DataFrame, team: str) -> dict[str, Any] | None:
    """The scope's latest closed sprint in the frame (the running one only when none has closed)."""
    sprints = (
        rows.filter(pl.col("team") == team)
        .select("sprint_id", "sprint_name", "sprint_start", "sprint_state")
        .unique()
        .sort("sprint_start")
    )
    if sprints.is_empty():
        return None
    closed = sprints.filter(pl.col("sprint_state") == "closed")
    return (closed if not closed.is_empty() else sprints).row(-1, named=True)


def kpis(
    rows: pl.DataFrame,
    team: str,
    metric_ids: Sequence[str] = TILES,
    *,
    since: datetime | None = None,
) -> list[Kpi]:
    """The numbers of the focus sprint (the latest closed one since `since`), the previous sprint's value, the series.

    `rows` may reach back before `since`, so the first sprint of a range still has a previous one.
    """
    # One filter per team, then plain rows: the Teams page asks this for every team.
    team_rows = rows.filter(pl.col("team") == team).sort("sprint_start")
    focus = focus_sprint(in_window(team_rows, since), team) or focus_sprint(team_rows, team)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for record in team_rows.iter_rows(named=True):
        by_metric.setdefault(record["metric_id"], []).append(record)
    out = []
    for metric_id in metric_ids:
        part = by_metric.get(metric_id, [])
        if focus is None or not part:
            out.append(Kpi(metric_id, team, None, None, "missing"))
            continue
        upto = [r for r in part if r["sprint_start"] <= focus["sprint_start"]]
        row = next((r for r in upto if r["sprint_id"] == focus["sprint_id"]), None)
        if row is None:
            out.append(Kpi(metric_id, team, str(focus["sprint_id"]), str(focus["sprint_name"]), "missing"))  # fmt: skip
            continue
        before = [r for r in upto if r["sprint_start"] < focus["sprint_start"]]
        prev = before[-1] if before else None
        series = [
            r["value"]
            for r in upto
            if r["status"] == "ok"
            and fmt.is_number(r["value"])
            and (
                since is None
                or r["sprint_start"] + (r["sprint_end"] - r["sprint_start"]) / 2 >= since
            )
        ]
        out.append(
            Kpi(
                metric_id=metric_id,
                team=team,
                sprint_id=row["sprint_id"],
                sprint_name=row["sprint_name"],
                status=row["status"],
                value=row["value"] if row["status"] == "ok" else None,
                previous=prev["value"] if prev and prev["status"] == "ok" else None,
                previous_sprint=prev["sprint_name"] if prev else None,
                ci_low=row["ci_low"],
                ci_high=row["ci_high"],
                numerator=row["numerator"],
                denominator=row["denominator"],
                coverage=row["coverage"],
                note=row["note"],
                series=series,
            )
        )
    return out


def bands_text(metric_id: str) -> str | None:
    """The published reference bands of a metric, e.g. '35 % to 45 % (2 months after rollout)' with an en dash."""
    definition = fmt.definition(metric_id)
    if definition is None or not definition.bands:
        return None
    parts = []
    for band in definition.bands:
        if band.low is None or band.high is None:
            parts.append(band.label)
        elif fmt.kind(metric_id) == "times":
            parts.append(f"{band.low:g}×–{band.high:g}× ({band.label})")
        else:
            parts.append(
                f"{fmt.value(metric_id, band.low)}–{fmt.value(metric_id, band.high)} ({band.label})"
            )
    return "; ".join(parts)


def against_bands(metric_id: str, value: float) -> str | None:
    """Where a value sits against the metric's reference bands, in words."""
    definition = fmt.definition(metric_id)
    bands = [
        b
        for b in (definition.bands if definition else ())
        if b.low is not None and b.high is not None
    ]
    if not bands:
        return None
    for band in bands:
        assert band.low is not None and band.high is not None
        if band.low <= value <= band.high:
            return f"within the published reference for {band.label} ({fmt.value(metric_id, band.low)}–{fmt.value(metric_id, band.high)})"
    first = bands[0]
    assert first.low is not None and first.high is not None
    if value < first.low:
        return f"below the published reference for {first.label} ({fmt.value(metric_id, first.low)}–{fmt.value(metric_id, first.high)})"
    above = [b for b in bands if b.high is not None and value > b.high]
    last = above[-1]
    return f"above the published reference for {last.label} ({fmt.value(metric_id, last.low)}–{fmt.value(metric_id, last.high)})"


def _missing(k: Kpi, what: str) -> str:
    if k.status == "suppressed":
        return f"{what} is not shown: the team is below the minimum group size."
    if k.status == "missing":
        return f"{what} is not computed in this warehouse yet."
    return f"{what}: insufficient data in {k.sprint_name}."


def summary(items: Sequence[Kpi], scope: str) -> str:
    """A few sentences a board member can read: what AI produced, and whether the team got faster without getting worse."""
    by = {k.metric_id: k for k in items}
    sprint = next((k.sprint_name for k in items if k.sprint_name), None)
    if sprint is None:
        return f"{scope} has no sprint in this range yet."
    sentences = []
    acr = by.get("acr_lines")
    if acr and acr.value is not None:
        s = f"In {sprint}, detected AI produced {fmt.value('acr_lines', acr.value)} of the lines {scope} added"
        if acr.delta:
            s += f" ({acr.delta} on the previous sprint)"
        sentences.append(s + "; this is a floor, as unmarked AI use is invisible.")
    elif acr:
        sentences.append(_missing(acr, f"The AI share of added lines in {sprint}"))
    agentic = by.get("agentic_commit_rate")
    if agentic and agentic.value is not None:
        s = f"Agents authored {fmt.value('agentic_commit_rate', agentic.value)} of commits"
        where = against_bands("agentic_commit_rate", agentic.value)
        sentences.append(s + (f", {where}." if where else "."))
    elif agentic:
        sentences.append(_missing(agentic, "The agentic commit rate"))
    faster = worse = None
    speed = by.get("velocity_acceleration")
    if speed and speed.value is not None:
        s = f"Velocity was {fmt.value('velocity_acceleration', speed.value)} the pre-AI baseline"
        if speed.interval:
            s += f" (interval {speed.interval})"
        if fmt.is_number(speed.ci_low) and speed.ci_low is not None and speed.ci_low > 1:
            faster = True
            s += ": faster than before AI, beyond the baseline's uncertainty"
        elif fmt.is_number(speed.ci_high) and speed.ci_high is not None and speed.ci_high < 1:
            faster = False
            s += ": slower than the baseline"
        else:
            s += ": not distinguishable from the baseline"
        sentences.append(s + ".")
    elif speed:
        sentences.append(_missing(speed, "Velocity against the baseline"))
    bugs = by.get("bug_density_change")
    if bugs and bugs.value is not None:
        direction = "more" if bugs.value > 0 else "fewer"
        s = f"Bugs per 100 delivered points were {abs(bugs.value) * 100:.0f} % {direction} than at baseline"
        if bugs.interval:
            s += f" (interval {bugs.interval})"
        if fmt.is_number(bugs.ci_low) and bugs.ci_low is not None and bugs.ci_low > 0:
            worse = True
        elif fmt.is_number(bugs.ci_high) and bugs.ci_high is not None and bugs.ci_high < 0:
            worse = False
        sentences.append(s + ".")
    elif bugs:
        sentences.append(_missing(bugs, "Bug density against the baseline"))
    cycle = by.get("cycle_time_p50")
    if cycle and cycle.value is not None:
        s = f"The median pull request took {fmt.value('cycle_time_p50', cycle.value)} from first commit to merge"
        if cycle.delta:
            s += f" ({cycle.delta} on the previous sprint)"
        sentences.append(s + ".")
    if faster and worse is False:
        sentences.append("Verdict: faster, with fewer bugs per point.")
    elif faster and worse:
        sentences.append("Verdict: faster, but with more bugs per point.")
    elif faster:
        sentences.append("Verdict: faster, and bug density is within the baseline's uncertainty.")
    elif faster is False:
        sentences.append("Verdict: slower than the pre-AI baseline.")
    return " ".join(sentences)
