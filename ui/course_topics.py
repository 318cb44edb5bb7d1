"""What each course topic says: its formulas with their symbols in words, and the sentences its live values allow.

ui.course.explain draws the expander and hands the page's live values to VIEWS[topic]; each view then asks
ui.course_pictures for its picture, passing the numbers it has worked out.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import streamlit as st

import bigmodel_core.course as cm
from ui import course_pictures as pictures
from ui.course import (ATTENTION, CONV_SIZE, CROSS_ENTROPY, DISTIL_LOSS, EXAMPLE_LOGITS, EXAMPLE_LR, EXAMPLE_T, GD_STEP,
                       GRU_GATES, LSTM_GATES, QUANT_MAP, QUANT_PARAMS, RNN_CELL, SOFT_TARGETS, SOFTMAX, TEACHER_LOGITS,
                       TOPICS, _formula, _g, _Live, _live, _n, _pct, _picture)
from ui.i18n import t


def _data(live: _Live) -> None:
    counts = {part: live.whole(f"n_{part}") for part in ("train", "val", "test")}
    lines = [t(f"course.data.live.{part}", n=_n(n)) for part, n in counts.items() if n is not None]
    task = live.choice("task", ("text", "image"))
    if task:
        lines.append(t(f"course.data.live.task_{task}"))
    classes = live.whole("num_classes", 1)
    if classes:
        lines.append(t("course.data.live.classes", n=_n(classes), pct=_pct(1 / classes)))
    _live(lines)
    example = not any(counts.values())
    shown = {"train": 70, "val": 15, "test": 15} if example else {k: v or 0 for k, v in counts.items()}
    _picture(lambda: pictures.data(shown), t("course.data.picture_example" if example else "course.data.picture"))


def _forward_loss_gd(live: _Live) -> None:
    topic = "forward_loss_gd"
    _formula(topic, "softmax", SOFTMAX, (("z_i", "z"), ("e^{z_i}", "exp"), (r"\sum_j", "sum"), ("p_i", "p")))
    _formula(topic, "loss", CROSS_ENTROPY, (("y", "y"), ("p_y", "p_y"), (r"-\log", "log")))
    _formula(topic, "step", GD_STEP, (("w", "w"), (r"\eta", "eta"), (r"\frac{\partial L}{\partial w}", "grad"),
                                      (r"\leftarrow", "arrow")))
    lr = live.num("lr", 0)
    batch = live.whole("batch_size", 1)
    n_train = live.whole("n_train", 1)
    classes = live.whole("num_classes", 2)
    shown_lr = lr if lr else EXAMPLE_LR
    path = cm.gd_steps(shown_lr, start=4.0, steps=12)
    lines = []
    if lr:
        end = path[-1][0]
        key = "lr_bad" if not cm.converges(lr) else "lr_ok" if abs(end) < 0.1 * abs(path[0][0]) else "lr_slow"
        lines.append(t(f"course.{topic}.live.{key}", lr=_g(lr), steps=len(path) - 1, start=_g(path[0][0]),
                       end=_g(path[-1][0]) if math.isfinite(path[-1][1]) else "∞"))
    if batch:
        lines.append(t(f"course.{topic}.live.batch", batch=_n(batch)))
    if batch and n_train:
        lines.append(t(f"course.{topic}.live.epoch", n=_n(n_train), steps=_n(cm.steps_per_epoch(n_train, batch))))
    if classes:
        lines.append(t(f"course.{topic}.live.classes", n=_n(classes), loss=f"{cm.guessing_loss(classes):.2f}"))
    _live(lines)
    _picture(lambda: pictures.forward_loss_gd(path, shown_lr),
             t(f"course.{topic}.picture", loss=f"{cm.cross_entropy(EXAMPLE_LOGITS, 0):.2f}"))


def _distributed(live: _Live) -> None:
    processes = live.whole("processes", 1)
    batch = live.whole("batch_size", 1)
    lines = []
    if processes:
        lines.append(t("course.distributed.live.processes", n=_n(processes)))
    if processes and batch:
        small, extra = divmod(batch, processes)  # the first `extra` processes get one example more
        sizes = [small + 1, small] if extra else [small]
        lines.append(t("course.distributed.live.slices", batch=_n(batch), slice=" / ".join(str(s) for s in sizes)))
    elif batch:
        lines.append(t("course.distributed.live.batch", batch=_n(batch)))
    _live(lines)
    n = processes or 2
    slices = cm.batch_slices(batch or 32, min(n, 4)) if n <= 4 else [
        (batch or 32) // n + (1 if k < (batch or 32) % n else 0) for k in range(4)]
    _picture(lambda: pictures.distributed(n, slices, batch), t("course.distributed.picture"))


_RNN_SYMBOLS = (("x_t", "x"), ("h_{t-1}", "h_prev"), ("h_t", "h"), ("W,\\ U,\\ b", "wub"), (r"\tanh", "tanh"))
_GATE_SYMBOLS = {
    "rnn": (),
    "lstm": ((r"\sigma", "sigma"), ("f_t", "f"), ("i_t", "i"), (r"\tilde{c}_t", "c_tilde"), ("o_t", "o"),
             ("c_t", "c"), (r"\odot", "odot")),
    "gru": ((r"\sigma", "sigma"), ("r_t", "r"), ("z_t", "z"), (r"\tilde{h}_t", "h_tilde"), (r"\odot", "odot")),
}
_CELL_LATEX = {"rnn": RNN_CELL, "lstm": LSTM_GATES, "gru": GRU_GATES}
_CELL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _rnn(live: _Live) -> None:
    cell = live.choice("cell", ("rnn", "lstm", "gru"))
    hidden = live.whole("hidden", 1)
    embed = live.whole("embed_dim", 1) or live.whole("dim", 1)
    layers = live.whole("layers", 1)

    lines = []
    name = _CELL_NAMES.get(cell or "", t("course.rnn.your_network"))
    if hidden:
        lines.append(t("course.rnn.live.hidden", cell=name, hidden=_n(hidden)))
        if cell in ("lstm", "gru"):
            lines.append(t(f"course.rnn.live.gates_{cell}", hidden=_n(hidden)))
    if embed:
        lines.append(t("course.rnn.live.embed", dim=_n(embed)))
    if hidden and embed and cell:
        lines.append(t("course.rnn.live.params", cell=name, params=_n(cm.rnn_params(cell, embed, hidden))))
    if layers:
        lines.append(t("course.rnn.live.layers", layers=_n(layers)) if layers > 1 else t("course.rnn.live.one_layer"))

    def picture(c: str) -> None:
        _picture(lambda: pictures.gate_diagram(c, hidden), t(f"course.rnn.picture_{c}"))

    if cell:  # that cell's own equations, what they mean here, its diagram
        _formula("rnn", cell, _CELL_LATEX[cell], _RNN_SYMBOLS + _GATE_SYMBOLS[cell])
        _live(lines)
        picture(cell)
        return
    for c, tab in zip(("rnn", "lstm", "gru"), st.tabs(["RNN", "LSTM", "GRU"])):
        with tab:
            _formula("rnn", c, _CELL_LATEX[c], _RNN_SYMBOLS + _GATE_SYMBOLS[c])
            picture(c)
    _live(lines)


def _attention(live: _Live) -> None:
    _formula("attention", "attention", ATTENTION,
             (("Q", "q"), ("K", "k"), ("V", "v"), (r"Q K^{\top}", "qk"), ("d_k", "dk"),
              (r"\mathrm{softmax}", "softmax")))
    d_model = live.whole("d_model", 1) or live.whole("hidden", 1)
    heads = live.whole("heads", 1)
    layers = live.whole("layers", 1)
    lines = []
    if d_model:
        lines.append(t("course.attention.live.d_model", d=_n(d_model)))
    if heads and d_model:
        lines.append(t("course.attention.live.heads_dk", heads=_n(heads), dk=_n(cm.head_size(d_model, heads)),
                       sqrt=f"{math.sqrt(max(cm.head_size(d_model, heads), 1)):.1f}"))
    elif heads:
        lines.append(t("course.attention.live.heads", heads=_n(heads)))
    if layers:
        lines.append(t("course.attention.live.layers", layers=_n(layers)))
    _live(lines)
    _picture(pictures.attention, t("course.attention.picture"))


def _convolution(live: _Live) -> None:
    _formula("convolution", "size", CONV_SIZE,
             (("n", "n"), ("k", "k"), ("p", "p"), ("s", "s"), (r"\lfloor \cdot \rfloor", "floor"), ("o", "o")))
    kernel = live.whole("kernel", 1)
    stride = live.whole("stride", 1) or 1
    padding = live.whole("padding", 0) or 0
    in_size = live.whole("in_size", 1)
    channels = live.whole("channels", 1)
    lines = []
    if kernel:
        n = in_size or 28
        o = cm.conv_output_size(n, kernel, stride, padding)
        key = "size" if in_size else "size_example"
        if o == 0:
            lines.append(t("course.convolution.live.too_big", n=n, k=kernel, p=padding))
        else:
            lines.append(t(f"course.convolution.live.{key}", n=n, k=kernel, s=stride, p=padding, o=o))
            half = cm.conv_output_size(o, 2, 2, 0)
            if half:
                lines.append(t("course.convolution.live.pool", o=o, half=half))
    elif in_size:
        lines.append(t("course.convolution.live.in_size", n=in_size))
    if channels:
        lines.append(t("course.convolution.live.channels", c=_n(channels)))
        if kernel:
            lines.append(t("course.convolution.live.kernel_weights", c=_n(channels), k=kernel, w=_n(kernel * kernel)))
    _live(lines)
    k_show, s_show, p_show = kernel or 3, stride, padding
    if k_show > 11 or p_show > 5 or s_show > 8:  # too big to draw: the picture shows the usual 3 / 1 / 1
        k_show, s_show, p_show = 3, 1, 1
    n_show = max(min(in_size or 7, 9), k_show - 2 * p_show, 1)
    o_show = cm.conv_output_size(n_show, k_show, s_show, p_show)

    caption = t("course.convolution.picture")
    if in_size and in_size > n_show:
        caption += " " + t("course.convolution.picture_smaller", n=n_show, real=in_size)
    _picture(lambda: pictures.convolution(n_show, k_show, s_show, p_show, o_show), caption)


def _pretraining(live: _Live) -> None:
    model = live.text("model")
    params = live.whole("params", 1)
    layers = live.whole("layers", 1)
    n_train = live.whole("n_train", 1)
    lines = []
    if model:
        lines.append(t("course.pretraining.live.model", model=model))
    if params:
        lines.append(t("course.pretraining.live.params", params=_n(params)))
    if layers:
        lines.append(t("course.pretraining.live.layers", layers=_n(layers)))
    if n_train:
        lines.append(t("course.pretraining.live.n_train", n=_n(n_train)))
    _live(lines)
    _picture(lambda: pictures.pretraining(model, n_train), t("course.pretraining.picture"))


def _embeddings(live: _Live) -> None:
    method = live.choice("method", ("word2vec", "glove"))
    dim = live.whole("dim", 1) or live.whole("embed_dim", 1)
    window = live.whole("window", 1)
    points = live.whole("points", 1)
    lines = []
    if method == "word2vec":
        lines.append(t("course.embeddings.live.word2vec_window", window=window) if window
                     else t("course.embeddings.live.word2vec"))
    elif method == "glove":
        lines.append(t("course.embeddings.live.glove_window", window=window) if window
                     else t("course.embeddings.live.glove"))
    elif window:
        lines.append(t("course.embeddings.live.window", window=window))
    if dim:
        lines.append(t("course.embeddings.live.dim", dim=_n(dim)))
    if points:
        lines.append(t("course.embeddings.live.points", points=_n(points)))
    _live(lines)
    _picture(pictures.embeddings, t("course.embeddings.picture"))


def _explain(live: _Live) -> None:
    method = live.choice("method", ("lime", "gradients", "attention"))
    points = live.whole("points", 1)
    lines = []
    if method:
        lines.append(t(f"course.explain.live.{method}"))
    if points and method in (None, "lime"):
        lines.append(t("course.explain.live.points", points=_n(points)))
    _live(lines)
    _picture(pictures.explain, t("course.explain.picture"))


def _scale(live: _Live) -> None:
    params = live.whole("params", 1)
    layers = live.whole("layers", 1)
    exponent = live.num("exponent", 0)
    points = live.whole("points", 1)
    axis = live.choice("axis", ("params", "data", "compute"))
    lines = []
    if params:
        lines.append(t("course.scale.live.params", params=_n(params), mb=f"{cm.model_megabytes(params):.1f}"))
    if layers:
        lines.append(t("course.scale.live.layers", layers=_n(layers)))
    if axis:
        lines.append(t(f"course.scale.live.axis_{axis}"))
    if exponent:
        factor = cm.tenfold_factor(exponent)
        lines.append(t("course.scale.live.exponent", e=f"{exponent:.3f}", f=f"{factor:.3g}", pct=_pct(1 - factor)))
    if points:
        lines.append(t("course.scale.live.points", points=_n(points)))
    _live(lines)
    shown = exponent if exponent and exponent < 3 else 0.076
    _picture(lambda: pictures.scale(shown, axis), t("course.scale.picture", f=f"{cm.tenfold_factor(shown):.3f}"))


def _pruning(live: _Live) -> None:
    sparsity = live.num("sparsity", 0)
    if sparsity is not None and sparsity > 1:
        sparsity = sparsity / 100.0 if sparsity <= 100 else None  # given in percent
    params = live.whole("params", 1)
    lines = []
    if sparsity is not None:
        lines.append(t("course.pruning.live.sparsity", pct=_pct(sparsity)))
        if params:
            removed = int(round(params * sparsity))
            lines.append(t("course.pruning.live.params", params=_n(params), removed=_n(removed),
                           kept=_n(params - removed)))
    elif params:
        lines.append(t("course.pruning.live.params_only", params=_n(params)))
    _live(lines)
    shown = sparsity if sparsity is not None else 0.5
    _picture(lambda: pictures.pruning(shown), t("course.pruning.picture"))


def _quantization(live: _Live) -> None:
    _formula("quantization", "params", QUANT_PARAMS,
             (("x", "x"), (r"x_{\min},\ x_{\max}", "range"), ("s", "s"), ("z", "z")))
    _formula("quantization", "map", QUANT_MAP,
             (("q", "q"), (r"\mathrm{round}", "round"), (r"\mathrm{clamp}", "clamp"), (r"\hat{x}", "x_hat")))
    bits = live.whole("bits", 2)
    bits = bits if bits and bits <= 16 else None
    params = live.whole("params", 1)
    weights, source = _live_weights(live)
    use_bits = bits or 8
    scale, zero = cm.int8_params(weights, use_bits)
    q = cm.quantize(weights, scale, zero, use_bits)
    err = float(abs(cm.dequantize(q, scale, zero) - cm.as_array(weights)).max()) if q.size else 0.0
    lo, hi = min(float(cm.as_array(weights).min()), 0.0), max(float(cm.as_array(weights).max()), 0.0)
    lines = [t(f"course.quantization.live.{source}", lo=f"{lo:.4g}", hi=f"{hi:.4g}", s=f"{scale:.3g}", z=zero,
               err=f"{err:.3g}", half=f"{scale / 2:.3g}")]
    if bits and bits != 8:
        lines.append(t("course.quantization.live.bits", bits=bits, levels=_n(2 ** bits)))
    if params:
        lines.append(t("course.quantization.live.params", params=_n(params), mb=f"{cm.model_megabytes(params):.2f}",
                       mbq=f"{cm.model_megabytes(params, use_bits):.2f}", bits=use_bits))
    _live(lines)
    qmin, qmax = -(2 ** (use_bits - 1)), 2 ** (use_bits - 1) - 1
    _picture(lambda: pictures.quantization(weights, lo, hi, qmin, qmax, scale, zero, use_bits),
             t("course.quantization.picture"))


def _live_weights(live: _Live) -> tuple[Any, str]:
    """The numbers to quantize: the page's `weights`, its model's first weight, or the example."""
    raw = live.raw("weights")
    if raw is not None:
        try:
            arr = cm.as_array(raw)
            if arr.size and bool((abs(arr) < float("inf")).all()):
                return arr, "weights"
        except (TypeError, ValueError):
            pass
    model = live.raw("model")
    if model is not None and hasattr(model, "named_parameters"):
        w = cm.first_weight(model)
        if w is not None and w.size:
            return w, "model"
    return cm.example_weights(60, seed=1), "example"


def _distillation(live: _Live) -> None:
    _formula("distillation", "soft", SOFT_TARGETS, (("z_i", "z"), ("T", "t"), ("p_i^{(T)}", "p")))
    _formula("distillation", "loss", DISTIL_LOSS,
             ((r"p_{\mathrm{t}},\ p_{\mathrm{s}}", "ts"), (r"\mathrm{KL}", "kl"), ("T^2", "t2"), (r"\mathrm{CE}", "ce"),
              ("y", "y"), (r"\alpha", "alpha")))
    temperature = live.num("temperature", 0)
    temperature = temperature if temperature and temperature > 0 else None
    alpha = live.num("alpha", 0)
    alpha = alpha if alpha is not None and alpha <= 1 else None
    model = live.text("model")
    params = live.whole("params", 1)
    shown = temperature or EXAMPLE_T
    p1, pt = cm.soft_targets(TEACHER_LOGITS, 1.0), cm.soft_targets(TEACHER_LOGITS, shown)
    lines = []
    if temperature:
        lines.append(t("course.distillation.live.temperature", t=_g(temperature), p1=_pct(p1[0]), pt=_pct(pt[0]),
                       q1=_pct(p1[1]), qt=_pct(pt[1])))
    if alpha is not None:
        lines.append(t("course.distillation.live.alpha", alpha=_g(alpha), teacher=_pct(alpha), labels=_pct(1 - alpha)))
    if model:
        lines.append(t("course.distillation.live.model", model=model))
    if params:
        lines.append(t("course.distillation.live.params", params=_n(params)))
    _live(lines)
    _picture(lambda: pictures.distillation(p1, pt, shown), t("course.distillation.picture"))


def _deployment(live: _Live) -> None:
    model = live.text("model")
    params = live.whole("params", 1)
    lines = []
    if model:
        lines.append(t("course.deployment.live.model", model=model))
    if params:
        lines.append(t("course.deployment.live.params", params=_n(params), mb=f"{cm.model_megabytes(params):.1f}"))
    _live(lines)
    _picture(lambda: pictures.deployment(model), t("course.deployment.picture"))


VIEWS: dict[str, Callable[[_Live], None]] = {
    "data": _data, "forward_loss_gd": _forward_loss_gd, "distributed": _distributed, "rnn": _rnn,
    "attention": _attention, "convolution": _convolution, "pretraining": _pretraining, "embeddings": _embeddings,
    "explain": _explain, "scale": _scale, "pruning": _pruning, "quantization": _quantization,
    "distillation": _distillation, "deployment": _deployment,
}
assert set(VIEWS) == set(TOPICS)
