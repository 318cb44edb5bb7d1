"""The course inside the app: a "What is happening?" expander per idea, tied to the live model.

    from ui import course
    course.explain("rnn", cell="lstm", hidden=128, embed_dim=64)   # where the user meets the idea
    course.explain("convolution")                                  # no live values: the worked example only

Each expander (closed at first) holds, for readers with no maths background: a few plain sentences, the
formula where the course has one (st.latex, each symbol then said in words), what it means for the user's
own model and data (from whatever `live` values the page passes; unknown or missing ones are ignored), and
a small picture. The sums come from bigmodel_core.course; the texts from assets/locales/*/course.json.
Nothing here loads a model or reads a file: it is cheap to draw on every rerun.
"""
from __future__ import annotations

import html
import logging
import math
from typing import Any, Callable

import streamlit as st

import bigmodel_core.course as cm
from ui import palette
from ui.i18n import lang, t

TOPICS = ("data", "forward_loss_gd", "distributed", "rnn", "attention", "convolution", "pretraining",
          "embeddings", "explain", "scale", "pruning", "quantization", "distillation", "deployment")

log = logging.getLogger(__name__)
HEIGHT = 220
_LEGEND = dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom", font=dict(size=11))
GREY, BLUE, DARK_BLUE, ORANGE, PURPLE = "#9ca3af", "#2563eb", "#1e3a8a", "#ea580c", "#7c3aed"

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
    assert topic in TOPICS, topic
    values = {k: v for k, v in live.items() if v is not None}
    with st.expander(t("course.expander", topic=t(f"course.{topic}.name")), expanded=False):
        st.markdown(t(f"course.{topic}.intro"))
        _TOPICS[topic](_Live(values))


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


def _chart(fig: Any, topic: str) -> None:
    """A compact plotly chart with a stable key (a second copy on the same page gets a numbered one)."""
    from streamlit.errors import StreamlitDuplicateElementId, StreamlitDuplicateElementKey

    for i in range(50):
        try:
            st.plotly_chart(fig, key=f"course_{topic}" + (f"_{i}" if i else ""), config={"displayModeBar": False})
            return
        except (StreamlitDuplicateElementId, StreamlitDuplicateElementKey):
            continue


def _layout(fig: Any, title: str, **extra: Any) -> Any:
    from ui.charts import _LAYOUT

    layout = {**_LAYOUT, "height": HEIGHT, "margin": dict(l=10, r=10, t=34, b=10), "showlegend": False, **extra}
    return fig.update_layout(title=dict(text=title, font=dict(size=13)), **layout)


def _box(text: str, sub: str = "", colour: str = BLUE) -> str:
    sub_html = f'<div style="font-size:0.78rem;opacity:0.8">{html.escape(sub)}</div>' if sub else ""
    return (f'<div style="border:2px solid {colour};border-radius:8px;padding:6px 10px;text-align:center;'
            f'background:{colour}14;min-width:70px">{html.escape(text)}{sub_html}</div>')


_ARROW = '<div style="font-size:1.4rem;opacity:0.6;padding:0 4px">→</div>'


def _flow(items: list[str]) -> None:
    """A row of boxes joined by arrows (HTML pieces from _box or a column of them)."""
    st.html('<div class="bm-course-flow" style="display:flex;align-items:center;flex-wrap:wrap;gap:4px;'
            'font-size:0.92rem;margin:4px 0">' + _ARROW.join(items) + "</div>")


def _column(items: list[str]) -> str:
    return '<div style="display:flex;flex-direction:column;gap:4px">' + "".join(items) + "</div>"


def _words(key: str) -> list[str]:
    return [w.strip() for w in t(key).split(",")]


# ---------------------------------------------------------------- the topics


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

    def draw() -> None:
        import plotly.graph_objects as go

        fig = go.Figure()
        total = sum(shown.values()) or 1
        for part, colour in (("train", BLUE), ("val", ORANGE), ("test", PURPLE)):
            label = t(f"course.data.part.{part}")
            fig.add_trace(go.Bar(x=[shown[part]], y=[""], orientation="h", name=label, marker_color=colour,
                                 text=[f"{label} {_pct(shown[part] / total)}"], textposition="inside",
                                 hovertemplate=f"{label}: %{{x}}<extra></extra>"))
        _layout(fig, t("course.data.chart_title"), barmode="stack", height=140)
        fig.update_xaxes(title=t("course.data.axis_examples"))
        _chart(fig, "data")

    _picture(draw, t("course.data.picture_example" if example else "course.data.picture"))


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

    def draw() -> None:
        import numpy as np
        import plotly.graph_objects as go

        left, right = st.columns(2)
        xs = np.linspace(-5, 5, 101)
        fig = go.Figure(go.Scatter(x=xs, y=xs ** 2, mode="lines", line=dict(color=GREY), hoverinfo="skip"))
        walks = [(path, "η = " + _g(shown_lr), ORANGE, 8)]
        if shown_lr != EXAMPLE_LR:  # the user's own rate, and the example's for comparison
            walks.append((cm.gd_steps(EXAMPLE_LR, start=4.0, steps=12), t(f"course.{topic}.example_lr", lr=_g(EXAMPLE_LR)),
                          GREY, 5))
        for walk, name, colour, size in reversed(walks):
            pts = [(w, loss) for w, loss in walk if abs(w) <= 5.5 and math.isfinite(loss)]
            fig.add_trace(go.Scatter(x=[w for w, _ in pts], y=[loss for _, loss in pts], mode="lines+markers", name=name,
                                     marker=dict(color=colour, size=size), line=dict(color=colour, dash="dot"),
                                     hovertemplate="w = %{x:.3f}<br>L = %{y:.3f}<extra></extra>"))
        fig.data[0].showlegend = False
        _layout(fig, t(f"course.{topic}.gd_title", lr=_g(shown_lr)), yaxis=dict(range=[-1, 27], title="L(w) = w²"),
                xaxis=dict(range=[-5.5, 5.5], title="w"), showlegend=len(walks) > 1, legend=_LEGEND)
        with left:
            _chart(fig, "gd")
        probs = cm.softmax(EXAMPLE_LOGITS)
        names = _words(f"course.{topic}.classes")[:len(EXAMPLE_LOGITS)]
        names += [str(i) for i in range(len(names), len(EXAMPLE_LOGITS))]
        bars = go.Figure(go.Bar(x=names, y=probs, marker_color=[palette.pos()] + [GREY] * (len(names) - 1),
                                text=[f"z = {z:g} → {p:.0%}" for z, p in zip(EXAMPLE_LOGITS, probs)],
                                textposition="outside", cliponaxis=False))
        _layout(bars, t(f"course.{topic}.softmax_title"), yaxis=dict(range=[0, 1.15], tickformat=".0%"))
        with right:
            _chart(bars, "softmax")

    _picture(draw, t(f"course.{topic}.picture", loss=f"{cm.cross_entropy(EXAMPLE_LOGITS, 0):.2f}"))


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

    def draw() -> None:
        shown = list(range(min(n, 4)))
        boxes = [_box(t("course.distributed.process", k=k + 1), t("course.distributed.slice", m=slices[k]), BLUE)
                 for k in shown]
        if n > len(shown):
            boxes.append(_box("…", t("course.distributed.more", n=n - len(shown)), GREY))
        grads = [_box(f"g{k + 1}", "", ORANGE) for k in shown]
        _flow([_box(t("course.distributed.batch"), _n(batch or 32), PURPLE), _column(boxes), _column(grads),
               _box(t("course.distributed.average"), "(g1 + … + gN) ÷ N", palette.pos()),
               _box(t("course.distributed.same_step"), "", palette.pos())])

    _picture(draw, t("course.distributed.picture"))


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
        _picture(lambda: _gate_diagram(c, hidden), t(f"course.rnn.picture_{c}"))

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


def _gate_diagram(cell: str, hidden: int | None) -> None:
    size = t("course.rnn.numbers", n=_n(hidden)) if hidden else ""
    inputs = _box("xₜ + hₜ₋₁", t("course.rnn.box_in"), PURPLE)
    if cell == "rnn":
        _flow([inputs, _box("tanh", size, BLUE), _box("hₜ", t("course.rnn.box_h"), palette.pos())])
        return
    gates = {"lstm": (("forget", "σ"), ("input", "σ"), ("candidate", "tanh"), ("output", "σ")),
             "gru": (("reset", "σ"), ("update", "σ"), ("candidate", "tanh"))}[cell]
    column = _column([_box(f"{t(f'course.rnn.gate.{g}')} ({fn})", size, ORANGE if fn == "σ" else BLUE)
                      for g, fn in gates])
    if cell == "lstm":
        _flow([inputs, column, _box("cₜ", t("course.rnn.box_c"), BLUE), _box("hₜ", t("course.rnn.box_h"), palette.pos())])
    else:
        _flow([inputs, column, _box("hₜ", t("course.rnn.box_h"), palette.pos())])


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

    def draw() -> None:
        import plotly.graph_objects as go

        words, weights = cm.example_attention()
        names = _words("course.attention.words")
        if len(names) != len(words):
            names = list(words)
        n = len(names)
        fig = go.Figure(go.Heatmap(z=weights, x=list(range(n)), y=list(range(n)), colorscale="Blues", zmin=0,
                                   text=[[f"{v:.2f}" for v in row] for row in weights], texttemplate="%{text}",
                                   showscale=False, hovertemplate="%{z:.2f}<extra></extra>"))
        _layout(fig, t("course.attention.chart_title"), height=260)
        fig.update_xaxes(tickvals=list(range(n)), ticktext=names, title=t("course.attention.axis_x"), side="top")
        fig.update_yaxes(tickvals=list(range(n)), ticktext=names, title=t("course.attention.axis_y"),
                         autorange="reversed")
        _chart(fig, "attention")

    _picture(draw, t("course.attention.picture"))


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

    def draw() -> None:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        # 0 padding, 1 picture, 2 the first window / the output's first number, 3 the output's second number
        side = n_show + 2 * p_show
        grid = [[1 if p_show <= r < p_show + n_show and p_show <= c < p_show + n_show else 0
                 for c in range(side)] for r in range(side)]
        starts = cm.conv_windows(n_show, k_show, s_show, p_show)
        for r in range(min(k_show, side)):
            for c in range(min(k_show, side)):
                grid[r][c] = 2
        out = [[1] * o_show for _ in range(o_show)]
        if o_show:
            out[0][0] = 2
        if o_show > 1:
            out[0][1] = 3
        scale = [[0, "#d1d5db"], [0.2, "#d1d5db"], [0.2, "#c7d2fe"], [0.5, "#c7d2fe"], [0.5, DARK_BLUE],
                 [0.8, DARK_BLUE], [0.8, ORANGE], [1, ORANGE]]
        fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.08,
                            subplot_titles=(t("course.convolution.input", n=n_show, p=p_show),
                                            t("course.convolution.output", o=o_show)))
        fig.add_trace(go.Heatmap(z=grid, zmin=0, zmax=3, colorscale=scale, showscale=False, xgap=1, ygap=1,
                                 hoverinfo="skip"), row=1, col=1)
        if len(starts) > 1:  # the next window, one stride to the right: an orange outline
            x0 = starts[1] - 0.5
            fig.add_shape(type="rect", x0=x0, x1=x0 + k_show, y0=-0.5, y1=k_show - 0.5, line=dict(color=ORANGE, width=3),
                          row=1, col=1)
        if o_show:
            fig.add_trace(go.Heatmap(z=out, zmin=0, zmax=3, colorscale=scale, showscale=False, xgap=1, ygap=1,
                                     hoverinfo="skip"), row=1, col=2)
        _layout(fig, t("course.convolution.chart_title", k=k_show, s=s_show, p=p_show), height=240,
                margin=dict(l=10, r=10, t=56, b=10))
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False, autorange="reversed")
        fig.update_yaxes(scaleanchor="x", row=1, col=1)
        fig.update_yaxes(scaleanchor="x2", row=1, col=2)
        fig.update_annotations(font_size=11)
        _chart(fig, "convolution")

    caption = t("course.convolution.picture")
    if in_size and in_size > n_show:
        caption += " " + t("course.convolution.picture_smaller", n=n_show, real=in_size)
    _picture(draw, caption)


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

    def draw() -> None:
        _flow([_box("📚 " + t("course.pretraining.step.corpus"), t("course.pretraining.step.corpus_sub"), GREY),
               _box("🧠 " + t("course.pretraining.step.pretrained"), model or t("course.pretraining.step.pretrained_sub"),
                    BLUE),
               _box("🏷️ " + t("course.pretraining.step.labelled"),
                    _n(n_train) if n_train else t("course.pretraining.step.labelled_sub"), ORANGE),
               _box("🎯 " + t("course.pretraining.step.finetuned"), t("course.pretraining.step.finetuned_sub"),
                    palette.pos())])

    _picture(draw, t("course.pretraining.picture"))


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

    def draw() -> None:
        import plotly.graph_objects as go

        words = _words("course.embeddings.words")
        if len(words) != 4:
            words = ["king", "queen", "man", "woman"]
        xy = [(4.0, 4.2), (4.6, 1.4), (1.0, 3.6), (1.6, 0.8)]  # king, queen, man, woman
        fig = go.Figure(go.Scatter(x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers+text", text=words,
                                   textposition="top center", marker=dict(size=10, color=BLUE), hoverinfo="text"))
        for a, b in ((2, 3), (0, 1)):  # man -> woman, king -> queen: the same arrow
            fig.add_annotation(x=xy[b][0], y=xy[b][1], ax=xy[a][0], ay=xy[a][1], xref="x", yref="y", axref="x",
                               ayref="y", showarrow=True, arrowhead=3, arrowwidth=2, arrowcolor=ORANGE, text="")
        _layout(fig, t("course.embeddings.chart_title"), xaxis=dict(range=[0, 5.6], showticklabels=False),
                yaxis=dict(range=[0, 5.2], showticklabels=False))
        _chart(fig, "embeddings")

    _picture(draw, t("course.embeddings.picture"))


def _explain(live: _Live) -> None:
    method = live.choice("method", ("lime", "gradients", "attention"))
    points = live.whole("points", 1)
    lines = []
    if method:
        lines.append(t(f"course.explain.live.{method}"))
    if points and method in (None, "lime"):
        lines.append(t("course.explain.live.points", points=_n(points)))
    _live(lines)

    def draw() -> None:
        from ui import highlight

        words = t("course.explain.example").split()
        weights = EXPLAIN_WEIGHTS.get(lang(), EXPLAIN_WEIGHTS["en"])
        weights = list(weights[:len(words)]) + [0.0] * (len(words) - len(weights))
        # an example, not the user's sentence: its own classes, so nothing mistakes it for the real explanation
        example = highlight.highlight_html(words, weights).replace('class="bm-highlight"', 'class="bm-example"')
        st.html(example.replace('class="bm-word"', 'class="bm-example-word"'))
        sw = '<span style="background:rgba({rgb},0.8);padding:1px 8px;border-radius:4px">&nbsp;</span>'
        st.html(f'<div style="font-size:0.85rem">{sw.format(rgb=palette.pos_rgb())} '
                f'{html.escape(t("course.explain.toward"))} &nbsp; {sw.format(rgb=palette.neg_rgb())} '
                f'{html.escape(t("course.explain.against"))}</div>')

    _picture(draw, t("course.explain.picture"))


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

    def draw() -> None:
        import numpy as np
        import plotly.graph_objects as go

        sizes = np.logspace(4, 9, 6)
        losses = cm.power_law(sizes, a=5.0, exponent=shown)
        line = np.logspace(4, 9, 40)
        fig = go.Figure(go.Scatter(x=line, y=cm.power_law(line, a=5.0, exponent=shown), mode="lines",
                                   line=dict(color=BLUE), hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=sizes, y=losses, mode="markers", marker=dict(size=9, color=ORANGE),
                                 hovertemplate="%{x:.2s} → %{y:.3f}<extra></extra>"))
        axis_title = t(f"course.scale.axis_{axis or 'params'}")
        _layout(fig, t("course.scale.chart_title", e=f"{shown:.3f}"), xaxis=dict(type="log", title=axis_title),
                yaxis=dict(type="log", title=t("course.scale.axis_loss")))
        _chart(fig, "scale")

    _picture(draw, t("course.scale.picture", f=f"{cm.tenfold_factor(shown):.3f}"))


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

    def draw() -> None:
        import numpy as np
        import plotly.graph_objects as go

        w = cm.example_weights(2000)
        cut = cm.prune_threshold(w, shown)
        bins = dict(start=-0.2, end=0.2, size=0.008)
        fig = go.Figure()
        fig.add_trace(go.Histogram(x=w[np.abs(w) >= cut], xbins=bins, marker_color=palette.pos(),
                                   name=t("course.pruning.kept")))
        fig.add_trace(go.Histogram(x=w[np.abs(w) < cut], xbins=bins, marker_color=palette.neg(),
                                   name=t("course.pruning.removed")))
        for x in (-cut, cut):
            if cut > 0:
                fig.add_vline(x=x, line_dash="dash", line_color="#374151")
        _layout(fig, t("course.pruning.chart_title", pct=_pct(shown)), barmode="stack", showlegend=True,
                legend=_LEGEND, xaxis=dict(title=t("course.pruning.axis_weight")))
        _chart(fig, "pruning")

    _picture(draw, t("course.pruning.picture"))


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

    def draw() -> None:
        import numpy as np
        import plotly.graph_objects as go

        x = cm.as_array(weights)
        if x.size > 300:
            x = np.random.default_rng(0).choice(x, 300, replace=False)
        fig = go.Figure(go.Scatter(x=[lo, hi], y=[qmin, qmax], mode="lines", line=dict(color=GREY, dash="dot"),
                                   hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=cm.quantize(x, scale, zero, use_bits), mode="markers",
                                 marker=dict(size=6, color=BLUE),
                                 hovertemplate="x = %{x:.4f} → q = %{y}<extra></extra>"))
        fig.add_hline(y=zero, line_dash="dash", line_color=ORANGE,
                      annotation_text=t("course.quantization.zero_line", z=zero), annotation_position="top left")
        fig.add_vline(x=0, line_color="#d1d5db")
        _layout(fig, t("course.quantization.chart_title", s=f"{scale:.3g}", z=zero),
                xaxis=dict(title=t("course.quantization.axis_x")),
                yaxis=dict(title=t("course.quantization.axis_y", bits=use_bits), range=[qmin - 12, qmax + 12]))
        _chart(fig, "quantization")

    _picture(draw, t("course.quantization.picture"))


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

    def draw() -> None:
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_trace(go.Bar(x=list(TEACHER_CLASSES), y=p1, name="T = 1", marker_color=GREY,
                             text=[_pct(p) for p in p1], textposition="outside", cliponaxis=False))
        fig.add_trace(go.Bar(x=list(TEACHER_CLASSES), y=pt, name=f"T = {_g(shown)}", marker_color=ORANGE,
                             text=[_pct(p) for p in pt], textposition="outside", cliponaxis=False))
        _layout(fig, t("course.distillation.chart_title", t=_g(shown)), barmode="group", showlegend=True,
                legend=_LEGEND, yaxis=dict(range=[0, 1.15], tickformat=".0%"),
                xaxis=dict(title=t("course.distillation.axis_x")))
        _chart(fig, "distillation")

    _picture(draw, t("course.distillation.picture"))


def _deployment(live: _Live) -> None:
    model = live.text("model")
    params = live.whole("params", 1)
    lines = []
    if model:
        lines.append(t("course.deployment.live.model", model=model))
    if params:
        lines.append(t("course.deployment.live.params", params=_n(params), mb=f"{cm.model_megabytes(params):.1f}"))
    _live(lines)

    def draw() -> None:
        _flow([_box("🧠 " + t("course.deployment.step.model"), model or "PyTorch", BLUE),
               _box("📦 ONNX", "model.onnx", ORANGE),
               _box("🌐 REST API", "POST /predict", PURPLE),
               _box("📱 " + t("course.deployment.step.app"), t("course.deployment.step.app_sub"), palette.pos())])

    _picture(draw, t("course.deployment.picture"))


_TOPICS: dict[str, Callable[[_Live], None]] = {
    "data": _data, "forward_loss_gd": _forward_loss_gd, "distributed": _distributed, "rnn": _rnn,
    "attention": _attention, "convolution": _convolution, "pretraining": _pretraining, "embeddings": _embeddings,
    "explain": _explain, "scale": _scale, "pruning": _pruning, "quantization": _quantization,
    "distillation": _distillation, "deployment": _deployment,
}
assert set(_TOPICS) == set(TOPICS)
