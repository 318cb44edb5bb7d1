"""Predict page: pick a saved run; type a sentence or draw an image; see the verdict and why."""
import streamlit as st

from ui import page

page.setup("predict")  # a teacher's link is read, and the sidebar drawn, before anything else

from bigmodel_core.runs import home_dir  # noqa: E402
from ui import predict_image, predict_text  # noqa: E402
from ui.feedback import guarded  # noqa: E402
from ui.i18n import t  # noqa: E402
from ui.run_list import run_label, saved_runs  # noqa: E402
from ui.state import predictor  # noqa: E402

runs = saved_runs(usable_only=True)
if not runs:
    st.info(t("predict.no_runs"), icon="📈")
    st.page_link("pages/3_Train.py", label=t("predict.go_train"), icon="➡️")
    st.stop()
ids = [r.id for r in runs]
by_id = {r.id: r for r in runs}
wanted = st.session_state.get("predict_run")
if wanted and wanted not in ids:
    st.warning(t("predict.run_gone", run=wanted), icon="⚠️")
run_id = st.selectbox(t("predict.run"), ids, index=ids.index(wanted) if wanted in ids else 0, key="predict_run_pick",
                      format_func=lambda i: run_label(by_id[i]), help=t("predict.run_help"))
with guarded():
    model = predictor(run_id, str(home_dir()))
(predict_image if model.task == "image" else predict_text).render(model)
