"""Runs page: every saved run in a sortable table; compare runs, manage one (rename, tag, share, resume, delete), import one."""
import streamlit as st

from ui import runs_view
from ui.run_list import saved_runs

st.set_page_config(page_title="Runs · BigModel Lab", page_icon="🗂️", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🗂️ Runs")
runs = saved_runs()
if not runs:
    runs_view.show_flash()  # "Deleted the run ..." when the last one went
    st.info("There are no saved runs yet. Train one on the Train page, or import a run's .zip below.", icon="📈")
    st.page_link("pages/3_Train.py", label="Go to Train", icon="➡️")
    st.subheader("Import a run")
    runs_view.importer()
    st.stop()

st.caption("Every run trained in this workspace. Compare them, give them names and tags, share them as a .zip.")
runs_view.run_table(runs)
st.subheader("Compare runs")
runs_view.compare(runs)
st.subheader("Manage a run")
runs_view.manage(runs)
st.subheader("Import a run")
runs_view.importer()
