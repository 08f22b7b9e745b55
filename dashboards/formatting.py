"""How numbers read on screen and in the board pack: values with units, deltas, axis titles, short names."""

import math
from collections.abc import Callable
from datetime import datetime

from metrics.definitions import Definition, definitions

ORG = "__org__"

# Short phrases for titles and sentences; the definition's name is the fallback.
PHRASES: dict[str, str] = {
    "acr_lines": "Detected AI share of added lines",
    "acr_commits": "Detected AI share of commits",
    "acr_prs": "Detected AI share of merged PRs",
    "agentic_commit_rate": "Agent-authored share of commits",
    "agentic_pr_rate": "Agent-authored share of merged PRs",
    "acr_lines_notes": "AI share of attested lines (git-ai notes)",
    "velocity_points": "Velocity",
    "velocity_issues": "Completed issues",
    "merged_prs": "Merged PRs",
    "velocity_acceleration": "Velocity against the pre-AI baseline",
    "velocity_per_engineer": "Velocity per engineer",
    "commitment_completion": "Commitment completion",
    "throughput_per_engineer": "Merged PRs per engineer",
    "cycle_time_p50": "Median PR cycle time",
    "cycle_time_p85": "85th percentile PR cycle time",
    "coding_time_p50": "Median coding time",
    "pickup_time_p50": "Median pickup time",
    "review_time_p50": "Median review time",
    "pr_size_p50": "Median PR size",
    "bug_density_points": "Bugs per 100 story points",
    "bug_density_kloc": "Bugs per 1,000 added lines",
    "bug_density_prs": "Bugs per merged PR",
    "bug_density_change": "Bug density against the baseline",
    "review_rejection_rate": "Review rejection rate",
    "rejections_per_release": "Review rejections per release",
    "abandoned_pr_rate": "Abandoned PR rate",
    "revert_rate": "Revert rate",
    "deployment_frequency": "Deployment frequency",
    "change_lead_time_p50": "Median change lead time",
    "change_fail_rate": "Change fail rate",
    "recovery_time_p50": "Median recovery time",
    "deployment_rework_rate": "Deployment rework rate",
    "ai_durability": "AI-added lines still alive after 30 days",
    "human_durability": "Human-added lines still alive after 30 days",
    "ai_churn": "AI-added lines churned within 21 days",
    "human_churn": "Human-added lines churned within 21 days",
}

TOOL_NAMES: dict[str, str] = {
    "claude_code": "Claude Code",
    "copilot": "GitHub Copilot",
    "copilot_agent": "Copilot coding agent",
    "copilot_cli": "Copilot CLI",
    "copilot_review": "Copilot review",
    "cursor": "Cursor",
    "aider": "Aider",
    "codex": "Codex",
    "devin": "Devin",
    "gemini": "Gemini",
    "windsurf": "Windsurf",
    "factory": "Factory",
    "amazon_q": "Amazon Q",
    "jules": "Jules",
    "unknown": "Unknown tool",
}


def definition(metric_id: str) -> Definition | None:
    return definitions().get(metric_id)


def phrase(metric_id: str) -> str:
    found = definition(metric_id)
    return PHRASES.get(metric_id, found.name if found else metric_id)


def name(metric_id: str) -> str:
    found = definition(metric_id)
    return found.name if found else metric_id


def kind(metric_id: str) -> str:
    """How a value reads: the definition's unit, with ratios to a baseline told apart."""
    if metric_id.endswith("_change"):
        return "change"
    if metric_id == "velocity_acceleration":
        return "times"
    found = definition(metric_id)
    return found.unit if found else "ratio"


def better(metric_id: str) -> str:
    found = definition(metric_id)
    return found.better if found else "none"


def scope_name(team: str, organisation: str = "Organisation") -> str:
    return organisation if team == ORG else team


def tool_name(tool: str | None) -> str:
    if not tool:
        return "Unknown tool"
    return TOOL_NAMES.get(tool, tool.replace("_", " ").capitalize())


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# Phrases that name their unit already ("Bugs per 100 story points"): titles give the bare number.
UNIT_IN_PHRASE = frozenset({"bug_density_points", "bug_density_kloc", "bug_density_prs"})


def formatter(metric_id: str, *, precise: bool = False, unit: bool = True) -> Callable[[float | None], str]:  # fmt: skip
    """How a metric's values read, decided once: hovers format thousands of values at a time."""
    k = kind(metric_id)
    if not unit and k in ("per_day", "per_100_points", "per_kloc", "per_pr"):
        pattern = "{:.3f}" if precise else "{:.2f}"
    elif k == "share":
        pattern = "{:.2f} %" if precise else "{:.0f} %"
    elif k == "change":
        digits = 2 if precise else 0

        def change(v: float | None) -> str:
            if not is_number(v):
                return "—"
            assert v is not None
            if round(v * 100, digits) == 0:
                return "0 %"  # not "-0 %"
            return f"{v * 100:+.{digits}f} %"

        return change
    elif k == "times":
        pattern = "{:.3f}×" if precise else "{:.2f}×"
    elif k == "hours":
        pattern = "{:.2f} h" if precise else "{:.1f} h"
    elif k in UNIT_WORDS:
        pattern = ("{:.3f}" if precise else UNIT_DIGITS[k]) + " " + UNIT_WORDS[k]
    elif k in ("count", "points", "lines"):

        def count(v: float | None) -> str:
            if not is_number(v):
                return "—"
            assert v is not None
            return f"{v:,.2f}".rstrip("0").rstrip(".") if precise else f"{v:,.0f}"

        return count
    else:
        pattern = "{:.3f}" if precise else "{:.2f}"
    scale = 100 if k == "share" else 1

    def plain(v: float | None) -> str:
        if not is_number(v):
            return "—"
        assert v is not None
        return pattern.format(v * scale)

    return plain


UNIT_WORDS = {"per_day": "per day", "per_100_points": "per 100 points", "per_kloc": "per KLOC", "per_pr": "per PR"}  # fmt: skip
UNIT_DIGITS = {"per_day": "{:.2f}", "per_100_points": "{:.1f}", "per_kloc": "{:.2f}", "per_pr": "{:.2f}"}  # fmt: skip


def value(metric_id: str, v: float | None, *, precise: bool = False, unit: bool = True) -> str:
    """The value with its unit ('43 %', '22.8 h', ratios to a baseline with a times sign); precise adds digits."""
    return formatter(metric_id, precise=precise, unit=unit)(v)


def in_title(metric_id: str, v: float | None) -> str:
    """A value as a title states it, without repeating a unit the phrase already names."""
    return value(metric_id, v, unit=metric_id not in UNIT_IN_PHRASE)


def delta(metric_id: str, now: float | None, before: float | None) -> str | None:
    """The change between two values in the metric's own terms ('+3.1 pts', '-1.2 h'); None without both."""
    if not (is_number(now) and is_number(before)):
        return None
    assert now is not None and before is not None
    diff = now - before
    k = kind(metric_id)
    if k in ("share", "change"):
        return f"{diff * 100:+.1f} pts"
    if k == "times":
        return f"{diff:+.2f}×"
    if k == "hours":
        return f"{diff:+.1f} h"
    if k in ("count", "points", "lines"):
        return f"{diff:+,.0f}"
    return f"{diff:+.2f}"


def interval(metric_id: str, low: float | None, high: float | None) -> str | None:
    """'38 % to 48 %'; a side the data cannot bound shows as an ellipsis; None when neither side is known."""
    if not is_number(low) and not is_number(high):
        return None
    left = value(metric_id, low) if is_number(low) else "…"
    right = value(metric_id, high) if is_number(high) else "…"
    return f"{left} to {right}"


def axis_title(metric_id: str) -> str:
    k = kind(metric_id)
    return {
        "share": "share (%)",
        "change": "change against baseline (%)",
        "times": "× the pre-AI baseline",
        "hours": "hours",
        "per_day": "deployments per day",
        "per_100_points": "bugs per 100 story points",
        "per_kloc": "bugs per 1,000 added lines",
        "per_pr": "bugs per merged PR",
        "count": "count",
        "points": "story points",
        "lines": "lines",
    }.get(k, name(metric_id))


def tickformat(metric_id: str) -> str | None:
    return {"share": ".0%", "change": "+.0%"}.get(kind(metric_id))


def sprint_dates(start: datetime | None, end: datetime | None) -> str:
    """'17 Nov - 30 Nov 2025' (with an en dash) for a half-open sprint [start, end)."""
    if start is None:
        return ""
    if end is None:
        return start.strftime("from %d %b %Y")
    last = end.fromtimestamp(end.timestamp() - 1, tz=end.tzinfo)
    if start.year != last.year:
        return f"{start:%d %b %Y} – {last:%d %b %Y}"
    return f"{start:%d %b} – {last:%d %b %Y}"
