"""Deploy page: put a finished run behind a real REST API, try it from a console, copy curl and Python examples."""
import streamlit as st

from ui import course, deploy_view, page
from ui.i18n import t
from ui.run_list import saved_runs

page.setup("deploy")  # a teacher's link is read before anything is drawn

runs = saved_runs(usable_only=True)
if not runs:
    st.info(t("deploy.no_runs"), icon="📈")
    st.page_link("pages/3_Train.py", label=t("deploy.go_train"), icon="➡️")
    st.stop()
st.caption(t("deploy.intro"))
run = deploy_view.pick_run(runs)
course.explain("deployment", model=run.model_name, params=run.parameters)
deploy_view.export_section(run)
server = deploy_view.server_section(run)
if server is None:
    st.info(t("deploy.start_first"), icon="▶")
    st.stop()
deploy_view.console(run, server)
deploy_view.examples(run, server)
