"""The course inside the app: a "What is happening?" expander per idea, tied to the live model.

    from ui import course
    course.explain("rnn", cell="lstm", hidden=128, embed_dim=64)   # where the user meets the idea
    course.explain("convolution")                                  # no live values: the worked example only

Each expander (closed at first) holds, for readers with no maths background: a few plain sentences, the
formula where the course has one (st.latex, each symbol then said in words), what it means for the user's
own model and data (from whatever `live` values the page passes; unknown or missing ones are ignored), and
a small picture. The sums come from bigmodel_core.course; the texts from assets/locales/*/course.json.
Nothing here loads a model or reads a file: it is cheap to draw on every rerun.

This file is the frame: the topics, the formulas, the expander, the live values and the pieces every topic
uses. What each topic says lives in ui/course_topics.py, its picture in ui/course_pictures.py (both import
this module; it imports them only when an expander is drawn).
"""
from __future__ import annotations

import logging
import math
from typing import Any, Callable

import streamlit as st

from ui.i18n import t

TOPICS = ("data", "forward_loss_gd", "distributed", "rnn", "attention", "convolution", "pretraining",
          "embeddings", "explain", "scale", "pruning", "quantization", "distillation", "deployment")

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- formulas (LaTeX is the same in every language)

SOFTMAX = r"p_i = \frac{e^{z_i}}{\sum_j e^{z_j}}"
CROSS_ENTROPY = r"L = -\log p_y"
GD_STEP = r"w \leftarrow w - \eta \, \frac{\partial L}{\partial w}"
RNN_CELL = r"h_t = \tanh\left(W x_t + U h_{t-1} + b\right)"
LSTM_GATES = (r"\begin{aligned}"
              r"f_t &= \sigma\left(W_f x_t + U_f h_{t-1} + b_f\right) \\"
              r"i_t &= \sigma\left(W_i x_t + U_i h_{t-1} + b_i\right) \\"
              r"\tilde{c}_t &= \tanh\left(W_c x_t + U_c h_{t-1} + b_c\right) \\"
              r"o_t &= \sigma\left(W_o x_t + U_o h_{t-1} + b_o\right) \\"
              r"c_t &= f_t \odot c_{t-1} + i_t \odot \tilde{c}_t \\"
              r"h_t &= o_t \odot \tanh\left(c_t\right)"
              r"\end{aligned}")
GRU_GATES = (r"\begin{aligned}"
             r"r_t &= \sigma\left(W_r x_t + U_r h_{t-1} + b_r\right) \\"
             r"z_t &= \sigma\left(W_z x_t + U_z h_{t-1} + b_z\right) \\"
             r"\tilde{h}_t &= \tanh\left(W_h x_t + r_t \odot \left(U_h h_{t-1}\right) + b_h\right) \\"
             r"h_t &= \left(1 - z_t\right) \odot \tilde{h}_t + z_t \odot h_{t-1}"
             r"\end{aligned}")
ATTENTION = r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^{\top}}{\sqrt{d_k}}\right) V"
CONV_SIZE = r"o = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1"
QUANT_PARAMS = (r"s = \frac{x_{\max} - x_{\min}}{255}, \qquad "
                r"z = \mathrm{round}\!\left(-128 - \frac{x_{\min}}{s}\right)")
QUANT_MAP = (r"q = \mathrm{clamp}\!\left(\mathrm{round}\!\left(\frac{x}{s}\right) + z,\; -128,\; 127\right), \qquad "
             r"\hat{x} = s\,(q - z)")
SOFT_TARGETS = r"p_i^{(T)} = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}"
DISTIL_LOSS = (r"L = \alpha \, T^2 \, \mathrm{KL}\!\left(p^{(T)}_{\mathrm{t}} \,\middle\|\, p^{(T)}_{\mathrm{s}}\right)"
               r" + (1 - \alpha) \, \mathrm{CE}\!\left(y, \, p_{\mathrm{s}}\right)")

# the formulas each topic can show (the rnn topic shows its cell's own, or all three)
FORMULAS = {"forward_loss_gd": (SOFTMAX, CROSS_ENTROPY, GD_STEP), "rnn": (RNN_CELL, LSTM_GATES, GRU_GATES),
            "attention": (ATTENTION,), "convolution": (CONV_SIZE,), "quantization": (QUANT_PARAMS, QUANT_MAP),
            "distillation": (SOFT_TARGETS, DISTIL_LOSS)}

EXAMPLE_LOGITS = (2.0, 1.0, 0.1)            # the softmax picture's scores
TEACHER_LOGITS = (5.0, 2.5, 1.5, 0.0)       # a teacher sure it sees a 7, that sees a bit of a 1
TEACHER_CLASSES = ("7", "1", "9", "4")
EXAMPLE_LR, EXAMPLE_T = 0.1, 4.0
# the explain picture's example sentence (course.explain.example, split by spaces): a weight per word
EXPLAIN_WEIGHTS = {"en": (0.0, 0.15, 0.0, 0.9, -0.15, 0.0, 0.05, 0.0, -0.6),
                   "zh-CN": (0.15, 0.05, 0.9, -0.15, 0.05, 0.0, -0.6)}


# ---------------------------------------------------------------- the API


def explain(topic: str, **live: Any) -> None:
    """Draw the expander for `topic` (one of TOPICS); `live` are values of the user's own model and data."""
    from ui.course_topics import VIEWS  # here, not at the top: that module imports this one

    assert topic in TOPICS, topic
    values = {k: v for k, v in live.items() if v is not None}
    with st.expander(t("course.expander", topic=t(f"course.{topic}.name")), expanded=False):
        st.markdown(t(f"course.{topic}.intro"))
        VIEWS[topic](_Live(values))


class _Live:
    """The page's live values, read defensively: a missing, empty or unusable value is None."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def num(self, name: str, low: float | None = None) -> float | None:
        v = self.values.get(name)
        if isinstance(v, bool):
            return None
        try:
            x = float(v)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x) or (low is not None and x < low):
            return None
        return x

    def whole(self, name: str, low: int = 0) -> int | None:
        x = self.num(name, low)
        return int(round(x)) if x is not None else None

    def text(self, name: str) -> str | None:
        v = self.values.get(name)
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):  # a model object, a list, ...: no name
            return None
        s = str(v).strip()
        return s or None

    def choice(self, name: str, options: tuple[str, ...]) -> str | None:
        s = (self.text(name) or "").lower()
        return s if s in options else None


# ---------------------------------------------------------------- pieces every topic uses


def _n(x: float | int) -> str:
    """A count with thousands separators."""
    return f"{int(x):,}"


def _g(x: float) -> str:
    return f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def _formula(topic: str, name: str, latex: str, symbols: tuple[tuple[str, str], ...]) -> None:
    """A formula's heading, the formula, then one line in words per symbol."""
    st.markdown(f"**{t(f'course.{topic}.formula.{name}')}**")
    st.latex(latex)
    st.markdown("\n".join(f"- ${sym}$ — {t(f'course.{topic}.sym.{key}')}" for sym, key in symbols))


def _live(lines: list[str]) -> None:
    """What the idea means for the user's own model: one bullet per sentence the live values allow."""
    if lines:
        st.markdown(f"**{t('course.live_title')}**\n\n" + "\n".join(f"- {line}" for line in lines))


def _picture(draw: Callable[[], None], caption: str) -> None:
    """The small picture; a picture that fails must not take the page with it."""
    try:
        draw()
    except Exception:  # noqa: BLE001 - logged; the sentences and formulas are already on the page
        log.exception("course picture failed")
        return
    st.caption(caption)
