"""Model page: choose an architecture and its size; see its layers, parameters and cost."""
from dataclasses import asdict

import streamlit as st

st.set_page_config(page_title="Model · BigModel Lab", page_icon="🧩", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🧩 Model")
with st.spinner("Loading the model builder…"):  # the first visit imports torch: show that something happens
    import pandas as pd

    from bigmodel_core.config import ModelConfig
    from bigmodel_core.embeddings import embed_size_key
    from bigmodel_core.models import list_models, model_entry, model_overview
    from ui import state
    from ui.feedback import guarded
    from ui.model_vectors import vector_fixed_settings, word_vectors_picker
    from ui.pretrained_picker import weights_picker
    from ui.widgets import setting_inputs

data_cfg = state.data_cfg()
with guarded():
    data = state.data_overview(asdict(data_cfg), with_model=False)
cfg = state.model_cfg()
task = data["task"]
names = list_models(task=task)
default = cfg.name if cfg.name in names else state.DEFAULT_MODELS[task]
if links.locked("model") or links.hidden("model"):  # the teacher chose the model: the widget follows the link
    st.session_state["model_name"] = default
name = default if links.hidden("model") else st.selectbox(
    "Architecture", names, index=names.index(default), key="model_name", disabled=links.locked("model"),
    format_func=lambda n: f"{n} — {model_entry(n).description}")
entry = model_entry(name)
vectors, freeze, fixed = None, False, {}
current = cfg.params if cfg.name == name else {}
if entry.pipeline is not None:  # a pretrained model: its weights first (they decide its size and tokenizer)
    weights = weights_picker(current.get("weights"))
    fixed = {"weights": (weights, "Chosen above.")}
    current = {**current, "weights": weights}
elif task == "text":
    vectors, freeze, coverage = word_vectors_picker(cfg, data_cfg)
    if coverage and embed_size_key(name):
        fixed = vector_fixed_settings(name, coverage["vectors"]["dim"])
st.subheader("Settings")
st.caption("The settings start at a small *classroom* size that trains in seconds on a laptop."
           if entry.pipeline is None else
           "Fine-tuning adapts all the pretrained weights to your data (full); a frozen encoder trains only the "
           "last layer, which is much faster and shows what the pretrained features alone are worth.")
pinned = {k: v for k, v in current.items() if links.locked(k) or links.hidden(k)}  # a teacher's link holds these
fixed.update({k: (current.get(k, entry.defaults[k]), "Locked by the link this lesson was opened with.")
              for k in entry.defaults if links.locked(k)})
shown = {k: v for k, v in entry.defaults.items() if not links.hidden(k)}
with guarded():
    params = setting_inputs(shown, current, key_prefix=f"model_{name}",
                            fixed=fixed, specs={k: entry.setting(k) for k in shown})
    params.update(pinned)
    params.update({k: v[0] for k, v in fixed.items() if k == "weights" and v[0] != entry.defaults["weights"]})
cfg = ModelConfig(name, params, embeddings=vectors, freeze_embeddings=freeze)
with guarded(), st.spinner("Building the model and measuring its layers…"):
    if task == "image":
        info = model_overview(data_cfg, cfg, num_classes=len(data["classes"]), image_size=data["image_size"],
                              in_channels=data["in_channels"])
    else:
        info = model_overview(data_cfg, cfg, data["vocab_size"], len(data["classes"]))
if (changed := state.set_model_cfg(cfg)):
    st.toast("Training settings changed for this model: " + changed, icon="🎛️")

c1, c2, c3 = st.columns(3)
against = None if task == "image" else state.size_against(info, asdict(data_cfg), data["vocab_size"],
                                                           len(data["classes"]))
c1.metric("Parameters", f"{info['total_parameters']:,}",
          delta=f"{against['parameters_ratio']:,.0f}× the classroom {against['reference']}" if against
          and against["parameters_ratio"] >= 2 else None, delta_color="off",
          help="Numbers the model learns. " + (f"The classroom {against['reference']} has "
                                                f"{against['parameters']:,}." if against else ""))
c2.metric("Weight memory", f"{info['weight_bytes'] / 2**20:.2f} MB")
unit = "word pieces" if info.get("own_tokenizer") else "words"
example = (f"one {info['image_size']}×{info['image_size']} image" if task == "image"
           else f"one text of {info['example_len']} {unit}")
c3.metric("FLOPs per example", f"{info['flops_per_example'] / 1e6:.2f} M",
          delta=f"{against['flops_ratio']:,.0f}× the {against['reference']}'s cost per example" if against
          and against["flops_ratio"] >= 2 else None, delta_color="off",
          help=f"Floating-point operations for {example}: what one prediction costs.")
if entry.preset:
    preset = {**entry.preset.get("data", {}), **entry.preset.get("train", {})}
    st.info("**Fine-tuning preset** (set on the Train page and the Data settings): "
            + state.describe_settings(preset) + ". A pretrained model is big: on a CPU the preset trains on at most "
            f"{preset.get('max_train_rows', 0):,} examples so that it finishes in minutes; the Train page shows "
            "the time left after the first batch.", icon="🎓")
st.subheader("Layers")
st.caption(f"Output shapes for {example} (" + ("batch × channels × height × width" if task == "image"
           else "batch × words × features") + ").")
st.dataframe(pd.DataFrame(info["layers"]), hide_index=True, width="stretch")
size = (f"{data['image_size']}×{data['image_size']}×{data['in_channels']} images" if task == "image"
        else f"the model's own tokenizer of {info['vocab_size']:,} word pieces" if info.get("own_tokenizer")
        else f"{data['vocab_size']:,} words in the vocabulary")
st.caption(f"Data: {data['spec']} · {size} · {len(data['classes'])} classes")
st.page_link("pages/3_Train.py", label="Next: train it", icon="➡️")
