"""Board overview: the headline numbers of the latest closed sprint, their trends, and a summary written from them."""

import streamlit as st

from dashboards import figures, headline, ui

view = ui.current()
ui.header(
    "Board overview", view, "detected AI share, speed and quality against the pre-AI baseline"
)

rows = view.metrics(headline.TILES, view.scopes, upto=True)
if rows.is_empty():
    st.info("No sprint of the selected teams falls in this range.")
    st.stop()

for scope in view.scopes:
    items = headline.kpis(rows, scope, since=view.start)
    sprint = next((k.sprint_name for k in items if k.sprint_name), None)
    st.subheader(f"{view.label(scope)} · {sprint}" if sprint else view.label(scope))
    for column, item in zip(st.columns(len(items)), items, strict=True):
        with column:
            ui.tile(item, confidence=view.settings.confidence)
    st.markdown(headline.summary(items, view.label(scope)))

st.divider()
shown = headline.in_window(rows, view.start)
left, right = st.columns(2)
with left:
    ui.chart(
        figures.trend(shown, "acr_lines", colors=view.colors, names=view.names), key="acr_lines"
    )
    ui.chart(figures.trend(shown, "velocity_acceleration", colors=view.colors, names=view.names), key="velocity_acceleration")  # fmt: skip
    ui.chart(figures.trend(shown, "cycle_time_p50", colors=view.colors, names=view.names), key="cycle_time_p50")  # fmt: skip
with right:
    ui.chart(figures.trend(shown, "agentic_commit_rate", colors=view.colors, names=view.names), key="agentic_commit_rate")  # fmt: skip
    ui.chart(figures.trend(shown, "bug_density_change", colors=view.colors, names=view.names), key="bug_density_change")  # fmt: skip
st.caption(
    "AI shares are detected shares: they count work that left a marker (trailers, agent accounts, "
    "PR signals, git-ai notes) and are a floor. Reference bands are published industry targets, "
    "never inputs to any number."
)
