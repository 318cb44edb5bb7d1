"""The course's small pictures: one function per topic, drawing its plotly chart or HTML diagram.

ui.course_topics calls these (through ui.course._picture, which keeps a failing picture from taking the page
with it) with the numbers it has already worked out from the live values. Every chart keeps its stable key
(course_<name>), and plotly is only imported when a picture is drawn.
"""
from __future__ import annotations

import html
import math
from typing import Any

import streamlit as st

import bigmodel_core.course as cm
from ui import palette
from ui.course import EXAMPLE_LOGITS, EXAMPLE_LR, EXPLAIN_WEIGHTS, TEACHER_CLASSES, _g, _n, _pct
from ui.i18n import lang, t

HEIGHT = 220
_LEGEND = dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom", font=dict(size=11))
GREY, BLUE, DARK_BLUE, ORANGE, PURPLE = "#9ca3af", "#2563eb", "#1e3a8a", "#ea580c", "#7c3aed"

# ---------------------------------------------------------------- pieces every picture uses


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


# ---------------------------------------------------------------- the pictures


def data(shown: dict[str, int]) -> None:
    """The split into train / validation / test as one stacked bar."""
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


def forward_loss_gd(path: list[tuple[float, float]], shown_lr: float) -> None:
    """Gradient descent walking down L(w) = w², and softmax turning the example scores into chances."""
    import numpy as np
    import plotly.graph_objects as go

    topic = "forward_loss_gd"

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


def distributed(n: int, slices: list[int], batch: int | None) -> None:
    """The batch cut into one slice per process, their gradients averaged into one shared step."""
    shown = list(range(min(n, 4)))
    boxes = [_box(t("course.distributed.process", k=k + 1), t("course.distributed.slice", m=slices[k]), BLUE)
             for k in shown]
    if n > len(shown):
        boxes.append(_box("…", t("course.distributed.more", n=n - len(shown)), GREY))
    grads = [_box(f"g{k + 1}", "", ORANGE) for k in shown]
    _flow([_box(t("course.distributed.batch"), _n(batch or 32), PURPLE), _column(boxes), _column(grads),
           _box(t("course.distributed.average"), "(g1 + … + gN) ÷ N", palette.pos()),
           _box(t("course.distributed.same_step"), "", palette.pos())])


def gate_diagram(cell: str, hidden: int | None) -> None:
    """The rnn topic's picture: what goes into the cell, its gates (if any), what comes out."""
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


def attention() -> None:
    """The example sentence's attention weights as a heatmap."""
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


def convolution(n_show: int, k_show: int, s_show: int, p_show: int, o_show: int) -> None:
    """The padded input with the first window, and the output it makes."""
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


def pretraining(model: str | None, n_train: int | None) -> None:
    """Corpus, pretrained model, labelled data, fine-tuned model."""
    _flow([_box("📚 " + t("course.pretraining.step.corpus"), t("course.pretraining.step.corpus_sub"), GREY),
           _box("🧠 " + t("course.pretraining.step.pretrained"), model or t("course.pretraining.step.pretrained_sub"),
                BLUE),
           _box("🏷️ " + t("course.pretraining.step.labelled"),
                _n(n_train) if n_train else t("course.pretraining.step.labelled_sub"), ORANGE),
           _box("🎯 " + t("course.pretraining.step.finetuned"), t("course.pretraining.step.finetuned_sub"),
                palette.pos())])


def embeddings() -> None:
    """king - man + woman ≈ queen: the same arrow twice."""
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


def explain() -> None:
    """The example sentence, each word coloured by how much it pushed the answer."""
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


def scale(shown: float, axis: str | None) -> None:
    """A power law on log-log axes."""
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


def pruning(shown: float) -> None:
    """The example weights' histogram, the smallest ones cut."""
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


def quantization(weights: Any, lo: float, hi: float, qmin: int, qmax: int, scale: float, zero: int,
                 use_bits: int) -> None:
    """Each weight against its integer code, with the zero point."""
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


def distillation(p1: Any, pt: Any, shown: float) -> None:
    """The teacher's chances at T = 1 and at the chosen T."""
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


def deployment(model: str | None) -> None:
    """Model, ONNX file, REST API, app."""
    _flow([_box("🧠 " + t("course.deployment.step.model"), model or "PyTorch", BLUE),
           _box("📦 ONNX", "model.onnx", ORANGE),
           _box("🌐 REST API", "POST /predict", PURPLE),
           _box("📱 " + t("course.deployment.step.app"), t("course.deployment.step.app_sub"), palette.pos())])
