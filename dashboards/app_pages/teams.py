"""Teams side by side: each team's latest closed sprint, suppressed teams shown as suppressed and never their numbers."""

import polars as pl
import streamlit as st

from dashboards import figures, headline, ui
from dashboards import formatting as fmt

COLUMNS = (
    "acr_lines",
    "agentic_commit_rate",
    "velocity_acceleration",
    "bug_density_change",
    "cycle_time_p50",
    "review_rejection_rate",
)

view = ui.current()
ui.header("Teams", view, "each team's latest closed sprint in the range")

teams = view.teams
if not teams:
    st.info("No team to show: the filters or your role leave none.")
    st.stop()
rows = view.metrics(COLUMNS, teams, upto=True)
shown = headline.in_window(rows, view.start)

table, latest, suppressed = [], [], []
for team in teams:
    items = headline.kpis(rows, team, COLUMNS, since=view.start)
    sprint = next((k.sprint_name for k in items if k.sprint_name), None)
    if sprint is None:
        continue
    row: dict[str, str] = {"team": team, "sprint": sprint}
    team_suppressed = all(k.status == "suppressed" for k in items if k.status != "missing")
    for k in items:
        row[fmt.name(k.metric_id)] = (
            fmt.value(k.metric_id, k.value)
            if k.status == "ok"
            else ui.status_words(k.status).split(":")[0]
        )
    if team_suppressed:
        suppressed.append(team)
    table.append(row)
    focus = headline.focus_sprint(
        headline.in_window(rows, view.start), team
    ) or headline.focus_sprint(rows, team)
    if focus:
        latest.append(
            rows.filter((pl.col("team") == team) & (pl.col("sprint_id") == focus["sprint_id"]))
        )

if not table:
    st.info("No sprint of these teams falls in this range.")
    st.stop()
st.dataframe(pl.DataFrame(table), hide_index=True)
if suppressed:
    st.caption(
        f"Suppressed: {', '.join(suppressed)}. A team with fewer than {view.settings.min_group_size} people "
        "is not shown on its own; its work still counts for the organisation."
    )

metric_id = st.selectbox("Compare", COLUMNS, format_func=fmt.name, key="teams_metric")
focus_rows = pl.concat(latest) if latest else shown.head(0)
ui.chart(figures.compare(focus_rows, metric_id, colors=view.colors, names=view.names, sprint_label="each team's latest closed sprint"), key="compare")  # fmt: skip
ui.by_team(shown, metric_id, view, key="trend")
