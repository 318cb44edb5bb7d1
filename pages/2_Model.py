"""Model page: choose an architecture and its size; see its layers, parameters and cost."""
from dataclasses import asdict

import streamlit as st

st.set_page_config(page_title="Model · BigModel Lab", page_icon="🧩", layout="wide")
st.title("🧩 Model")
with st.spinner("Loading the model builder…"):  # the first visit imports torch: show that something happens
    import pandas as pd

    from bigmodel_core.config import ModelConfig
    from bigmodel_core.embeddings import embed_size_key
    from bigmodel_core.models import list_models, model_entry, model_overview
    from ui import state
    from ui.feedback import guarded
    from ui.model_vectors import vector_fixed_settings, word_vectors_picker
    from ui.widgets import setting_inputs

data_cfg = state.data_cfg()
with guarded():
    data = state.data_overview(asdict(data_cfg))
cfg = state.model_cfg()
task = data["task"]
names = list_models(task=task)
default = cfg.name if cfg.name in names else state.DEFAULT_MODELS[task]
name = st.selectbox("Architecture", names, index=names.index(default), key="model_name",
                    format_func=lambda n: f"{n} — {model_entry(n).description}")
entry = model_entry(name)
vectors, freeze, fixed = None, False, {}
if task == "text":
    vectors, freeze, coverage = word_vectors_picker(cfg, data_cfg)
    if coverage and embed_size_key(name):
        fixed = vector_fixed_settings(name, coverage["vectors"]["dim"])
st.subheader("Settings")
st.caption("The settings start at a small *classroom* size that trains in seconds on a laptop.")
with guarded():
    params = setting_inputs(entry.defaults, cfg.params if cfg.name == name else {}, key_prefix=f"model_{name}",
                            fixed=fixed, specs={k: entry.setting(k) for k in entry.defaults})
cfg = ModelConfig(name, params, embeddings=vectors, freeze_embeddings=freeze)
with guarded(), st.spinner("Building the model and measuring its layers…"):
    if task == "image":
        info = model_overview(data_cfg, cfg, num_classes=len(data["classes"]), image_size=data["image_size"],
                              in_channels=data["in_channels"])
    else:
        info = model_overview(data_cfg, cfg, data["vocab_size"], len(data["classes"]))
state.set_model_cfg(cfg)

c1, c2, c3 = st.columns(3)
c1.metric("Parameters", f"{info['total_parameters']:,}")
c2.metric("Weight memory", f"{info['weight_bytes'] / 2**20:.2f} MB")
example = (f"one {info['image_size']}×{info['image_size']} image" if task == "image"
           else f"one text of {info['example_len']} words")
c3.metric("FLOPs per example", f"{info['flops_per_example'] / 1e6:.2f} M",
          help=f"Floating-point operations for {example}.")
st.subheader("Layers")
st.caption(f"Output shapes for {example} (" + ("batch × channels × height × width" if task == "image"
           else "batch × words × features") + ").")
st.dataframe(pd.DataFrame(info["layers"]), hide_index=True, width="stretch")
size = (f"{data['image_size']}×{data['image_size']}×{data['in_channels']} images" if task == "image"
        else f"{data['vocab_size']:,} words in the vocabulary")
st.caption(f"Data: {data['spec']} · {size} · {len(data['classes'])} classes")
st.page_link("pages/3_Train.py", label="Next: train it", icon="➡️")
