"""Model page: choose an architecture and its size; see its layers, parameters and cost."""
from dataclasses import asdict

import pandas as pd
import streamlit as st

from bigmodel_core.config import ModelConfig
from bigmodel_core.lab import model_overview
from bigmodel_core.models import list_models, model_entry
from ui import state
from ui.feedback import guarded
from ui.widgets import setting_inputs

st.set_page_config(page_title="Model · BigModel Lab", page_icon="🧩", layout="wide")
st.title("🧩 Model")
data_cfg = state.data_cfg()
with guarded():
    data = state.data_overview(asdict(data_cfg))
cfg = state.model_cfg()
names = list_models(task="text")
name = st.selectbox("Architecture", names, index=names.index(cfg.name) if cfg.name in names else 0, key="model_name",
                    format_func=lambda n: f"{n} — {model_entry(n).description}")
entry = model_entry(name)
st.caption("The settings start at a small *classroom* size that trains in seconds on a laptop.")
params = setting_inputs(entry.defaults, cfg.params if cfg.name == name else {}, key_prefix=f"model_{name}")
cfg = ModelConfig(name, params)
with guarded():
    info = model_overview(data_cfg, cfg, data["vocab_size"], len(data["classes"]))
state.set_model_cfg(cfg)

c1, c2, c3 = st.columns(3)
c1.metric("Parameters", f"{info['total_parameters']:,}")
c2.metric("Weight memory", f"{info['weight_bytes'] / 2**20:.2f} MB")
c3.metric("FLOPs per example", f"{info['flops_per_example'] / 1e6:.2f} M",
          help=f"Floating-point operations for one text of {info['example_len']} words.")
st.subheader("Layers")
st.caption(f"Output shapes for one text of {info['example_len']} words (batch × words × features).")
st.dataframe(pd.DataFrame(info["layers"]), hide_index=True, width="stretch")
st.caption(f"Data: {data['spec']} · {data['vocab_size']:,} words in the vocabulary · {len(data['classes'])} classes")
st.page_link("pages/3_Train.py", label="Next: train it", icon="➡️")
