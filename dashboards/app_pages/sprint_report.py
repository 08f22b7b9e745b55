"""Sprint report: every number of one sprint, as a table, a CSV download and the PDF board pack."""

import io
from pathlib import Path

import polars as pl
import streamlit as st

from dashboards import headline, ui

ORG = "__org__"

view = ui.current()
ui.header("Sprint report", view)

sprints = headline.in_window(view.sprints, view.start, view.end).sort(
    "sprint_start", descending=True
)
if sprints.is_empty():
    st.info("No sprint in this range.")
    st.stop()
ids = sprints.get_column("sprint_id").to_list()
names = dict(zip(ids, sprints.get_column("sprint_name").to_list(), strict=True))
states = dict(zip(ids, sprints.get_column("sprint_state").to_list(), strict=True))
closed = [s for s in ids if states[s] == "closed"]
sprint_id = st.selectbox(
    "Sprint", ids, index=ids.index(closed[0]) if closed else 0,
    format_func=lambda s: names[s] + (" (running)" if states[s] == "active" else ""), key="report_sprint",
) or ids[0]  # fmt: skip

scopes = view.scope_options
report = view.sprint_report(sprint_id, scopes)
if report.is_empty():
    st.info("No numbers for this sprint.")
    st.stop()

# Suppressed rows already lack their numbers in the warehouse; their notes stay out of the export too.
export = report.with_columns(
    pl.when(pl.col("status") == "suppressed").then(None).otherwise(pl.col("note")).alias("note")
).with_columns(pl.col("team").replace({ORG: view.settings.organisation}).alias("scope"))

left, right = st.columns(2)
with left:
    buffer = io.BytesIO()
    export.select("scope", *[c for c in export.columns if c != "scope"]).write_csv(buffer)
    st.download_button(
        "Download CSV", buffer.getvalue(), file_name=f"sprintproof-{sprint_id}.csv", mime="text/csv",
        icon=":material/download:", on_click="ignore",
    )  # fmt: skip
with right:
    if st.button("Build the board pack (PDF)", icon=":material/picture_as_pdf:", key="build_pdf"):
        try:
            # Imported here: the board pack module and its PDF dependencies load only when asked for.
            from dashboards.report import build_board_pack  # type: ignore[import-not-found]
        except ImportError as exc:
            st.warning(
                "The PDF board pack is not available in this installation "
                f"({exc}). The CSV holds the same numbers."
            )
        else:
            try:
                with st.spinner("Building the board pack ..."):
                    pack = build_board_pack(
                        view.path,
                        sprint_id=sprint_id,
                        teams=scopes,
                        organisation=view.settings.organisation,
                    )
            except Exception as exc:  # noqa: BLE001 - whatever fails there, the page and the CSV stay usable
                st.error(f"The board pack could not be built: {exc}")
            else:
                content = Path(pack).read_bytes() if isinstance(pack, str | Path) else bytes(pack)
                st.download_button(
                    "Download the board pack", content, file_name=f"sprintproof-board-pack-{sprint_id}.pdf",
                    mime="application/pdf", icon=":material/download:", on_click="ignore", type="primary",
                )  # fmt: skip

# The headline numbers up to this sprint, so each scope's summary compares with its previous sprint.
chosen = sprints.filter(pl.col("sprint_id") == sprint_id).row(0, named=True)
tiles = headline.in_window(
    view.metrics(headline.TILES, scopes, whole=True), None, chosen["sprint_end"]
)
for scope in scopes:
    part = report.filter(pl.col("team") == scope)
    if part.is_empty():
        continue
    sprint_name = part.get_column("sprint_name")[0]
    with st.expander(f"{view.label(scope)} · {sprint_name}", expanded=scope == scopes[0]):
        if (part.get_column("status") == "suppressed").all():
            st.warning(ui.status_words("suppressed").capitalize() + ".")
            continue
        items = headline.kpis(tiles, scope, since=chosen["sprint_start"])
        st.markdown(headline.summary(items, view.label(scope)))
        st.dataframe(ui.metric_table(part, view).drop("scope", "sprint"), hide_index=True)
