"""Widgets built from a model preset: one input per setting, typed like the preset's default."""
from __future__ import annotations

from typing import Any

import streamlit as st

from bigmodel_core.settings import Setting
from ui.i18n import t, tr

CHOICES = {"cell": ["rnn", "lstm", "gru"]}
# settings with a label and a one-line help of their own in assets/locales/*/widgets.json (widgets.setting.*,
# widgets.help.*); any other setting shows its key and the registry's help
NAMED = ("embed_dim", "hidden", "layers", "bidirectional", "dropout", "widths", "filters", "heads", "dim", "ff",
         "bigram_buckets", "cell", "block_channels", "width", "stages", "blocks_per_stage", "finetune", "top_layers",
         "max_length", "weights", "auto_depth")
CHOICE_LABELS = {"finetune": ("full", "frozen", "top")}  # values shown with a few words of what they do


def _label(name: str) -> str:
    return t(f"widgets.setting.{name}") if name in NAMED else name.replace("_", " ")


def _help(name: str, spec: Setting | None) -> str | None:
    if name in NAMED and name != "auto_depth":
        return t(f"widgets.help.{name}")
    return tr(spec.help) if spec is not None and spec.help else None


def _choice(name: str, value: Any) -> str:
    return t(f"widgets.choice.{name}.{value}") if value in CHOICE_LABELS.get(name, ()) else str(value)


def setting_inputs(defaults: dict[str, Any], current: dict[str, Any], key_prefix: str,
                   fixed: dict[str, tuple[Any, str]] | None = None,
                   specs: dict[str, Setting] | None = None) -> dict[str, Any]:
    """Inputs for every setting; returns only the values that differ from the preset.

    `fixed` maps a setting to (value, why): shown greyed out with the reason, and not returned.
    `specs` gives each setting's declared valid values (the model registry's): the inputs' bounds.
    """
    specs = specs or {}
    out: dict[str, Any] = {}
    cols = st.columns(3)
    for i, (name, default) in enumerate(defaults.items()):
        value = current.get(name, default)
        col, key, label = cols[i % 3], f"{key_prefix}_{name}", _label(name)
        help_ = _help(name, specs.get(name))
        if fixed and name in fixed:
            col.text_input(label, str(fixed[name][0]), key=f"{key}_fixed_{fixed[name][0]}", disabled=True,
                           help=tr(fixed[name][1]))  # the value in the key: a new value is a new widget
            continue
        choices = CHOICES.get(name) or (list(specs[name].choices) if name in specs and specs[name].choices else None)
        if choices:
            new = col.selectbox(label, choices, index=choices.index(value), key=key, help=help_,
                                format_func={c: _choice(name, c) for c in choices}.get)
        elif isinstance(default, bool):
            new = col.checkbox(label, bool(value), key=key, help=help_)
        elif isinstance(default, int):
            spec = specs.get(name, Setting(int, 0, 100_000))
            low, high = int(spec.low), int(spec.high)
            new = int(col.number_input(label, low, high, min(max(int(value), low), high), key=key, help=help_))
        elif isinstance(default, float):
            spec = specs.get(name, Setting(float, 0.0, 0.9))
            low, high = float(spec.low), float(spec.high)
            new = float(col.number_input(label, low, high, min(max(float(value), low), high), 0.05, key=key, help=help_))
        elif isinstance(default, (tuple, list)):
            text = col.text_input(label, ",".join(str(v) for v in value), key=key, help=help_)
            new = specs.get(name, Setting(list, 1, 100_000)).parse(name, text)  # a bad list: a plain error
        else:
            new = col.text_input(label, str(value), key=key, help=help_)
        if new != default and not (isinstance(default, tuple) and list(default) == new):
            out[name] = new
    return out


LAYER_COLUMNS = ("layer", "type", "output shape", "parameters")


def layer_table(rows: list[dict[str, Any]]):
    """The Model page's table of layers, its column names in the user's language."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    return frame.rename(columns={c: t(f"widgets.layers.{c.replace(' ', '_')}") for c in frame.columns
                                 if c in LAYER_COLUMNS})


# the first convolution of each image family: (kernel, padding, channels or the setting that gives them)
_FIRST_CONV = {"LeNet": (5, 2, 6), "ConvNet": (3, 1, "block_channels"), "ResNet": (3, 1, "width")}


def explain_model(family: str, params: dict[str, Any], info: dict[str, Any], task: str) -> None:
    """The course's "What is happening?" for the chosen model's family, with its own numbers."""
    from ui import course

    if family == "RNN":
        course.explain("rnn", task=task, cell=params.get("cell"), hidden=params.get("hidden"),
                       embed_dim=params.get("embed_dim"), layers=params.get("layers"))
    elif family == "Transformer":
        course.explain("attention", task=task, d_model=params.get("dim"), heads=params.get("heads"),
                       layers=params.get("layers"))
    elif family == "TextCNN":
        widths = list(params.get("widths") or [3])
        course.explain("convolution", task=task, kernel=int(widths[0]), channels=params.get("filters"),
                       in_size=info.get("example_len"), stride=1, padding=0, embed_dim=params.get("embed_dim"))
    elif family in _FIRST_CONV:
        kernel, padding, channels = _FIRST_CONV[family]
        if isinstance(channels, str):
            value = params.get(channels)
            channels = int(next(iter(value))) if isinstance(value, (list, tuple)) and value else value
        course.explain("convolution", task=task, kernel=kernel, padding=padding, stride=1, channels=channels,
                       in_size=info.get("image_size"))
    elif family == "Pretrained Transformer":
        course.explain("pretraining", task=task, model=params.get("weights"), params=info.get("total_parameters"))
