"""The dashboard's entry point and router: `streamlit run dashboards/app.py -- --warehouse FILE`.

Arguments after `--` (`--warehouse`, `--snapshot`, `--settings`) override the environment
variables the launcher sets (SPRINTPROOF_WAREHOUSE, SPRINTPROOF_SNAPSHOT,
SPRINTPROOF_DASHBOARD_SETTINGS); docs/dashboard.md describes them and the settings file.
"""

import os
import sys

import streamlit as st

from dashboards import ui
from dashboards.settings import SettingsError, load

st.set_page_config(page_title="SprintProof", page_icon=":material/speed:", layout="wide")

try:
    settings = load(sys.argv[1:], os.environ)
except SettingsError as exc:
    st.error(f"The dashboard settings cannot be used: {exc}")
    st.stop()

# Sign-in comes first: before it, nothing about the organisation's data is rendered.
access, viewer = ui.sign_in(settings)

PAGES = [
    st.Page("app_pages/overview.py", title="Board overview", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("app_pages/adoption.py", title="AI adoption", icon=":material/smart_toy:", url_path="adoption"),
    st.Page("app_pages/delivery.py", title="Delivery", icon=":material/rocket_launch:", url_path="delivery"),
    st.Page("app_pages/quality.py", title="Quality", icon=":material/verified:", url_path="quality"),
    st.Page("app_pages/teams.py", title="Teams", icon=":material/groups:", url_path="teams"),
    st.Page("app_pages/health.py", title="Data health", icon=":material/monitor_heart:", url_path="health"),
    st.Page("app_pages/sprint_report.py", title="Sprint report", icon=":material/summarize:", url_path="sprint-report"),
]  # fmt: skip
page = st.navigation(PAGES)

state = ui.status(settings.data_path)
if not state.ready:
    ui.no_data(state)
    st.stop()

st.session_state[ui.VIEW_KEY] = ui.build_view(settings, state, access, viewer)
page.run()
