"""What every page shares: cached reads, sign-in, the sidebar filters, the current view, tiles and notices."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards import data, figures, filters, headline, palette
from dashboards import formatting as fmt
from dashboards.settings import EVERYTHING, NOTHING, Access, DashboardSettings

ORG = "__org__"
TTL = 300  # seconds; a republished snapshot changes the file version and is read at once anyway
VIEW_KEY = "sprintproof.view"
INIT_KEY = "sprintproof.filters_initialised"
CHOICE_KEY = "sprintproof.filters"
SPRINTS_KEY, TEAMS_KEY, REPOS_KEY = "filter_sprints", "filter_teams", "filter_repos"


# --------------------------------------------------------------------------- cached reads
# Every cached read takes the file's (mtime, size) so a new snapshot is a new cache entry.


@st.cache_data(ttl=30, show_spinner=False)
def _status(path: str | None, version: tuple[int, int]) -> data.Status:
    return data.status(Path(path) if path else None)


def status(path: Path | None) -> data.Status:
    return _status(str(path) if path else None, data.file_version(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def _catalog(path: str, version: tuple[int, int]) -> data.Catalog:
    return data.catalog(Path(path))


@st.cache_data(ttl=TTL, show_spinner=False)
def _metric_rows(path: str, version: tuple[int, int], ids: tuple[str, ...], teams: tuple[str, ...],
                 start: datetime | None, end: datetime | None) -> pl.DataFrame:  # fmt: skip
    return data.metric_rows(Path(path), ids, teams, start, end)


@st.cache_data(ttl=TTL, show_spinner=False)
def _tool_mix(path: str, version: tuple[int, int], teams: tuple[str, ...],
              start: datetime | None, end: datetime | None) -> pl.DataFrame:  # fmt: skip
    return data.tool_mix(Path(path), teams, start, end)


@st.cache_data(ttl=TTL, show_spinner=False)
def _drilldown(path: str, version: tuple[int, int], kind: str, team: str, sprint_id: str,
               repos: tuple[str, ...], agent_only: bool, per_person: bool) -> data.Drilldown:  # fmt: skip
    fetch = data.ai_commits if kind == "commits" else data.ai_prs
    return fetch(Path(path), team, sprint_id, repos=repos, agent_only=agent_only, per_person=per_person)  # fmt: skip


@st.cache_data(ttl=60, show_spinner=False)
def _health(path: str, version: tuple[int, int], repos: tuple[str, ...], window_days: int,
            thresholds: tuple[tuple[str, float], ...], drift_window: int, drift_threshold: float) -> data.Health:  # fmt: skip
    return data.health_report(Path(path), repos=repos, window_days=window_days, thresholds=dict(thresholds),
                              drift_window=drift_window, drift_threshold=drift_threshold)  # fmt: skip


@st.cache_data(ttl=TTL, show_spinner=False)
def _sprint_report(path: str, version: tuple[int, int], org_sprint_id: str, teams: tuple[str, ...]) -> pl.DataFrame:  # fmt: skip
    return data.sprint_report(Path(path), org_sprint_id, teams)


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class View:
    """Everything a page needs to know about this run: data file, viewer, filters."""

    settings: DashboardSettings
    path: Path
    version: tuple[int, int]
    access: Access
    viewer: str | None
    all_teams: list[str]
    visible_teams: list[str]
    computed: list[str]
    sprints: pl.DataFrame  # the organisation's started sprints (all of them)
    selection: filters.Selection
    start: datetime | None
    end: datetime | None
    colors: dict[str, str] = field(default_factory=dict)

    @property
    def teams(self) -> list[str]:
        """The teams the filters select (all visible teams when none is chosen)."""
        return list(self.selection.teams) or self.visible_teams

    @property
    def scopes(self) -> list[str]:
        """Whose numbers the pages lead with: the organisation, or the teams picked in the filter."""
        if self.selection.teams:
            return list(self.selection.teams)
        return [ORG] if self.access.organisation else self.visible_teams

    @property
    def scope_options(self) -> list[str]:
        return ([ORG] if self.access.organisation else []) + self.teams

    @property
    def names(self) -> dict[str, str]:
        return {ORG: self.settings.organisation}

    @property
    def repos(self) -> tuple[str, ...]:
        return self.selection.repos

    def label(self, team: str) -> str:
        return fmt.scope_name(team, self.settings.organisation)

    # Reads, cached and filtered by the view.
    def metrics(self, ids: Sequence[str], teams: Sequence[str] | None = None, *, whole: bool = False,
                upto: bool = False) -> pl.DataFrame:  # fmt: skip
        """Metric rows of the window (whole: every sprint; upto: every sprint until the window's end)."""
        start = None if whole or upto else self.start
        end = None if whole else self.end
        return _metric_rows(str(self.path), self.version, tuple(ids), tuple(teams or self.scopes), start, end)  # fmt: skip

    def tool_mix(self, teams: Sequence[str]) -> pl.DataFrame:
        return _tool_mix(str(self.path), self.version, tuple(teams), self.start, self.end)

    def drilldown(self, kind: str, team: str, sprint_id: str, *, agent_only: bool = False) -> data.Drilldown:  # fmt: skip
        return _drilldown(str(self.path), self.version, kind, team, sprint_id, self.repos, agent_only,
                          self.settings.per_person_views)  # fmt: skip

    def health(self) -> data.Health:
        c = self.settings.checks
        thresholds = (("identity_coverage", c.identity_coverage), ("attribution_coverage", c.attribution_coverage),
                      ("ticket_link_coverage", c.ticket_link_coverage))  # fmt: skip
        return _health(str(self.path), self.version, self.repos, c.window_days, thresholds, c.drift_window,
                       c.drift_threshold)  # fmt: skip

    def sprint_report(self, org_sprint_id: str, teams: Sequence[str]) -> pl.DataFrame:
        return _sprint_report(str(self.path), self.version, org_sprint_id, tuple(teams))


def current() -> View:
    """The view the entry script prepared for this run."""
    view = st.session_state.get(VIEW_KEY)
    if not isinstance(view, View):
        st.error("Open the dashboard through its entry point: `streamlit run dashboards/app.py`.")
        st.stop()
    return view  # type: ignore[return-value]


# --------------------------------------------------------------------------- sign-in


def _auth_configured(provider: str | None) -> bool:
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets.toml at all (StreamlitSecretNotFoundError is one)
        return False
    if not section:
        return False
    return provider is None or provider in section


def sign_in(settings: DashboardSettings) -> tuple[Access, str | None]:
    """Nothing but the sign-in prompt until the viewer has signed in; then what their role lets them see."""
    auth = settings.auth
    if not auth.enabled:
        return EVERYTHING, None
    user = st.user
    if not user.is_logged_in:
        st.title(settings.organisation)
        st.subheader("Sign in to see the engineering numbers")
        if _auth_configured(auth.provider):
            st.button("Sign in", type="primary", on_click=st.login, args=(auth.provider,) if auth.provider else ())  # fmt: skip
        else:
            st.error(
                "Sign-in is turned on in the dashboard settings, but `.streamlit/secrets.toml` has no "
                + (f"`[auth.{auth.provider}]`" if auth.provider else "`[auth]`")
                + " section. See docs/dashboard.md, “Sign-in”."
            )
        st.stop()
    email = user.get("email")
    email = email if isinstance(email, str) else None
    access = auth.access_for(email)
    if access == NOTHING:
        st.title(settings.organisation)
        st.warning(
            f"{email or 'This account'} has no role in this dashboard. Ask the person who runs "
            "SprintProof to add it under `auth.roles` in the dashboard settings."
        )
        st.button("Sign out", on_click=st.logout)
        st.stop()
    return access, email


# --------------------------------------------------------------------------- empty states


def no_data(state: data.Status) -> None:
    """How to get data in, instead of a page that cannot be drawn."""
    st.title("SprintProof")
    if state.state == data.NO_METRICS:
        st.info(
            f"The warehouse `{state.path}` holds {state.commits:,} commits, but the sprint metrics "
            "have not been computed yet."
        )
        st.markdown("Compute them, then reload this page:\n\n```sh\nsprintproof metrics\n```")
        return
    if state.state == data.UNREADABLE:
        st.error(f"The warehouse cannot be read: {state.detail}")
        st.markdown(
            "A warehouse that a running ingest holds open can be read through its published snapshot "
            "(`sprintproof run` publishes one; the dashboard reads it when `SPRINTPROOF_SNAPSHOT` names it)."
        )
        return
    where = f"`{state.path}`" if state.path else "no warehouse file"
    st.info(f"No data to show yet: {state.detail or where}.")
    st.markdown(
        "**Try it with the demo organisation** (three repositories, twelve engineers, a year of history):\n\n"
        "```sh\nsprintproof demo\nsprintproof metrics\nsprintproof dashboard\n```\n\n"
        "**Or with your own repositories:**\n\n"
        "```sh\nsprintproof init          # writes sprintproof.yaml: add sources and teams\n"
        "sprintproof ingest\nsprintproof metrics\nsprintproof dashboard\n```\n\n"
        "The dashboard reads the file named by `SPRINTPROOF_WAREHOUSE` (or `--warehouse` after `--`)."
    )


def status_words(status: str, note: str | None = None) -> str:
    if status == "suppressed":
        return "suppressed: the team is below the minimum group size, so its numbers are not shown"
    if status == "missing":
        return "not computed yet"
    if status == "insufficient_data":
        return "insufficient data" + (f" ({note})" if note else "")
    return status


# --------------------------------------------------------------------------- sidebar


def _options(view_sprints: pl.DataFrame) -> tuple[list[str], dict[str, str]]:
    """Sprint ids and their short labels (start dates: the sidebar is narrow)."""
    ids = view_sprints.get_column("sprint_id").to_list()
    starts = [f"{s:%d %b %Y}" for s in view_sprints.get_column("sprint_start").to_list()]
    return ids, dict(zip(ids, starts, strict=True))


def _remembered(ids: list[str], teams: list[str], repos: list[str]) -> filters.Selection:
    """The session's filter choices, limited to what the (re-published) warehouse still has.

    The choices are kept under keys of their own and handed to the widgets as defaults:
    Streamlit may reset a widget to its default when the page changes, and the default is then
    the viewer's last choice.
    """
    if not st.session_state.get(INIT_KEY):
        asked = filters.from_query(st.query_params.get_all, ids, teams, repos)
        st.session_state[CHOICE_KEY] = asked
        st.session_state[INIT_KEY] = True
    chosen = st.session_state.get(CHOICE_KEY)
    if not isinstance(chosen, filters.Selection):
        chosen = filters.Selection(None, None)
    first = chosen.first if chosen.first in ids else (ids[0] if ids else None)
    last = chosen.last if chosen.last in ids else (ids[-1] if ids else None)
    kept = filters.Selection(
        first,
        last,
        tuple(t for t in chosen.teams if t in teams),
        tuple(r for r in chosen.repos if r in repos),
    )
    # A widget still holding a value the warehouse no longer has would refuse to render.
    for key, known in ((TEAMS_KEY, teams), (REPOS_KEY, repos)):
        if not set(st.session_state.get(key) or []) <= set(known):
            del st.session_state[key]
    if SPRINTS_KEY in st.session_state and not set(st.session_state[SPRINTS_KEY] or []) <= set(ids):
        del st.session_state[SPRINTS_KEY]
    return kept


def build_view(settings: DashboardSettings, state: data.Status, access: Access, viewer: str | None) -> View:  # fmt: skip
    """The sidebar filters (from the URL on a session's first run, written back on every run) and the view."""
    assert state.path is not None
    path, version = state.path, data.file_version(state.path)
    found = _catalog(str(path), version)
    sprints, all_teams, repos, computed = found.sprints, found.teams, found.repos, found.computed
    visible = [t for t in all_teams if access.allows(t)]
    ids, starts = _options(sprints)
    remembered = _remembered(ids, visible, repos)

    with st.sidebar:
        st.caption(f"**{settings.organisation}**")
        first = last = None
        if len(ids) > 1:
            first, last = st.select_slider(
                "Sprints", options=ids, value=(remembered.first, remembered.last),
                format_func=lambda s: starts.get(s, s), key=SPRINTS_KEY,
                help="Organisation sprints; a team's sprint counts when its midpoint falls in the range.",
            )  # fmt: skip
        elif ids:
            first = last = ids[0]
        chosen_teams = st.multiselect(
            "Teams", visible, default=list(remembered.teams), key=TEAMS_KEY, placeholder="All teams",
            help="Leave empty for the organisation and every team you may see.",
        )  # fmt: skip
        chosen_repos = st.multiselect(
            "Repositories", repos, default=list(remembered.repos), key=REPOS_KEY, placeholder="All repositories",
            help="Narrows the lists of commits and pull requests and the source health. Sprint "
            "metrics are computed per team and for the organisation, not per repository.",
        )  # fmt: skip
        if viewer:
            st.caption(f"Signed in as {viewer}")
            st.button("Sign out", on_click=st.logout)

    selection = filters.Selection(first, last, tuple(chosen_teams), tuple(chosen_repos))
    st.session_state[CHOICE_KEY] = selection
    wanted = filters.to_query(selection, ids)
    current_params = {k: st.query_params.get_all(k) for k in filters.KEYS}
    if filters.differs(current_params, wanted):
        for key in filters.KEYS:
            if key in wanted:
                st.query_params[key] = wanted[key]
            elif key in st.query_params:
                del st.query_params[key]
    start, end = filters.window(selection, sprints)
    return View(settings, path, version, access, viewer, all_teams, visible, computed, sprints, selection,
                start, end, palette.team_colors(all_teams))  # fmt: skip


# --------------------------------------------------------------------------- page parts


def header(title: str, view: View, caption: str | None = None) -> None:
    st.title(title)
    span = ""
    if view.start is not None and view.end is not None:
        span = fmt.sprint_dates(view.start, view.end)
    who = ", ".join(view.label(s) for s in view.scopes) or "no team"
    st.caption(" · ".join(filter(None, [who, span, caption])))


def repo_note(view: View) -> None:
    if view.repos:
        st.caption(
            f"Repository filter ({', '.join(view.repos)}): applied to the commit and pull request lists. "
            "The sprint metrics are per team and for the organisation."
        )


def chart(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False}, key=key)


MANY_TEAMS = 8  # beyond this, a line per team is a tangle: teams get a row of coloured cells each


def by_team(rows: pl.DataFrame, metric_id: str, view: View, key: str) -> None:
    """One metric of several teams over the sprints: lines for a few teams, cells for many."""
    teams = rows.filter(pl.col("metric_id") == metric_id).get_column("team").n_unique()
    if teams > MANY_TEAMS:
        chart(figures.strips(rows, metric_id, names=view.names), key=key)
    else:
        chart(figures.trend(rows, metric_id, colors=view.colors, names=view.names), key=key)


def pick_scope(view: View, key: str, label: str = "Show") -> str | None:
    """One scope for charts that show a single team or the organisation."""
    options = view.scope_options
    if not options:
        st.info("No team to show: the filters or your role leave none.")
        return None
    default = view.scopes[0] if view.scopes and view.scopes[0] in options else options[0]
    return st.selectbox(
        label, options, index=options.index(default), format_func=view.label, key=key
    )


def tile(k: headline.Kpi, *, confidence: float) -> None:
    """One KPI: value, delta against the previous sprint, sparkline, interval and reference band."""
    label = headline.LABELS.get(k.metric_id, fmt.name(k.metric_id))
    reverse = {"down": "inverse", "up": "normal"}.get(fmt.better(k.metric_id), "off")
    if k.status == "ok":
        st.metric(
            label,
            fmt.in_title(k.metric_id, k.value),  # the label names a unit such as "per 100 points"
            delta=k.delta,
            delta_color=reverse,  # type: ignore[arg-type]
            delta_description="vs previous sprint" if k.delta else None,
            chart_data=k.series if len(k.series) > 1 else None,
            chart_type="line",
            border=True,
            help=_tile_help(k),
        )
    else:
        st.metric(label, "—", border=True, help=_tile_help(k))
        st.caption(status_words(k.status, k.note))
    extras = []
    if k.status == "ok" and k.interval:
        extras.append(f"{confidence * 100:.0f} % interval {k.interval}")
    bands = headline.bands_text(k.metric_id)
    if bands:
        extras.append(f"reference: {bands}")
    if extras:
        st.caption(" · ".join(extras))


def _tile_help(k: headline.Kpi) -> str:
    definition = fmt.definition(k.metric_id)
    parts = []
    if definition:
        parts.append(f"{definition.description} (definition {definition.id} v{definition.version})")
    if k.sprint_name:
        parts.append(f"Sprint: {k.sprint_name}.")
    if fmt.is_number(k.numerator) or fmt.is_number(k.denominator):
        parts.append(f"Numerator {_plain(k.numerator)}, denominator {_plain(k.denominator)}.")
    if fmt.is_number(k.coverage):
        assert k.coverage is not None
        parts.append(f"Coverage {k.coverage * 100:.0f} %.")
    if k.note and k.status != "suppressed":
        parts.append(k.note)
    return "\n\n".join(parts)


def _plain(v: Any) -> str:
    if not fmt.is_number(v):
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.3f}"


def metric_table(rows: pl.DataFrame, view: View) -> pl.DataFrame:
    """Rows of sprint_metrics as a readable table: values with units, status words, no numbers of suppressed teams."""
    out = []
    for r in rows.iter_rows(named=True):
        ok = r["status"] == "ok"
        out.append(
            {
                "scope": view.label(r["team"]),
                "sprint": r["sprint_name"],
                "metric": fmt.name(r["metric_id"]),
                "value": fmt.value(r["metric_id"], r["value"]) if ok else status_words(r["status"]),
                "interval": (fmt.interval(r["metric_id"], r["ci_low"], r["ci_high"]) or "")
                if ok
                else "",
                "numerator": _plain(r["numerator"]) if r["status"] != "suppressed" else "",
                "denominator": _plain(r["denominator"]) if r["status"] != "suppressed" else "",
                "coverage": f"{r['coverage'] * 100:.0f} %" if fmt.is_number(r["coverage"]) else "",
                # A suppressed row's note may describe the small team: it stays out too.
                "note": (r["note"] or "") if r["status"] != "suppressed" else "",
            }
        )
    return pl.DataFrame(
        out,
        schema={k: pl.String for k in ("scope", "sprint", "metric", "value", "interval", "numerator",
                                       "denominator", "coverage", "note")},
    )  # fmt: skip


def not_computed(view: View, metric_ids: Sequence[str]) -> list[str]:
    return [m for m in metric_ids if m not in view.computed]
