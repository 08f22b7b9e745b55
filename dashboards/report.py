"""The board pack: a PDF on one organisation sprint, built from the warehouse with the dashboard's own figures and words.

`build_board_pack` reads the warehouse through `dashboards.data` (read-only, nothing recomputed),
takes the headline numbers and the summary from `dashboards.headline`, draws the charts with the
figure builders of `dashboards.figures` (exported by kaleido with the machine's Chromium,
`dashboards.images`) and lays the pages out with ReportLab: cover, executive summary, headline
numbers, trends, teams, methodology and definitions, data coverage and freshness.

The helpers around it (`organisation_sprints`, `default_sprint`, `closed_tracker_sprints`,
`pack_file_name`) are what the command line and the orchestration need to decide which pack to
build; they take plain arguments, like everything in this package.
"""

import functools
import io
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import plotly.graph_objects as go
import polars as pl
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from dashboards import data, figures, headline, images, palette
from dashboards import formatting as fmt
from dashboards.settings import DashboardSettings
from ingestion.warehouse import connect

ORG = "__org__"

# The numbers of the headline table, in reading order: what AI produced, speed, quality, flow, delivery.
KPI_METRICS = (
    "acr_lines",
    "acr_commits",
    "acr_prs",
    "agentic_commit_rate",
    "velocity_points",
    "velocity_acceleration",
    "bug_density_points",
    "bug_density_change",
    "review_rejection_rate",
    "cycle_time_p50",
    "throughput_per_engineer",
    "deployment_frequency",
    "change_fail_rate",
    "ai_durability",
)
# The engine compares these with the pre-AI baseline; every other number has no baseline of its own.
BASELINE_OF = {
    "velocity_points": "velocity_acceleration",
    "velocity_acceleration": "velocity_acceleration",
    "bug_density_points": "bug_density_change",
    "bug_density_change": "bug_density_change",
}
TEAM_COLUMNS = (
    "acr_lines",
    "agentic_commit_rate",
    "velocity_acceleration",
    "bug_density_change",
    "cycle_time_p50",
)
TREND_SPRINTS = 12  # the charts show the chosen sprint and the eleven before it (about half a year)
CHART_METRICS = (
    *figures.CYCLE_PARTS,
    "cycle_time_p50",
    "acr_lines",
    "acr_commits",
    "acr_prs",
    "agentic_commit_rate",
    "velocity_acceleration",
    "bug_density_change",
    "ai_durability",
    "human_durability",
)

# Page geometry: A4 with 2 cm margins leaves a 17 cm wide frame. Charts are exported at
# 780 px for that width, so Plotly's 12 px text prints at about 7.5 pt.
MARGIN = 2 * cm
FRAME_WIDTH = A4[0] - 2 * MARGIN
CHART_PX = 780
CHART_HEIGHT_PX = 340
MAX_CHART_HEIGHT_PX = 1000
INK = colors.HexColor("#222222")
MUTED = colors.HexColor("#666666")
RULE = colors.HexColor("#BBBBBB")
HEADER_FILL = colors.HexColor("#EEF1F5")
SUPPRESSED_FILL = colors.HexColor("#F6F6F6")


# How to read the pack, said once (the interval and reproducibility paragraphs are written per pack).
METHOD = (
    (
        "Detected, not total.",
        (
            "AI shares count the work that left a marker: commit trailers, agent accounts, pull request "
            "signals, git-ai notes. AI help that leaves no marker is invisible, so every AI share is a "
            "floor: the detected AI share. The coverage beside a number says how much of the data "
            "behind it was usable."
        ),
    ),
    (
        "Sprints.",
        (
            "The organisation follows its configured cadence; a team's sprint (from its tracker board "
            "or cadence) counts in the organisation sprint that holds its midpoint."
        ),
    ),
    (
        "Statuses.",
        (
            "A number rests on enough units or it is not given: 'insufficient data' means fewer units "
            "than the minimum sample, or none. A team below the minimum group size is 'suppressed': its "
            "numbers are removed from the warehouse, not only hidden. The organisation is never "
            "suppressed."
        ),
    ),
    (
        "Baseline.",
        (
            "The same team's closed sprints that ended by its AI rollout date (else its first sprints "
            "with data); for the organisation, the sprints before the earliest rollout."
        ),
    ),
    (
        "Reference bands.",
        (
            "Published industry targets for teams that adopt agentic development, shown next to the "
            "numbers for comparison. They are never inputs to any computation."
        ),
    ),
)


class BoardPackError(Exception):
    """A board pack that cannot be built for a reason the user can fix; the message says how."""


# --------------------------------------------------------------------------- which sprint


@dataclass(frozen=True)
class SprintInfo:
    """One organisation sprint of `mart_calendar`: [start, end), closed or still running."""

    sprint_id: str
    name: str
    start: datetime
    end: datetime
    state: str

    @property
    def closed(self) -> bool:
        return self.state == "closed"


def require_ready(path: Path | str | None) -> Path:
    """The warehouse path, if it holds computed metrics; else a BoardPackError naming the command to run."""
    state = data.status(Path(path) if path else None)
    if state.ready:
        assert state.path is not None
        return state.path
    if state.state == data.MISSING:
        raise BoardPackError(
            f"{state.detail}: build the warehouse first (`sprintproof demo`, or `sprintproof ingest` "
            "and `sprintproof metrics`)"
        )
    if state.state == data.NOT_INGESTED:
        raise BoardPackError(
            f"{state.path}: the warehouse is empty (no commits, pull requests or tickets): run "
            "`sprintproof ingest`, then `sprintproof metrics`"
        )
    if state.state == data.NO_METRICS:
        raise BoardPackError(
            f"{state.path}: the metrics have not been computed yet: run `sprintproof metrics`"
        )
    raise BoardPackError(state.detail)


def organisation_sprints(path: Path | str) -> list[SprintInfo]:
    """The organisation's started sprints, oldest first."""
    frame = data.org_sprints(Path(path))
    return [
        SprintInfo(
            r["sprint_id"], r["sprint_name"], r["sprint_start"], r["sprint_end"], r["sprint_state"]
        )
        for r in frame.iter_rows(named=True)
    ]


def default_sprint(path: Path | str) -> SprintInfo:
    """The last closed organisation sprint: the one a board pack reports on unless told otherwise."""
    sprints = organisation_sprints(path)
    closed = [s for s in sprints if s.closed]
    if closed:
        return closed[-1]
    if sprints:
        raise BoardPackError(
            f"no organisation sprint has closed yet (the running one, {sprints[-1].sprint_id}, ends "
            f"{sprints[-1].end:%d %b %Y}); name it with --sprint to report on it anyway"
        )
    raise BoardPackError(
        "the warehouse has no organisation sprint: check the sprint cadence in the configuration, "
        "then run `sprintproof metrics`"
    )


def resolve_sprint(path: Path | str, sprint_id: str | None) -> SprintInfo:
    """The named organisation sprint (the last closed one when None), or a BoardPackError listing the known ones."""
    if sprint_id is None:
        return default_sprint(path)
    sprints = organisation_sprints(path)
    for sprint in sprints:
        if sprint.sprint_id == sprint_id:
            return sprint
    recent = ", ".join(s.sprint_id for s in sprints[-4:]) or "none"
    raise BoardPackError(
        f"unknown sprint {sprint_id!r}: organisation sprints are named by their id in mart_calendar "
        f"(the latest: {recent})"
    )


def pack_file_name(sprint_id: str) -> str:
    """`board-pack-<sprint>.pdf`, with anything a file name should not hold replaced."""
    return f"board-pack-{re.sub(r'[^A-Za-z0-9._-]+', '_', sprint_id)}.pdf"


@dataclass(frozen=True)
class ClosedSprint:
    """A tracker sprint (Jira sprint, Linear cycle, ...) that closed, and the organisation sprint it belongs to."""

    tracker: str
    source: str
    sprint_id: str
    name: str
    completed_at: datetime
    # The organisation sprint holding its midpoint (None: outside the calendar).
    org_sprint_id: str | None


def closed_tracker_sprints(path: Path | str, after: datetime | None) -> list[ClosedSprint]:
    """Tracker sprints closed after `after` (all when None), oldest first, each with its organisation sprint."""
    with connect(Path(path), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if "sprints" not in tables or "mart_calendar" not in tables:
            return []
        # A tracker sprint belongs to the organisation sprint holding its midpoint, as in mart_sprint_scope.
        rows = con.execute(
            """
            SELECT s.tracker, s.source, s.sprint_id, s.name, s.completed_at, o.sprint_id
            FROM sprints s
            LEFT JOIN mart_calendar o ON o.team = ?
                 AND coalesce(s.start_at, s.completed_at) + (s.completed_at - coalesce(s.start_at, s.completed_at)) / 2 >= o.sprint_start
                 AND coalesce(s.start_at, s.completed_at) + (s.completed_at - coalesce(s.start_at, s.completed_at)) / 2 < o.sprint_end
            WHERE s.state = 'closed' AND s.completed_at IS NOT NULL AND NOT coalesce(s.is_deleted, false)
              AND (CAST(? AS TIMESTAMPTZ) IS NULL OR s.completed_at > ?)
            ORDER BY s.completed_at, s.source, s.sprint_id
            """,
            [ORG, after, after],
        ).fetchall()
    return [
        ClosedSprint(str(t), str(src), str(sid), str(name or sid), done.astimezone(UTC), org)
        for t, src, sid, name, done, org in rows
    ]


# --------------------------------------------------------------------------- the numbers


@dataclass
class PackData:
    """Everything the pages show, read once from the warehouse."""

    organisation: str
    sprint: SprintInfo
    scopes: list[str]  # ORG first when shown, then the teams
    # Whose numbers lead: the organisation, or the first team when the organisation is not shown.
    lead: str
    computed: list[str]
    kpis: dict[str, list[headline.Kpi]]  # per scope, KPI_METRICS that are computed
    # Metric rows of CHART_METRICS for the lead scope, the TREND_SPRINTS up to the sprint.
    history: pl.DataFrame
    report: pl.DataFrame  # every metric of the sprint for every scope (data.sprint_report)
    mix: pl.DataFrame  # the lead scope's tool mix over the trend window
    health: data.Health
    computed_at: datetime | None
    confidence: float
    min_group_size: int
    now: datetime
    # Definition versions the warehouse computed each metric with.
    versions: dict[str, set[int]] = field(default_factory=dict)

    @property
    def teams(self) -> list[str]:
        return [s for s in self.scopes if s != ORG]

    def label(self, scope: str) -> str:
        return fmt.scope_name(scope, self.organisation)

    def kpi(self, scope: str, metric_id: str) -> headline.Kpi | None:
        return next((k for k in self.kpis.get(scope, []) if k.metric_id == metric_id), None)

    def suppressed(self, scope: str) -> bool:
        rows = self.report.filter(pl.col("team") == scope)
        return not rows.is_empty() and bool((rows.get_column("status") == "suppressed").all())

    def shown(self, ids: Iterable[str]) -> list[str]:
        return [m for m in ids if m in self.computed]


def gather(
    path: Path,
    sprint: SprintInfo,
    scopes: Sequence[str],
    *,
    organisation: str,
    settings: DashboardSettings,
    now: datetime,
) -> PackData:
    """Read every number of the pack: the sprint's rows, the history the charts need, the tool mix, data health."""
    computed = data.computed_metrics(path)
    sprints = organisation_sprints(path)
    index = next(i for i, s in enumerate(sprints) if s.sprint_id == sprint.sprint_id)
    window_start = sprints[max(0, index - TREND_SPRINTS + 1)].start
    lead = ORG if ORG in scopes else scopes[0]
    wanted = [m for m in dict.fromkeys((*KPI_METRICS, *TEAM_COLUMNS)) if m in computed]
    # From the start of history, so the first sprint of the window still has a previous one.
    rows = data.metric_rows(path, wanted, scopes, None, sprint.end)
    kpis = {
        scope: headline.kpis(
            rows, scope, [m for m in KPI_METRICS if m in computed], since=sprint.start
        )
        for scope in scopes
    }
    report = data.sprint_report(path, sprint.sprint_id, scopes)
    # A team without a sprint of its own in this organisation sprint has no numbers here, not an older sprint's.
    present = set(zip(report.get_column("team").to_list(), report.get_column("sprint_id").to_list(), strict=True))  # fmt: skip
    for scope, items in kpis.items():
        kpis[scope] = [
            k
            if k.sprint_id is None or (scope, k.sprint_id) in present
            else headline.Kpi(k.metric_id, scope, None, None, "missing")
            for k in items
        ]
    history = data.metric_rows(
        path, [m for m in CHART_METRICS if m in computed], [lead], window_start, sprint.end
    )
    mix = data.tool_mix(path, [lead], window_start, sprint.end)
    checks = settings.checks
    health = data.health_report(
        path,
        window_days=checks.window_days,
        thresholds={
            "identity_coverage": checks.identity_coverage,
            "attribution_coverage": checks.attribution_coverage,
            "ticket_link_coverage": checks.ticket_link_coverage,
        },
        drift_window=checks.drift_window,
        drift_threshold=checks.drift_threshold,
        now=now,
    )
    versions: dict[str, set[int]] = {}
    for metric_id, version in report.select("metric_id", "definition_version").unique().iter_rows():
        if version is not None:
            versions.setdefault(metric_id, set()).add(int(version))
    computed_at = data.status(path).computed_at
    return PackData(
        organisation=organisation,
        sprint=sprint,
        scopes=list(scopes),
        lead=lead,
        computed=computed,
        kpis=kpis,
        history=history,
        report=report,
        mix=mix,
        health=health,
        computed_at=computed_at,
        confidence=settings.confidence,
        min_group_size=settings.min_group_size,
        now=now,
        versions=versions,
    )


# --------------------------------------------------------------------------- words


def _label(metric_id: str) -> str:
    return headline.LABELS.get(metric_id, fmt.name(metric_id))


def _number(v: Any) -> str:
    if not fmt.is_number(v):
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.3f}".rstrip("0").rstrip(".")


def status_text(k: headline.Kpi, *, with_note: bool = True) -> str:
    """Why a number has no value, in plain words (a suppressed team's note is never repeated: it may describe the team)."""
    if k.status == "suppressed":
        return "suppressed: the team is below the minimum group size"
    if k.status == "missing":
        return "no sprint of this scope in this period" if k.sprint_id is None else "not computed"
    if k.status == "insufficient_data":
        return "insufficient data" + (f" ({k.note})" if with_note and k.note else "")
    return k.status


def basis_text(k: headline.Kpi) -> str:
    """The parts behind a number: 'numerator / denominator', the sample of a median, and the coverage."""
    if k.status == "suppressed":
        return ""
    definition = fmt.definition(k.metric_id)
    parts = []
    if definition is not None and definition.unit == "hours" and fmt.is_number(k.denominator):
        parts.append(f"median of {_number(k.denominator)}")
    elif fmt.is_number(k.numerator) and fmt.is_number(k.denominator):
        parts.append(f"{_number(k.numerator)} / {_number(k.denominator)}")
    elif fmt.is_number(k.numerator):
        parts.append(_number(k.numerator))
    if fmt.is_number(k.coverage):
        assert k.coverage is not None
        parts.append(f"coverage {k.coverage * 100:.0f} %")
    return " · ".join(parts)


def baseline_text(pack: PackData, scope: str, metric_id: str) -> str:
    """How the number compares with the pre-AI baseline, where the engine defines one."""
    ratio_id = BASELINE_OF.get(metric_id)
    if ratio_id is None:
        return "—"
    k = pack.kpi(scope, ratio_id)
    if k is None:
        return "not computed"
    if k.value is None:
        return status_text(k, with_note=False)
    text = fmt.value(ratio_id, k.value)
    text = f"{text} the baseline" if ratio_id == "velocity_acceleration" else f"{text} vs baseline"
    return f"{text} ({k.interval})" if k.interval else text


def band_text(metric_id: str, value: float | None) -> str:
    """The published reference bands and where this sprint's value sits against them."""
    bands = headline.bands_text(metric_id)
    definition = fmt.definition(metric_id)
    if not bands or definition is None:
        return "—"
    bounded = [(b.low, b.high, b.label) for b in definition.bands if b.low is not None and b.high is not None]  # fmt: skip
    if value is None or not bounded:
        return bands
    inside = [label for low, high, label in bounded if low <= value <= high]
    if inside:
        where = f"within ({inside[0]})"
    elif value < min(low for low, _, _ in bounded):
        where = "below" + (" both" if len(bounded) == 2 else "")
    elif value > max(high for _, high, _ in bounded):
        where = "above" + (" both" if len(bounded) == 2 else "")
    else:
        where = "between them"
    return f"{bands}. This sprint: {where}"


def sureness(k: headline.Kpi) -> str | None:
    """Whether the move from the previous sprint stands out from this sprint's interval."""
    if k.value is None or k.previous is None or k.ci_low is None or k.ci_high is None:
        return None
    if not (fmt.is_number(k.ci_low) and fmt.is_number(k.ci_high)):
        return None
    if k.ci_low <= k.previous <= k.ci_high:
        return "the previous value lies inside this sprint's interval, so the move may be noise"
    return "the previous value lies outside this sprint's interval"


def moved_line(k: headline.Kpi, confidence: float) -> str:
    """One bullet of the summary: the number, its interval, its move and how sure it is; or why there is none."""
    what = fmt.phrase(k.metric_id)
    if k.value is None:
        return f"{what}: {status_text(k)}."
    text = f"{what}: {fmt.value(k.metric_id, k.value)}"
    if k.interval:
        text += f" ({confidence * 100:.0f} % interval {k.interval})"
    if k.delta and k.previous_sprint:
        text += f", {k.delta} on {k.previous_sprint}"
    sure = sureness(k)
    return text + (f"; {sure}." if sure else ".")


def teams_line(pack: PackData, metric_id: str = "acr_lines") -> str | None:
    """The spread across teams of one number, and which teams show none (suppressed, insufficient data)."""
    if not pack.teams or metric_id not in pack.computed:
        return None
    valued, suppressed, lacking = [], [], []
    for team in pack.teams:
        if pack.suppressed(team):
            suppressed.append(team)
            continue
        k = pack.kpi(team, metric_id)
        if k is None or k.value is None:
            lacking.append(team)
        else:
            valued.append((k.value, team))
    parts = []
    if len(valued) == 1:
        parts.append(f"{fmt.phrase(metric_id)}: {valued[0][1]} at {fmt.value(metric_id, valued[0][0])}")  # fmt: skip
    elif valued:
        valued.sort()
        (low, low_team), (high, high_team) = valued[0], valued[-1]
        parts.append(
            f"{fmt.phrase(metric_id)} ranged from {fmt.value(metric_id, low)} ({low_team}) to "
            f"{fmt.value(metric_id, high)} ({high_team}) across {len(valued)} teams"
        )
    if lacking:
        parts.append(f"insufficient data for {_names(lacking)}")
    if suppressed:
        one = len(suppressed) == 1
        parts.append(
            f"{_names(suppressed)} {'is' if one else 'are'} below the minimum group size and not "
            f"shown on {'its' if one else 'their'} own"
        )
    return ("Teams: " + "; ".join(parts) + ".") if parts else None


def _names(items: Sequence[str], limit: int = 6) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    return ", ".join(shown)


def not_enough(pack: PackData, scope: str) -> list[str]:
    """Headline numbers of the scope without a value this sprint, said plainly."""
    return [
        f"{fmt.phrase(k.metric_id)}: {status_text(k)}."
        for k in pack.kpis.get(scope, [])
        if k.metric_id in headline.TILES and k.value is None and k.status != "missing"
    ]


# --------------------------------------------------------------------------- figures


def chart_figures(pack: PackData) -> list[tuple[str, go.Figure, int]]:
    """(section, figure, height in px) of every chart, built by the dashboard's figure builders."""
    out: list[tuple[str, go.Figure, int]] = []
    lead, history = pack.lead, pack.history
    names = {ORG: pack.organisation}
    colours = palette.team_colors(pack.teams)
    lead_shown = not pack.suppressed(lead) and not history.filter(pl.col("status") != "suppressed").is_empty()  # fmt: skip
    if lead_shown:
        acr = history.filter(pl.col("metric_id").is_in(["acr_lines", "acr_commits", "acr_prs"]))
        if not acr.is_empty():
            out.append(("trends", figures.flavours(acr, names=names), CHART_HEIGHT_PX))
        for metric_id in ("agentic_commit_rate", "velocity_acceleration", "bug_density_change"):
            if metric_id in pack.computed:
                fig = figures.trend(history, metric_id, colors=colours, names=names)
                out.append(("trends", fig, CHART_HEIGHT_PX))
        if any(m in pack.computed for m in figures.CYCLE_PARTS):
            out.append(("trends", figures.cycle_breakdown(history, names=names), CHART_HEIGHT_PX))
        if not pack.mix.is_empty():
            out.append(("trends", figures.tool_mix(pack.mix), CHART_HEIGHT_PX))
            out.append(("trends", figures.modes(pack.mix), CHART_HEIGHT_PX))
        if "ai_durability" in pack.computed:
            out.append(("trends", figures.durability(history, names=names), CHART_HEIGHT_PX))
    teams = pack.report.filter(
        pl.col("team").is_in(pack.teams) & (pl.col("metric_id") == "acr_lines")
    )
    if teams.height > 1:
        height = min(MAX_CHART_HEIGHT_PX, 160 + 30 * teams.height)
        fig = figures.compare(
            teams,
            "acr_lines",
            colors=colours,
            names=names,
            sprint_label="each team's sprint in this period",
        )
        out.append(("teams", fig, height))
    return out


def for_print(fig: go.Figure) -> go.Figure:
    """A copy on white paper in the pack's ink and typeface (the dashboard's figures are transparent)."""
    printed = go.Figure(fig)
    printed.update_layout(
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": "DejaVu Sans, Verdana, Arial, sans-serif", "color": "#222222", "size": 12},
    )
    return printed


# --------------------------------------------------------------------------- layout


@functools.cache
def _fonts() -> tuple[str, str]:
    """A Unicode TrueType family (team names and notes may hold any script): DejaVu Sans, else ReportLab's Vera."""
    import reportlab

    candidates = [
        (
            Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        ),
        (
            Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
            Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
        ),
    ]
    for regular, bold in candidates:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("PackSans", str(regular)))
            pdfmetrics.registerFont(TTFont("PackSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily(
                "PackSans",
                normal="PackSans",
                bold="PackSans-Bold",
                italic="PackSans",
                boldItalic="PackSans-Bold",
            )
            return "PackSans", "PackSans-Bold"
    return "Helvetica", "Helvetica-Bold"


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=regular, fontSize=9.5, leading=13, textColor=INK)  # fmt: skip
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        "muted": ParagraphStyle("muted", parent=body, fontSize=8, leading=10.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.2, alignment=TA_LEFT),
        "head": ParagraphStyle("head", parent=body, fontName=bold, fontSize=7.5, leading=9.2),
        "bullet": ParagraphStyle(
            "bullet", parent=body, leftIndent=12, bulletIndent=0, spaceAfter=3
        ),
        "h1": ParagraphStyle(
            "h1", parent=body, fontName=bold, fontSize=17, leading=21, spaceAfter=8
        ),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4
        ),
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=30, leading=36),
        "subtitle": ParagraphStyle(
            "subtitle", parent=body, fontSize=17, leading=22, textColor=MUTED
        ),
        "lead": ParagraphStyle("lead", parent=body, fontSize=11, leading=15.5),
    }


def _p(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), _styles()[style])


def _bullets(lines: Iterable[str]) -> list[Flowable]:
    return [Paragraph(escape(line), _styles()["bullet"], bulletText="•") for line in lines]


def _table(rows: Sequence[Sequence[str]], widths: Sequence[float], *, shaded: Sequence[int] = (), spans: Sequence[tuple[int, int, int]] = ()) -> Table:  # fmt: skip
    """A table whose first row is its header; `spans`: (row, first column, last column) merged cells."""
    cells = [[_p(c, "head" if i == 0 else "cell") for c in row] for i, row in enumerate(rows)]
    style: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    style += [("BACKGROUND", (0, r), (-1, r), SUPPRESSED_FILL) for r in shaded]
    style += [("SPAN", (first, r), (last, r)) for r, first, last in spans]
    return Table(
        cells, colWidths=list(widths), repeatRows=1, style=TableStyle(style), hAlign="LEFT"
    )


class Picture(Flowable):
    """A chart as an opaque RGB image, the frame's width wide (the figures are drawn on white; an
    alpha channel would only add a soft mask to every image)."""

    def __init__(self, png: bytes, height_px: int) -> None:
        super().__init__()
        self.image = ImageReader(PILImage.open(io.BytesIO(png)).convert("RGB"))
        self.width = FRAME_WIDTH
        self.height = FRAME_WIDTH * height_px / CHART_PX

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:  # ReportLab's parameter names
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self.image, 0, 0, self.width, self.height)


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%d %b %Y, %H:%M} UTC" if moment else "never"


def _state_words(sprint: SprintInfo) -> str:
    return "closed" if sprint.closed else "still running: its numbers are not final"


def cover(pack: PackData) -> list[Flowable]:
    s = pack.sprint
    dates = fmt.sprint_dates(s.start, s.end)
    scope = (
        f"the organisation and {len(pack.teams)} team{'s' if len(pack.teams) != 1 else ''}"
        if ORG in pack.scopes
        else _names(pack.teams)
    )
    return [
        Spacer(1, 5 * cm),
        _p(pack.organisation, "title"),
        Spacer(1, 0.4 * cm),
        _p("Board pack: AI in engineering, sprint by sprint", "subtitle"),
        Spacer(1, 1.6 * cm),
        _p(f"Sprint {s.name}" + (f" ({dates})" if dates != s.name else ""), "lead"),
        _p(f"Organisation sprint {s.sprint_id}, {_state_words(s)}", "body"),
        Spacer(1, 0.5 * cm),
        _p(f"Prepared on {pack.now:%d %B %Y}", "body"),
        _p(f"Covers {scope}", "body"),
        _p(f"Numbers computed {_when(pack.computed_at)}", "body"),
        Spacer(1, 2.5 * cm),
        _p(
            "Contents: executive summary; headline numbers; trends; teams; methodology and "
            "definitions; data coverage and freshness.",
            "muted",
        ),
        PageBreak(),
    ]


def summary_page(pack: PackData) -> list[Flowable]:
    lead = pack.lead
    items = [k for k in pack.kpis.get(lead, []) if k.metric_id in headline.TILES]
    out: list[Flowable] = [_p("Executive summary", "h1")]
    if not pack.sprint.closed:
        out.append(_p(f"{pack.sprint.name} is still running: every number below may still change.", "lead"))  # fmt: skip
    if pack.suppressed(lead):
        out.append(_p(f"{pack.label(lead)} is below the minimum group size: its numbers are not shown.", "lead"))  # fmt: skip
    else:
        out.append(_p(headline.summary(items, pack.label(lead)), "lead"))
    out.append(_p("What moved, by how much, how sure", "h2"))
    out += _bullets(moved_line(k, pack.confidence) for k in items if k.value is not None)
    missing = not_enough(pack, lead)
    if missing:
        out.append(_p("Not enough data this sprint", "h2"))
        out.append(_p("These numbers are left blank rather than guessed:"))
        out += _bullets(missing)
    line = teams_line(pack)
    if line:
        out.append(_p("Across teams", "h2"))
        out.append(_p(line))
    out.append(_p("How to read these numbers", "h2"))
    out.append(
        _p(
            f"Every value comes with a {pack.confidence * 100:.0f} % interval where one applies: the range "
            "that the data support. AI shares are detected shares: work that left no AI marker counts as "
            "human, so they are floors. Reference bands are published industry targets, shown for "
            "comparison only; they never enter a computation. Methodology, definitions and the data "
            "behind the numbers close this pack."
        )
    )
    out.append(PageBreak())
    return out


def kpi_page(pack: PackData) -> list[Flowable]:
    out: list[Flowable] = [_p("Headline numbers", "h1")]
    for scope in [pack.lead]:
        out.append(
            _p(
                f"{pack.label(scope)}, {_sprint_of(pack, scope)}. Changes are against the previous sprint; "
                "the pre-AI baseline is the same scope's sprints before its AI rollout.",
                "muted",
            )
        )
        out.append(Spacer(1, 0.2 * cm))
        header = [
            "Number",
            "This sprint",
            f"{pack.confidence * 100:.0f} % interval",
            "Change on previous sprint",
            "Against pre-AI baseline",
            "Reference band (for comparison only)",
        ]
        rows: list[list[str]] = [header]
        for k in pack.kpis.get(scope, []):
            definition = fmt.definition(k.metric_id)
            ident = f"{k.metric_id} v{definition.version}" if definition else k.metric_id
            basis = basis_text(k)
            number = f"{fmt.name(k.metric_id)}\n{ident}" + (f" · {basis}" if basis else "")
            value = fmt.value(k.metric_id, k.value) if k.value is not None else status_text(k)
            rows.append(
                [
                    number,
                    value,
                    (k.interval or "none") if k.value is not None else "",
                    (k.delta or "—") if k.value is not None else "",
                    baseline_text(pack, scope, k.metric_id),
                    band_text(k.metric_id, k.value),
                ]
            )
        widths = [w * cm for w in (4.3, 2.4, 2.4, 1.9, 2.6, 3.4)]
        out.append(_table(rows, widths))
    out.append(Spacer(1, 0.3 * cm))
    out.append(
        _p(
            "Against pre-AI baseline: the engine's ratio of this sprint to the mean of the baseline sprints "
            "(velocity acceleration, bug density change), with a bootstrap interval over those sprints; "
            "the other numbers have no baseline of their own. Detected AI shares are floors.",
            "muted",
        )
    )
    out.append(PageBreak())
    return out


def _sprint_of(pack: PackData, scope: str) -> str:
    rows = pack.report.filter(pl.col("team") == scope)
    if rows.is_empty():
        return "no sprint in this period"
    row = rows.row(0, named=True)
    running = " (still running)" if row["sprint_state"] == "active" else ""
    return f"{row['sprint_name']}{running}"


def trends_pages(pack: PackData, charts: Sequence[tuple[str, bytes, int, str]]) -> list[Flowable]:
    out: list[Flowable] = [_p("Trends", "h1")]
    shown = [c for c in charts if c[0] == "trends"]
    sprints = f"the last {TREND_SPRINTS} organisation sprints up to {pack.sprint.name}"
    if not shown:
        out.append(
            _p(
                f"No trend to show for {pack.label(pack.lead)}"
                + (
                    ": it is below the minimum group size."
                    if pack.suppressed(pack.lead)
                    else " in this period."
                )
            )
        )
    else:
        out.append(_p(f"{pack.label(pack.lead)}, {sprints}. Shaded bands and error bars are intervals; gaps are sprints without a value (named under each chart).", "muted"))  # fmt: skip
    for _, png, height, _ in shown:
        out.append(KeepTogether([Spacer(1, 0.25 * cm), Picture(png, height)]))
    out.append(PageBreak())
    return out


def teams_page(pack: PackData, charts: Sequence[tuple[str, bytes, int, str]]) -> list[Flowable]:
    out: list[Flowable] = [_p("Teams", "h1")]
    if not pack.teams:
        out.append(_p("This pack covers no team on its own."))
        out.append(PageBreak())
        return out
    out.append(
        _p(
            "Each team's sprint whose midpoint falls in this organisation sprint. A team with fewer than "
            f"{pack.min_group_size} people is not shown on its own: its numbers are withheld in the warehouse "
            "itself, and its work still counts for the organisation.",
            "muted",
        )
    )
    out.append(Spacer(1, 0.2 * cm))
    columns = [m for m in TEAM_COLUMNS if m in pack.computed]
    rows: list[list[str]] = [["Team · sprint", *[_label(m) for m in columns]]]
    shaded, spans = [], []
    for team in pack.teams:
        if pack.suppressed(team):
            rows.append([team, "suppressed: below the minimum group size; its numbers are not shown", *[""] * (len(columns) - 1)])  # fmt: skip
            shaded.append(len(rows) - 1)
            if len(columns) > 1:
                spans.append((len(rows) - 1, 1, len(columns)))
            continue
        cells = [f"{team}\n{_sprint_of(pack, team)}"]
        for metric_id in columns:
            k = pack.kpi(team, metric_id)
            if k is None or k.value is None:
                cells.append(status_text(k, with_note=False) if k else "not computed")
            else:
                cells.append(fmt.value(metric_id, k.value) + (f"\n{k.interval}" if k.interval else ""))  # fmt: skip
        rows.append(cells)
    first = 3.5 * cm
    rest = (FRAME_WIDTH - first) / max(len(columns), 1)
    out.append(_table(rows, [first, *[rest] * len(columns)], shaded=shaded, spans=spans))
    for _, png, height, _ in (c for c in charts if c[0] == "teams"):
        out.append(KeepTogether([Spacer(1, 0.4 * cm), Picture(png, height)]))
    out.append(PageBreak())
    return out


def methodology_pages(pack: PackData) -> list[Flowable]:
    out: list[Flowable] = [_p("Methodology and definitions", "h1")]
    paragraphs = [
        *METHOD,
        (
            "Intervals.",
            (
                f"At {pack.confidence * 100:.0f} %: Wilson intervals for shares of commits or pull "
                "requests; a linearised interval for shares of lines (large commits widen it); a "
                "percentile bootstrap over the baseline sprints for ratios to the baseline; "
                "order-statistic intervals for medians; exact Poisson intervals for rates of events."
            ),
        ),
        (
            "Reproducible.",
            (
                "Each number is one row of the warehouse: SELECT value, numerator, denominator, ci_low, "
                "ci_high, coverage, status, definition_version FROM sprint_metrics WHERE team = "
                f"'{ORG}' AND sprint_id = '{pack.sprint.sprint_id}' AND metric_id = '<id>' (for a "
                "team: its name and its own sprint id)."
            ),
        ),
    ]
    bold = _fonts()[1]
    for head, text in paragraphs:
        out.append(Paragraph(f"<font name='{bold}'>{escape(head)}</font> {escape(text)}", _styles()["body"]))  # fmt: skip
        out.append(Spacer(1, 0.12 * cm))
    out.append(_p("Definitions of the numbers in this pack", "h2"))
    ids = pack.shown(dict.fromkeys((*KPI_METRICS, *TEAM_COLUMNS, *CHART_METRICS)))
    rows = [["Definition (id, version)", "Plain meaning", "Numerator / denominator"]]
    for metric_id in ids:
        definition = fmt.definition(metric_id)
        if definition is None:
            continue
        used = pack.versions.get(metric_id, set())
        ident = f"{definition.name}\n{definition.id} v{definition.version}"
        other = sorted(v for v in used if v != definition.version)
        if other:
            ident += f"\n(this sprint computed with v{', v'.join(map(str, other))})"
        parts = f"{definition.numerator}\n/ {definition.denominator}" if definition.denominator else definition.numerator  # fmt: skip
        rows.append([ident, definition.description, parts])
    out.append(_table(rows, [4.2 * cm, 8.0 * cm, FRAME_WIDTH - 12.2 * cm]))
    missing = [m for m in KPI_METRICS if m not in pack.computed]
    if missing:
        out.append(Spacer(1, 0.2 * cm))
        out.append(_p(f"Not computed in this warehouse yet: {', '.join(missing)}.", "muted"))
    out.append(PageBreak())
    return out


def coverage_page(pack: PackData) -> list[Flowable]:
    health = pack.health
    out: list[Flowable] = [_p("Data coverage and freshness", "h1")]
    runs = health.metric_runs
    took = ""
    if runs.height and fmt.is_number(runs.row(0, named=True).get("seconds")):
        took = f" (in {runs.row(0, named=True)['seconds']:.1f} s)"
    out.append(_p(f"Metrics computed {_when(pack.computed_at)}{took}; this pack prepared {_when(pack.now)}."))  # fmt: skip
    out.append(_p("Coverage", "h2"))
    rows = [["Figure", "Covered", "Share", "Expected at least", "What it counts"]]
    for c in health.coverage:
        share = f"{c.share * 100:.0f} %" if c.share is not None else "—"
        covered = (
            f"{c.covered:,} of {c.total:,}" if c.covered is not None and c.total else "no data"
        )
        wanted = f"{c.threshold * 100:.0f} %" if c.threshold is not None else "—"
        rows.append([c.name + (" (below)" if c.below else ""), covered, share, wanted, c.meaning])
    out.append(_table(rows, [3.6 * cm, 2.4 * cm, 1.4 * cm, 1.9 * cm, FRAME_WIDTH - 9.3 * cm]))
    out.append(_p("Sources", "h2"))
    sources = health.sources
    limit = 25
    rows = [["Source", "Scope", "Last run", "Last successful run", "Age"]]
    for r in sources.head(limit).iter_rows(named=True):
        age = f"{r['age_hours']:.0f} h" if fmt.is_number(r.get("age_hours")) else "never succeeded"
        rows.append([r["kind"], r["scope"], str(r["last_status"]), _when(r.get("last_ok_at")), age])
    if sources.is_empty():
        rows.append(["—", "no ingest run recorded", "", "", ""])
    out.append(_table(rows, [2.2 * cm, 5.4 * cm, 2.0 * cm, 4.9 * cm, FRAME_WIDTH - 14.5 * cm]))
    if sources.height > limit:
        out.append(_p(f"{sources.height - limit} more sources on the dashboard's Data health page.", "muted"))  # fmt: skip
    notes = list(health.warnings)
    for r in health.metric_drift.iter_rows(named=True):
        team = pack.label(r["team"])
        notes.append(
            f"{team}, newest closed sprint ({r['sprint_id']}): {fmt.phrase(r['metric_id'])} at "
            f"{fmt.value(r['metric_id'], r['value'])} lies outside its recent envelope (median "
            f"{fmt.value(r['metric_id'], r['median'])})"
        )
    if not health.drift.is_empty():
        for r in health.drift.iter_rows(named=True):
            notes.append(f"{r['source']}: the API's fields changed (new: {r['new fields'] or 'none'}; missing: {r['missing fields'] or 'none'})")  # fmt: skip
    if health.unmatched_total:
        notes.append(
            f"{health.unmatched_total} identities belong to no configured person: their work counts for "
            "the organisation only (`sprintproof identities` lists them)"
        )
    out.append(_p("Warnings", "h2"))
    if notes:
        out += _bullets(notes[:15])
        if len(notes) > 15:
            out.append(_p(f"{len(notes) - 15} more on the dashboard's Data health page.", "muted"))
    else:
        out.append(_p("None: every source ran, and no coverage figure or metric is out of line."))
    return out


# --------------------------------------------------------------------------- the document


def _footer(organisation: str, sprint: SprintInfo) -> Any:
    regular, _ = _fonts()

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 1.1 * cm, f"{organisation} · board pack · {sprint.name}")
        canvas.drawRightString(A4[0] - MARGIN, 1.1 * cm, f"page {doc.page}")
        canvas.restoreState()

    return draw


def _scopes(path: Path, teams: Sequence[str] | None) -> list[str]:
    known = data.team_names(path)
    if teams is None:
        return [ORG, *known]
    unknown = [t for t in teams if t != ORG and t not in known]
    if unknown:
        raise BoardPackError(
            f"unknown team {unknown[0]!r}; the warehouse knows: {', '.join(known) or 'none'}"
        )
    chosen = list(dict.fromkeys(teams))
    if not chosen:
        raise BoardPackError("no team to report on: pass the organisation or at least one team")
    return sorted(chosen, key=lambda t: (t != ORG, chosen.index(t)))


def build_board_pack(
    path: Path | str,
    *,
    sprint_id: str | None = None,
    teams: Sequence[str] | None = None,
    organisation: str | None = None,
    out: Path | str | None = None,
    settings: DashboardSettings | None = None,
    browser: str | Path | None = None,
    now: datetime | None = None,
    timings: dict[str, float] | None = None,
) -> Path | bytes:
    """The board pack of one organisation sprint as a PDF: written to `out` (returned), else returned as bytes.

    `sprint_id`: an organisation sprint (default: the last closed one). `teams`: the scopes to cover,
    `__org__` for the organisation (default: the organisation and every team). `browser`: the Chrome or
    Chromium for the charts (default: $BROWSER_PATH, then the PATH). `timings`, when given, receives
    the seconds each part took. Raises BoardPackError with a message for the user.
    """
    settings = settings or DashboardSettings()
    organisation = organisation or settings.organisation
    now = now or datetime.now(UTC)
    clock = timings if timings is not None else {}
    started = time.perf_counter()
    ready = require_ready(path)
    sprint = resolve_sprint(ready, sprint_id)
    scopes = _scopes(ready, teams)
    try:
        # The browser opens in the background while the warehouse is read and the figures built.
        renderer = images.Renderer(browser)
    except images.ImageExportError as exc:
        raise BoardPackError(str(exc)) from None
    with renderer:
        pack = gather(ready, sprint, scopes, organisation=organisation, settings=settings, now=now)
        clock["read"] = time.perf_counter() - started

        started = time.perf_counter()
        built = chart_figures(pack)
        clock["figures"] = time.perf_counter() - started

        started = time.perf_counter()
        try:
            pngs = renderer.render(
                [for_print(fig) for _, fig, _ in built],
                [images.Shape(CHART_PX, height) for _, _, height in built],
            )
        except images.ImageExportError as exc:
            raise BoardPackError(str(exc)) from None
        clock["images"] = time.perf_counter() - started

    started = time.perf_counter()
    charts = [
        (section, png, height, figures.title_text(fig))
        for (section, fig, height), png in zip(built, pngs, strict=True)
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{organisation}: board pack, {sprint.name}",
        author=organisation,
        subject=f"Organisation sprint {sprint.sprint_id}",
        creator="SprintProof",
    )
    story = [
        *cover(pack),
        *summary_page(pack),
        *kpi_page(pack),
        *trends_pages(pack, charts),
        *teams_page(pack, charts),
        *methodology_pages(pack),
        *coverage_page(pack),
    ]
    footer = _footer(organisation, sprint)
    doc.build(story, onFirstPage=lambda c, d: None, onLaterPages=footer)
    content = buffer.getvalue()
    clock["pdf"] = time.perf_counter() - started
    if out is None:
        return content
    return _write(Path(out), content)


def _write(target: Path, content: bytes) -> Path:
    """Write atomically: a reader (or a download) never sees half a PDF."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".board-pack-", suffix=".pdf")
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        # mkstemp makes the file private; the pack gets the permissions of any file written here.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
    except OSError as exc:
        raise BoardPackError(f"{target}: cannot write the board pack ({exc.strerror})") from exc
    return target


def recent_closed(
    sprints: Sequence[SprintInfo], now: datetime, within: timedelta
) -> list[SprintInfo]:
    """Closed organisation sprints that ended in the last `within` before `now`, oldest first."""
    return [s for s in sprints if s.closed and now - within < s.end <= now]
