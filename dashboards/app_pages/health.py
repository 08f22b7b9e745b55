"""Data health: freshness per source, coverage, last runs, unmatched identities, schema and metric drift, warnings."""

from datetime import UTC, datetime

import polars as pl
import streamlit as st

from dashboards import ui

view = ui.current()
ui.header("Data health", view, "can these numbers be trusted today?")
report = view.health()
limit = view.settings.checks.freshness_hours

st.subheader("Warnings")
stale = report.sources.filter(pl.col("age_hours").is_null() | (pl.col("age_hours") > limit))
warnings = [*report.warnings]
warnings += [
    f"{r['kind']} {r['scope']}: no successful run for {r['age_hours']:.0f} h (limit {limit:g} h)"
    if r["age_hours"] is not None
    else f"{r['kind']} {r['scope']}: never ran successfully"
    for r in stale.iter_rows(named=True)
]
warnings += [f"coverage below {c.threshold:.0%}: {c.name} at {c.share:.0%}" for c in report.coverage if c.below]  # fmt: skip
if report.drift.height:
    warnings.append(f"schema drift in {report.drift.height} source(s): see below")
if warnings:
    for warning in warnings:
        st.warning(warning)
else:
    st.success(
        "No warnings: every source ran recently, coverage is above its thresholds, no drift."
    )

st.subheader("Freshness per source")
sources = report.sources.select(
    "kind", "scope", pl.col("last_status").alias("last run"), pl.col("last_started_at").alias("started"),
    pl.col("last_ok_at").alias("last success"), pl.col("age_hours").round(1).alias("hours since success"),
    pl.col("runs"), pl.col("last_error").alias("error"),
)  # fmt: skip
st.dataframe(sources, hide_index=True)
st.caption(
    f"A source is stale after {limit:g} hours without a successful run (checks.freshness_hours)."
)

st.subheader("Coverage")
columns = st.columns(len(report.coverage))
for column, figure in zip(columns, report.coverage, strict=True):
    with column:
        share = figure.share
        st.metric(
            figure.name,
            f"{share * 100:.0f} %" if share is not None else "n/a",
            border=True,
            help=figure.meaning,
        )
        if figure.total:
            st.caption(f"{figure.covered:,} of {figure.total:,}" + (f" · threshold {figure.threshold:.0%}" if figure.threshold else ""))  # fmt: skip
        else:
            st.caption("nothing to measure yet (no such source or no recent data)")

st.subheader("Metric drift")
drift = report.metric_drift.filter(pl.col("team").is_in(view.scope_options))
if drift.is_empty():
    st.caption("No team's newest closed sprint is outside its recent envelope.")
else:
    st.dataframe(drift.with_columns(pl.col("team").map_elements(view.label, return_dtype=pl.String)), hide_index=True)  # fmt: skip
    st.caption(f"Robust z-score of the newest closed sprint against the {view.settings.checks.drift_window} before it; flagged above {view.settings.checks.drift_threshold:g}.")  # fmt: skip

st.subheader("Schema drift")
if report.drift.is_empty():
    st.caption("Every source's last run saw the fields its connector expects, and no new ones.")
else:
    st.dataframe(report.drift, hide_index=True)

st.subheader("Unmatched identities")
if report.unmatched_total == 0:
    st.caption("Every identity in the warehouse belongs to a configured person (bots and agents left out).")  # fmt: skip
elif view.access.full:
    st.markdown(f"**{report.unmatched_total:,}** identities belong to no configured person; the most active:")  # fmt: skip
    st.dataframe(report.unmatched, hide_index=True)
    st.caption("Add an identity to a person's ids under `people:` (or a team's members) in sprintproof.yaml; `sprintproof identities` lists them all.")  # fmt: skip
else:
    st.markdown(f"**{report.unmatched_total:,}** identities belong to no configured person (listed for administrators only).")  # fmt: skip

st.subheader("Last runs")
st.dataframe(report.runs, hide_index=True)
if report.metric_runs.height:
    last = report.metric_runs.row(0, named=True)
    age = (datetime.now(UTC) - last["computed_at"]).total_seconds() / 3600
    st.caption(f"Metrics last computed {last['computed_at']:%Y-%m-%d %H:%M} UTC ({age:.1f} h ago) in {last['seconds']:.1f} s, {last['rows_sprint_metrics']:,} metric rows.")  # fmt: skip
    st.dataframe(report.metric_runs, hide_index=True)
