"""Deploy page: put a finished run behind a real REST API, try it from a console, copy curl and Python examples."""
import streamlit as st

from ui import deploy_view
from ui.run_list import saved_runs

st.set_page_config(page_title="Deploy · BigModel Lab", page_icon="🚀", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🚀 Deploy")
runs = saved_runs(usable_only=True)
if not runs:
    st.info("There is no trained model to serve yet. Train one on the Train page first.", icon="📈")
    st.page_link("pages/3_Train.py", label="Go to Train", icon="➡️")
    st.stop()
st.caption("Put a trained model behind a real REST API on this computer, send it a request, and call it from "
           "your own programs.")
run = deploy_view.pick_run(runs)
deploy_view.export_section(run)
server = deploy_view.server_section(run)
if server is None:
    st.info("Start the server to try it here and to get code that calls it.", icon="▶")
    st.stop()
deploy_view.console(run, server)
deploy_view.examples(run, server)
