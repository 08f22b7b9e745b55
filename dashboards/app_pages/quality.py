"""Quality: bug density in its three denominators and against the baseline, review rejections, reverts, and AI against human durability."""

import polars as pl
import streamlit as st

from dashboards import figures, headline, ui

DENSITY = ("bug_density_points", "bug_density_kloc", "bug_density_prs")
REVIEW = ("review_rejection_rate", "rejections_per_release", "abandoned_pr_rate", "revert_rate")
DURABILITY = ("ai_durability", "human_durability", "ai_churn", "human_churn")

view = ui.current()
ui.header("Quality", view, "did it get faster without getting worse?")

scope = ui.pick_scope(view, key="quality_scope")
if scope is None:
    st.stop()
rows = view.metrics((*DENSITY, "bug_density_change", *REVIEW, *DURABILITY), [scope], upto=True)
shown = headline.in_window(rows, view.start)
if shown.is_empty():
    st.info(f"No sprint of {view.label(scope)} falls in this range.")
    st.stop()

items = headline.kpis(rows, scope, ("bug_density_change", "bug_density_points", "review_rejection_rate", "revert_rate"), since=view.start)  # fmt: skip
for column, item in zip(st.columns(len(items)), items, strict=True):
    with column:
        ui.tile(item, confidence=view.settings.confidence)

st.subheader("Bug density, in its three denominators")
left, right = st.columns(2)
with left:
    ui.chart(
        figures.trend(shown, "bug_density_change", colors=view.colors, names=view.names),
        key="change",
    )
    ui.chart(
        figures.trend(shown, "bug_density_kloc", colors=view.colors, names=view.names), key="kloc"
    )
with right:
    ui.chart(
        figures.trend(shown, "bug_density_points", colors=view.colors, names=view.names),
        key="points",
    )
    ui.chart(
        figures.trend(shown, "bug_density_prs", colors=view.colors, names=view.names), key="prs"
    )

st.subheader("Reviews and reverts")
left, right = st.columns(2)
with left:
    ui.chart(figures.trend(shown, "review_rejection_rate", colors=view.colors, names=view.names), key="rejections")  # fmt: skip
    ui.chart(
        figures.trend(shown, "revert_rate", colors=view.colors, names=view.names), key="reverts"
    )
with right:
    ui.chart(figures.trend(shown, "rejections_per_release", colors=view.colors, names=view.names), key="per_release")  # fmt: skip
    ui.chart(figures.trend(shown, "abandoned_pr_rate", colors=view.colors, names=view.names), key="abandoned")  # fmt: skip
st.caption("Reference: published target of about 20 % fewer review rejections than before AI.")

st.subheader("AI against human code durability")
missing = ui.not_computed(view, DURABILITY)
if len(missing) == len(DURABILITY):
    st.info("Durability (lines still alive after 30 days, churn within 21 days) is not computed yet in this warehouse.")  # fmt: skip
else:
    if missing:
        st.caption(f"Not computed yet: {', '.join(missing)}.")
    left, right = st.columns(2)
    with left:
        ui.chart(figures.durability(shown, names=view.names), key="durability")
    with right:
        churn = shown.filter(pl.col("metric_id").is_in(["ai_churn", "human_churn"]))
        if not churn.is_empty():
            ui.chart(figures.trend(churn.filter(pl.col("metric_id") == "ai_churn"), "ai_churn", colors=view.colors, names=view.names), key="churn")  # fmt: skip

with st.expander("Every quality number of the range"):
    st.dataframe(ui.metric_table(shown.sort("sprint_start", "metric_id"), view), hide_index=True)
