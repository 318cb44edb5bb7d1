"""Data page: choose the dataset and how it becomes model input; see what is in it."""
from dataclasses import asdict, replace

import streamlit as st

from ui import data_image, data_text, state
from ui.feedback import guarded

st.set_page_config(page_title="Data · BigModel Lab", page_icon="📚", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("📚 Data")
cfg = state.data_cfg()
KINDS = {"text": "📝 Text (sentiment of sentences)", "image": "🖼️ Images (what is in the picture)"}
kind = st.radio("What will the network learn from?", list(KINDS), format_func=KINDS.get, horizontal=True,
                index=list(KINDS).index(state.data_task(cfg)), key="data_kind")
if kind != state.data_task(cfg):  # switching kind starts from that kind's built-in set
    cfg = replace(cfg, spec="builtin:digits" if kind == "image" else "builtin:synthetic_reviews")
part = data_image if kind == "image" else data_text
cfg = part.choose_options(part.choose_source(cfg))
with guarded():
    overview = state.data_overview(asdict(cfg))
state.set_data_cfg(cfg)
part.show_overview(overview)
st.page_link("pages/2_Model.py", label="Next: choose a model", icon="➡️")
