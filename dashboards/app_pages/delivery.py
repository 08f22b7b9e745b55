"""Delivery: velocity and its acceleration against the pre-AI baseline, throughput, the PR cycle and DORA numbers."""

import polars as pl
import streamlit as st

from dashboards import figures, headline, ui

VELOCITY = ("velocity_points", "velocity_issues", "merged_prs")
FLOW = (
    "cycle_time_p50",
    "coding_time_p50",
    "pickup_time_p50",
    "review_time_p50",
    "throughput_per_engineer",
)
DORA = ("deployment_frequency", "change_lead_time_p50", "change_fail_rate", "recovery_time_p50")

view = ui.current()
ui.header("Delivery", view, "did the team get faster?")

scope = ui.pick_scope(view, key="delivery_scope")
if scope is None:
    st.stop()
ids = (*VELOCITY, "velocity_acceleration", "commitment_completion", *FLOW, *DORA)
rows = view.metrics(ids, [scope], upto=True)
shown = headline.in_window(rows, view.start)
if shown.is_empty():
    st.info(f"No sprint of {view.label(scope)} falls in this range.")
    st.stop()

items = headline.kpis(rows, scope, ("velocity_acceleration", "velocity_points", "throughput_per_engineer", "cycle_time_p50"), since=view.start)  # fmt: skip
for column, item in zip(st.columns(len(items)), items, strict=True):
    with column:
        ui.tile(item, confidence=view.settings.confidence)

# The velocity basis: story points when the scope estimates, else completed issues, else merged PRs.
basis = next(
    (m for m in VELOCITY if not shown.filter((pl.col("metric_id") == m) & (pl.col("status") == "ok")).is_empty()),
    "velocity_points",
)  # fmt: skip
left, right = st.columns(2)
with left:
    ui.chart(
        figures.trend(shown, basis, colors=view.colors, names=view.names, bars=True), key="velocity"
    )
with right:
    ui.chart(figures.trend(shown, "velocity_acceleration", colors=view.colors, names=view.names), key="acceleration")  # fmt: skip

left, right = st.columns(2)
with left:
    ui.chart(figures.cycle_breakdown(shown, names=view.names), key="cycle")
with right:
    ui.chart(figures.trend(shown, "throughput_per_engineer", colors=view.colors, names=view.names), key="throughput")  # fmt: skip

st.subheader("Deployments (DORA)")
if shown.filter(pl.col("metric_id").is_in(DORA) & (pl.col("status") == "ok")).is_empty():
    st.info(
        "No deployment numbers in this range: they need deployments or releases from a GitHub or "
        "GitLab source (docs/metrics.md, “DORA”)."
    )
else:
    left, right = st.columns(2)
    with left:
        ui.chart(figures.trend(shown, "deployment_frequency", colors=view.colors, names=view.names), key="deploys")  # fmt: skip
        ui.chart(
            figures.trend(shown, "change_fail_rate", colors=view.colors, names=view.names),
            key="cfr",
        )
    with right:
        ui.chart(figures.trend(shown, "change_lead_time_p50", colors=view.colors, names=view.names), key="lead")  # fmt: skip
        ui.chart(figures.trend(shown, "recovery_time_p50", colors=view.colors, names=view.names), key="recovery")  # fmt: skip

with st.expander("Every delivery number of the range"):
    st.dataframe(ui.metric_table(shown.sort("sprint_start", "metric_id"), view), hide_index=True)
