"""AI adoption: the detected AI share in its three flavours, the tool mix, agent against assisted work, and the evidence behind each number."""

import polars as pl
import streamlit as st

from dashboards import figures, headline, ui
from dashboards import formatting as fmt

FLAVOURS = ("acr_lines", "acr_commits", "acr_prs")

view = ui.current()
ui.header("AI adoption", view, "detected AI share: a floor, as unmarked AI use is invisible")

scope = ui.pick_scope(view, key="adoption_scope")
if scope is None:
    st.stop()
rows = view.metrics((*FLAVOURS, "agentic_commit_rate", "agentic_pr_rate"), [scope])
ui.chart(figures.flavours(rows, names=view.names), key="flavours")

mix = view.tool_mix([scope])
if mix.is_empty():
    st.info(f"No detected AI work for {view.label(scope)} in this range.")
else:
    measure = st.segmented_control(
        "Count", ["commits", "lines", "prs"], default="commits", key="mix_measure",
        format_func=lambda m: {"commits": "commits", "lines": "added lines", "prs": "merged PRs"}[m],
    ) or "commits"  # fmt: skip
    left, right = st.columns(2)
    with left:
        ui.chart(figures.tool_mix(mix, measure=measure), key="tool_mix")
    with right:
        ui.chart(figures.modes(mix, measure=measure), key="modes")

teams = [t for t in view.teams if view.access.allows(t)]
if len(teams) > 1:
    st.subheader("By team")
    by_team = view.metrics(("acr_lines", "agentic_commit_rate"), teams)
    left, right = st.columns(2)
    with left:
        ui.by_team(by_team, "acr_lines", view, key="team_acr")
    with right:
        ui.by_team(by_team, "agentic_commit_rate", view, key="team_agentic")

st.subheader("Evidence: what is behind a number")
sprints = (
    rows.filter(pl.col("sprint_state") != "future")
    .select("sprint_id", "sprint_name", "sprint_start", "sprint_state")
    .unique()
    .sort("sprint_start", descending=True)
)
if sprints.is_empty():
    st.info("No sprint in this range.")
    st.stop()
focus = headline.focus_sprint(rows, scope)
ids = sprints.get_column("sprint_id").to_list()
names = dict(zip(ids, sprints.get_column("sprint_name").to_list(), strict=True))
left, right = st.columns([2, 3])
with left:
    sprint_id = st.selectbox(
        "Sprint", ids, index=ids.index(focus["sprint_id"]) if focus and focus["sprint_id"] in ids else 0,
        format_func=lambda s: names.get(s, s), key="evidence_sprint",
    ) or ids[0]  # fmt: skip
with right:
    number = st.radio(
        "Number",
        ["acr_commits", "agentic_commit_rate", "acr_prs", "agentic_pr_rate"],
        format_func=fmt.name,
        horizontal=True,
        key="evidence_number",
    )
row = rows.filter((pl.col("sprint_id") == sprint_id) & (pl.col("metric_id") == number))
status = row.get_column("status")[0] if row.height else "missing"
if status == "suppressed":
    st.warning(f"{view.label(scope)} is below the minimum group size in this sprint: its commits and PRs are not listed.")  # fmt: skip
    st.stop()
kind = "prs" if number in ("acr_prs", "agentic_pr_rate") else "commits"
found = view.drilldown(kind, scope, sprint_id, agent_only=number.startswith("agentic"))
unit = "merged non-bot PRs" if kind == "prs" else "work commits"
what = "agent-authored" if number.startswith("agentic") else "AI-attributed"
stated = f"**{found.matching:,}** {what} of **{found.population:,}** {unit} in {names.get(sprint_id, sprint_id)}"
if row.height and status == "ok":
    stated += f": {fmt.name(number)} {fmt.value(number, row.get_column('value')[0])}"
elif row.height:
    stated += f": {fmt.name(number)}: {ui.status_words(status)}"
st.markdown(stated + ".")
if view.repos:
    ui.repo_note(view)
if found.hidden:
    st.caption(f"{found.hidden:,} of them belong to teams below the minimum group size: counted, not listed.")  # fmt: skip
if found.rows.is_empty():
    st.info("Nothing to list.")
else:
    st.dataframe(
        found.rows,
        hide_index=True,
        column_config={
            "sha": st.column_config.TextColumn("commit", width="small"),
            "decided_by": st.column_config.TextColumn("decided by (rule)"),
            "signal": st.column_config.TextColumn("matched signal"),
            "confidence": st.column_config.NumberColumn("confidence", format="%.2f"),
            "all_rules": st.column_config.TextColumn("every matching rule"),
            "via_pr": st.column_config.TextColumn("inherited from PR"),
        },
    )
    if found.matching - found.hidden > found.rows.height:
        st.caption(f"The newest {found.rows.height:,} are listed.")
    st.caption(
        "Rule ids are those of the attribution catalogue (`ingestion/rules/ai_rules.yaml`) or the "
        "configuration; `inherit.pr` means a merge or squash commit took its pull request's attribution. "
        "Query any of them with `SELECT * FROM ai_evidence WHERE subject_id = '<sha or PR number>'`."
    )
