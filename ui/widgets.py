"""Widgets built from a model preset: one input per setting, typed like the preset's default."""
from __future__ import annotations

from typing import Any

import streamlit as st

from bigmodel_core.settings import Setting

CHOICES = {"cell": ["rnn", "lstm", "gru"]}
HELP = {"embed_dim": "Length of each word's vector.", "hidden": "Size of the hidden state / hidden layer.",
        "layers": "How many layers are stacked.", "bidirectional": "Read the text both forwards and backwards.",
        "dropout": "Share of units switched off at random while training; fights overfitting.",
        "widths": "Filter widths in words, comma-separated (3,4,5 looks at 3-, 4- and 5-word phrases).",
        "filters": "Filters per width.", "heads": "Attention heads per layer.", "dim": "Vector size inside the Transformer.",
        "ff": "Size of the feed-forward layer in each block.", "bigram_buckets": "Hash buckets for word pairs (0 = off).",
        "cell": "rnn is the plain recurrent cell; lstm and gru have gates that remember longer.",
        "block_channels": "Filters of each conv → batch-norm → ReLU → pool block, comma-separated (32,64: two blocks).",
        "width": "Filters of the first stage; each later stage doubles them.", "stages": "How many ResNet stages.",
        "blocks_per_stage": "Residual blocks in each stage.",
        "finetune": "full: train every weight; frozen: keep the pretrained encoder as it is and train only the "
                    "last layer (a linear probe, fast); top: train the last layer and the top encoder layers.",
        "top_layers": "With finetune=top: how many of the encoder's top layers are trained.",
        "max_length": "Longest text the model reads, in word pieces; longer texts are cut at a whole word.",
        "weights": "The pretrained model: a Hub id downloaded on this page, or a folder on this computer."}


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
        col, key, label = cols[i % 3], f"{key_prefix}_{name}", name.replace("_", " ")
        help_ = HELP.get(name) or (specs[name].help if name in specs else None) or None
        if fixed and name in fixed:
            col.text_input(label, str(fixed[name][0]), key=f"{key}_fixed_{fixed[name][0]}", disabled=True,
                           help=fixed[name][1])  # the value in the key: a new value is a new widget
            continue
        choices = CHOICES.get(name) or (list(specs[name].choices) if name in specs and specs[name].choices else None)
        if choices:
            new = col.selectbox(label, choices, index=choices.index(value), key=key, help=help_)
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
