"""Runs page: every saved run in a sortable table; compare runs, manage one (rename, tag, share, resume, delete), import one."""
import streamlit as st

from ui import page, runs_view
from ui.i18n import t
from ui.run_list import saved_runs

page.setup("runs")  # a teacher's link is read before anything is drawn

runs = saved_runs()
if not runs:
    runs_view.show_flash()  # "Deleted the run ..." when the last one went
    st.info(t("runs.empty"), icon="📈")
    st.page_link("pages/3_Train.py", label=t("runs.go_train"), icon="➡️")
    st.subheader(t("runs.import_heading"))
    runs_view.importer()
    st.stop()

st.caption(t("runs.intro"))
runs_view.run_table(runs)
st.subheader(t("runs.compare_heading"))
runs_view.compare(runs)
st.subheader(t("runs.manage_heading"))
runs_view.manage(runs)
st.subheader(t("runs.import_heading"))
runs_view.importer()
