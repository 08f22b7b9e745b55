"""The fixed colours of tools, teams, modes and reference bands, readable on light and dark backgrounds."""

import hashlib
from collections.abc import Iterable

ORG = "__org__"

# Mid-lightness hues: dark enough for a white page, light enough for Streamlit's dark theme.
TOOLS: dict[str, str] = {
    "claude_code": "#D97757",
    "copilot": "#8957E5",
    "copilot_agent": "#7C4DFF",
    "copilot_cli": "#B392F0",
    "copilot_review": "#A371F7",
    "cursor": "#3B82F6",
    "aider": "#14B8A6",
    "codex": "#10A37F",
    "devin": "#E11D74",
    "gemini": "#F59E0B",
    "windsurf": "#06B6D4",
    "factory": "#84CC16",
    "amazon_q": "#FF9900",
    "jules": "#EC4899",
}

# Teams take these in the sorted order of every team in the warehouse, so a team keeps its
# colour whatever the filters, and the board pack colours it the same way.
TEAMS: tuple[str, ...] = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
    "#FF9DA7",
    "#9C755F",
    "#3CB4E6",
)
ORGANISATION = "#8C8C8C"

MODES: dict[str, str] = {"agent": "#7C4DFF", "assisted": "#3CB4E6", "human": "#9C9C9C"}

# Parts of the PR cycle, in the order they happen.
PARTS: dict[str, str] = {
    "coding_time_p50": "#4E79A7",
    "pickup_time_p50": "#F28E2B",
    "review_time_p50": "#59A14F",
}

BAND_FILL = "rgba(128, 128, 128, 0.14)"
BAND_LINE = "rgba(128, 128, 128, 0.55)"
GRID = "rgba(128, 128, 128, 0.25)"

_SPARE: tuple[str, ...] = ("#9467BD", "#17BECF", "#BCBD22", "#E377C2", "#8C564B", "#1F77B4")


def tool_color(tool: str | None) -> str:
    """A tool's colour; a tool without a fixed one gets a stable spare colour from its name."""
    if not tool:
        return "#9C9C9C"
    if tool in TOOLS:
        return TOOLS[tool]
    digest = int(hashlib.sha1(tool.encode()).hexdigest(), 16)
    return _SPARE[digest % len(_SPARE)]


def team_colors(teams: Iterable[str]) -> dict[str, str]:
    """Colour of every team (and the organisation), from the full list of the warehouse's teams."""
    named = sorted({t for t in teams if t != ORG})
    colours = {team: TEAMS[i % len(TEAMS)] for i, team in enumerate(named)}
    colours[ORG] = ORGANISATION
    return colours


def translucent(colour: str, alpha: float) -> str:
    """'#RRGGBB' as an rgba() string with the given opacity (interval bands)."""
    colour = colour.lstrip("#")
    red, green, blue = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red}, {green}, {blue}, {alpha})"
