"""Predict page: pick a saved run; type a sentence or draw an image; see the verdict and why."""
import streamlit as st

from bigmodel_core.runs import home_dir
from ui import predict_image, predict_text
from ui.feedback import guarded
from ui.run_list import run_label, saved_runs
from ui.state import predictor

st.set_page_config(page_title="Predict · BigModel Lab", page_icon="🔍", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🔍 Predict & explain")
runs = saved_runs(usable_only=True)
if not runs:
    st.info("There is no trained model yet. Train one on the Train page first.", icon="📈")
    st.page_link("pages/3_Train.py", label="Go to Train", icon="➡️")
    st.stop()
ids = [r.id for r in runs]
by_id = {r.id: r for r in runs}
wanted = st.session_state.get("predict_run")
if wanted and wanted not in ids:
    st.warning(f"The run '{wanted}' is gone (it may have been deleted); showing the newest run instead.", icon="⚠️")
run_id = st.selectbox("Model (saved run)", ids, index=ids.index(wanted) if wanted in ids else 0, key="predict_run_pick",
                      format_func=lambda i: run_label(by_id[i]))
with guarded():
    model = predictor(run_id, str(home_dir()))
(predict_image if model.task == "image" else predict_text).render(model)
