"""Model page: choose an architecture and its size; see its layers, parameters and cost."""
from dataclasses import asdict

import streamlit as st

from ui import page

page.setup("model")  # a teacher's link is read before anything is drawn

from ui import links
from ui.i18n import t, tr

with st.spinner(t("model.loading_builder")):  # the first visit imports torch: show that something happens
    from bigmodel_core.config import ModelConfig
    from bigmodel_core.embeddings import embed_size_key
    from bigmodel_core.models import list_models, model_entry, model_overview
    from ui import state
    from ui.feedback import guarded
    from ui.model_vectors import vector_fixed_settings, word_vectors_picker
    from ui.pretrained_picker import weights_picker
    from ui.widgets import explain_model, layer_table, setting_inputs

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
    t("model.architecture"), names, index=names.index(default), key="model_name", disabled=links.locked("model"),
    format_func={n: f"{n} — {tr(model_entry(n).description)}" for n in names}.get, help=t("model.architecture_help"))
entry = model_entry(name)
vectors, freeze, fixed = None, False, {}
current = cfg.params if cfg.name == name else {}
if entry.pipeline is not None:  # a pretrained model: its weights first (they decide its size and tokenizer)
    weights = weights_picker(current.get("weights"))
    fixed = {"weights": (weights, t("model.fixed.chosen_above"))}
    current = {**current, "weights": weights}
elif task == "text":
    vectors, freeze, coverage = word_vectors_picker(cfg, data_cfg)
    if coverage and embed_size_key(name):
        fixed = vector_fixed_settings(name, coverage["vectors"]["dim"])
st.subheader(t("model.settings"))
st.caption(t("model.settings_small") if entry.pipeline is None else t("model.settings_pretrained"))
pinned = {k: v for k, v in current.items() if links.locked(k) or links.hidden(k)}  # a teacher's link holds these
fixed.update({k: (current.get(k, entry.defaults[k]), t("model.fixed.locked"))
              for k in entry.defaults if links.locked(k)})
shown = {k: v for k, v in entry.defaults.items() if not links.hidden(k)}
with guarded():
    params = setting_inputs(shown, current, key_prefix=f"model_{name}",
                            fixed=fixed, specs={k: entry.setting(k) for k in shown})
    params.update(pinned)
    params.update({k: v[0] for k, v in fixed.items() if k == "weights" and v[0] != entry.defaults["weights"]})
cfg = ModelConfig(name, params, embeddings=vectors, freeze_embeddings=freeze)
with guarded(), st.spinner(t("model.building")):
    if task == "image":
        info = model_overview(data_cfg, cfg, num_classes=len(data["classes"]), image_size=data["image_size"],
                              in_channels=data["in_channels"])
    else:
        info = model_overview(data_cfg, cfg, data["vocab_size"], len(data["classes"]))
if (changed := state.set_model_cfg(cfg)):
    st.toast(t("model.toast_changed", changes=changed), icon="🎛️")

c1, c2, c3 = st.columns(3)
against = None if task == "image" else state.size_against(info, asdict(data_cfg), data["vocab_size"],
                                                           len(data["classes"]))
c1.metric(t("model.parameters"), f"{info['total_parameters']:,}",
          delta=t("model.parameters_ratio", ratio=against["parameters_ratio"], reference=against["reference"])
          if against and against["parameters_ratio"] >= 2 else None, delta_color="off",
          help=t("model.parameters_help") + (t("model.parameters_help_reference", reference=against["reference"],
                                                n=against["parameters"]) if against else ""))
c2.metric(t("model.memory"), f"{info['weight_bytes'] / 2**20:.2f} MB", help=t("model.memory_help"))
unit = t("model.unit.pieces") if info.get("own_tokenizer") else t("model.unit.words")
example = (t("model.example.image", size=info["image_size"]) if task == "image"
           else t("model.example.text", n=info["example_len"], unit=unit))
c3.metric(t("model.flops"), f"{info['flops_per_example'] / 1e6:.2f} M",
          delta=t("model.flops_ratio", ratio=against["flops_ratio"], reference=against["reference"])
          if against and against["flops_ratio"] >= 2 else None, delta_color="off",
          help=t("model.flops_help", example=example))
if entry.preset:
    preset = {**entry.preset.get("data", {}), **entry.preset.get("train", {})}
    st.info(t("model.preset", settings=state.describe_settings(preset), n=preset.get("max_train_rows", 0)), icon="🎓")
st.subheader(t("model.layers"))
st.caption(t("model.layers_caption", example=example,
             shape=t("model.shape.image") if task == "image" else t("model.shape.text")))
st.dataframe(layer_table(info["layers"]), hide_index=True, width="stretch")
size = (t("model.size.image", size=data["image_size"], channels=data["in_channels"]) if task == "image"
        else t("model.size.pieces", n=info["vocab_size"]) if info.get("own_tokenizer")
        else t("model.size.words", n=data["vocab_size"]))
st.caption(t("model.data_caption", spec=data["spec"], size=size, classes=len(data["classes"])))
explain_model(entry.family, {**entry.defaults, **params, **{k: v[0] for k, v in fixed.items()}}, info,
              task)
st.page_link("pages/3_Train.py", label=t("model.next"), icon="➡️")
