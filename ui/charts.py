"""Plotly figure builders for the pages (data in, figure out; no Streamlit calls but the session's language
and colours). Titles, axes and legends come from assets/locales/*/charts.json."""
from __future__ import annotations

import copy
import functools
import math
from typing import Optional, Sequence

import plotly.graph_objects as go

from ui import palette
from ui.i18n import t

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320, template="plotly_white")
GREEN, RED, BLUE, ORANGE = "#16a34a", "#dc2626", "#2563eb", "#ea580c"  # GREEN/RED: palette.pos()/neg() instead


def class_balance(counts: dict[str, int]) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker_color=BLUE, text=list(counts.values())))
    return fig.update_layout(title=t("charts.balance.title"), xaxis_title=t("charts.balance.x"),
                             yaxis_title=t("charts.balance.y"), **_LAYOUT)


def length_histogram(words_per_text: Sequence[int]) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(words_per_text), nbinsx=40, marker_color=BLUE))
    return fig.update_layout(title=t("charts.lengths.title"), xaxis_title=t("charts.lengths.x"),
                             yaxis_title=t("charts.lengths.y"), **_LAYOUT)


def smooth(values: Sequence[float], alpha: float = 0.1) -> list[float]:
    """Exponential moving average (TensorBoard-style) so the trend shows through batch noise."""
    out, avg = [], None
    for v in values:
        avg = v if avg is None else alpha * v + (1 - alpha) * avg
        out.append(avg)
    return out


MAX_POINTS = 600  # a live chart with more points costs the server and the browser time every second


def _thin(n: int) -> list[int]:
    """At most about MAX_POINTS of n positions, evenly spaced, always with the latest."""
    every = max(1, -(-n // MAX_POINTS))
    keep = list(range(0, n, every))
    if keep and keep[-1] != n - 1:
        keep.append(n - 1)  # always show the latest step
    return keep


def step_loss(steps: Sequence[int], losses: Sequence[float]) -> go.Figure:
    """Loss per batch (faint) and its moving average; long runs are thinned to MAX_POINTS points."""
    smoothed = smooth(losses)
    keep = _thin(len(steps))
    x = [steps[i] for i in keep]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[losses[i] for i in keep], name=t("charts.steps.raw"), mode="lines",
                             line=dict(color=BLUE, width=1), opacity=0.35))
    fig.add_trace(go.Scatter(x=x, y=[smoothed[i] for i in keep], name=t("charts.steps.smoothed"), mode="lines",
                             line=dict(color=BLUE, width=3)))
    return fig.update_layout(title=t("charts.steps.title"), xaxis_title=t("charts.steps.x"),
                             yaxis_title=t("charts.steps.y"), **_LAYOUT)


# one colour per layer: Okabe & Ito's colour-blind-safe set first, then more distinct ones (12 layers at most)
LAYER_COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
                 "#7c3aed", "#6b7280", "#0891b2", "#be123c"]


def layer_grad_norms(steps: Sequence[int], layers: dict[str, Sequence[Optional[float]]]) -> go.Figure:
    """Each layer's gradient norm against the step, one line per layer, on a log scale (layers differ by
    orders of magnitude); long runs are thinned to MAX_POINTS points. Redrawn every second while a run
    trains, so it is built as plain data (plotly's validation of a dozen lines took a tenth of a second)."""
    keep = _thin(len(steps))
    x = [steps[j] for j in keep]
    hover = "%{fullData.name}<br>" + t("charts.grad.x") + " %{x}: %{y:.3g}<extra></extra>"
    data = []
    for i, (name, values) in enumerate(layers.items()):
        y = [values[j] if values[j] is not None and math.isfinite(values[j]) and values[j] > 0 else None for j in keep]
        data.append({"type": "scatter", "x": x, "y": y, "mode": "lines", "name": name, "connectgaps": True,
                     "line": {"color": LAYER_COLOURS[i % len(LAYER_COLOURS)], "width": 2}, "hovertemplate": hover})
    layout = {**_LAYOUT, "template": _template(), "title": {"text": t("charts.grad.title")},
              "xaxis": {"title": {"text": t("charts.grad.x")}},
              "yaxis": {"title": {"text": t("charts.grad.y")}, "type": "log"}}
    return go.Figure({"data": data, "layout": layout}, _validate=False)


@functools.lru_cache(maxsize=1)
def _plain_template() -> dict:
    import plotly.io as pio

    return pio.templates[_LAYOUT["template"]].to_plotly_json()


def _template() -> dict:
    return copy.deepcopy(_plain_template())


def epoch_curves(epochs: list[dict], metric: str) -> go.Figure:
    """Train vs validation `metric` ('loss' or 'accuracy') per epoch."""
    fig = go.Figure()
    for prefix, colour in (("train", BLUE), ("val", ORANGE)):
        key = f"{prefix}_{metric}"
        pts = [(e["epoch"], e[key]) for e in epochs if e.get(key) is not None]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name=t(f"charts.epochs.{prefix}"), line=dict(color=colour)))
    known = metric in ("loss", "accuracy")
    fig.update_layout(title=t(f"charts.epochs.title.{metric}") if known else
                      t("charts.epochs.title.other", metric=metric.capitalize()),
                      xaxis_title=t("charts.epochs.x"), yaxis_title=t(f"charts.epochs.y.{metric}") if known else metric,
                      **_LAYOUT)
    return fig.update_xaxes(dtick=1)


def confusion(matrix: list[list[int]], class_names: list[str]) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=matrix, x=class_names, y=class_names, colorscale="Blues", text=matrix,
                               texttemplate="%{text}", hovertemplate=t("charts.confusion.hover")))
    fig.update_layout(title=t("charts.confusion.title"), xaxis_title=t("charts.confusion.x"),
                      yaxis_title=t("charts.confusion.y"), **_LAYOUT)
    return fig.update_yaxes(autorange="reversed")


def probabilities(probs: dict[str, float]) -> go.Figure:
    names = list(probs)
    best = max(probs, key=probs.get)
    fig = go.Figure(go.Bar(x=[probs[n] for n in names], y=names, orientation="h", text=[f"{probs[n]:.0%}" for n in names],
                           marker_color=[palette.pos() if n == best else "#9ca3af" for n in names]))
    fig.update_layout(title=t("charts.probabilities.title"), xaxis=dict(range=[0, 1], tickformat=".0%"),
                      **{**_LAYOUT, "height": 80 + 40 * len(names)})
    return fig


def word_weights(pairs: list[tuple[str, float]], class_name: str, method: str = "LIME") -> go.Figure:
    pairs = list(reversed(pairs))  # strongest at the top
    fig = go.Figure(go.Bar(x=[w for _, w in pairs], y=[f"{t} " for t, _ in pairs], orientation="h",
                           marker_color=[palette.pos() if w > 0 else palette.neg() for _, w in pairs]))
    return fig.update_layout(title=t("charts.words.title", name=class_name, method=method),
                             xaxis_title=t("charts.words.x"),
                             **{**_LAYOUT, "height": 120 + 28 * len(pairs)})


def attention_heatmap(tokens: Sequence[str], matrix, title: str) -> go.Figure:
    """Word-by-word attention: row = the word that looks, column = the word it looks at.

    Positions, not words, are the axes (a sentence may hold the same word twice); the words
    are the tick labels.
    """
    n = len(tokens)
    labels = [f"{t} " for t in tokens]
    fig = go.Figure(go.Heatmap(z=[[float(v) for v in row] for row in matrix], x=list(range(n)), y=list(range(n)),
                               colorscale="Blues", zmin=0,
                               customdata=[[(tokens[i], tokens[j]) for j in range(n)] for i in range(n)],
                               colorbar=dict(title=t("charts.attention.bar"), len=0.8),
                               hovertemplate=t("charts.attention.hover")))
    fig.update_layout(title=title, **{**_LAYOUT, "height": max(320, 160 + 26 * n)})
    fig.update_xaxes(tickvals=list(range(n)), ticktext=labels, title=t("charts.attention.x"), tickangle=-45,
                     side="bottom")
    return fig.update_yaxes(tickvals=list(range(n)), ticktext=labels, title=t("charts.attention.y"),
                            autorange="reversed")


def image_overlay(image, heatmap, title: str, signed: bool) -> go.Figure:
    """The model's input in grey with an explanation heat map over it and a colour bar as legend.

    Signed maps (LIME, Integrated Gradients): green pushes toward the class, red away from it.
    Unsigned maps (saliency): brighter = the prediction is more sensitive to that pixel.
    """
    import numpy as np

    grey = image.mean(axis=2) if image.ndim == 3 else image
    fig = go.Figure(go.Heatmap(z=grey, colorscale="gray", showscale=False, hoverinfo="skip"))
    if signed:
        scale = [[0, palette.neg()], [0.5, "rgba(255,255,255,0)"], [1, palette.pos()]]
        bar = dict(title=t("charts.overlay.signed"), tickvals=[-1, 0, 1],
                   ticktext=[t("charts.overlay.against"), "0", t("charts.overlay.toward")])
        zmin, zmax = -1, 1
    else:
        scale = [[0, "rgba(255,200,0,0)"], [1, "rgba(255,140,0,1)"]]
        bar = dict(title=t("charts.overlay.sensitivity"), tickvals=[0, 1],
                   ticktext=[t("charts.overlay.low"), t("charts.overlay.high")])
        zmin, zmax = 0, 1
    fig.add_trace(go.Heatmap(z=np.asarray(heatmap), colorscale=scale, zmin=zmin, zmax=zmax, opacity=0.75,
                             colorbar={**bar, "len": 0.8}, hovertemplate=t("charts.overlay.hover")))
    fig.update_layout(title=title, **{**_LAYOUT, "height": 300})
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    return fig.update_xaxes(visible=False)


def top_classes(top: list[tuple[str, float]]) -> go.Figure:
    return probabilities(dict(reversed(top)))


RUN_COLOURS = [BLUE, ORANGE, GREEN, RED, "#7c3aed", "#0891b2"]  # one per compared run (at most 6)


def run_overlay(curves: list[dict], metric_label: str, x_label: str, log_y: bool = False,
                whole_x: bool = False) -> go.Figure:
    """One line per run of a metric against epoch, step or time (compare.overlay's curves); `whole_x`: epochs."""
    fig = go.Figure()
    for i, curve in enumerate(curves):
        fig.add_trace(go.Scatter(x=list(curve["x"]), y=list(curve["y"]), mode="lines+markers", name=curve["name"],
                                 line={"color": RUN_COLOURS[i % len(RUN_COLOURS)], "width": 2},
                                 hovertemplate="%{fullData.name}<br>" + x_label + " %{x}: %{y:.4g}<extra></extra>"))
    fig.update_layout(title=t("charts.runs.title", metric=metric_label.capitalize(), x=x_label), xaxis_title=x_label,
                      yaxis_title=metric_label,
                      legend={"orientation": "h", "y": -0.25}, **{**_LAYOUT, "height": 380})
    if whole_x and max((max(c["x"], default=0) for c in curves), default=0) <= 20:
        fig.update_xaxes(dtick=1)  # no epoch 1.5
    return fig.update_yaxes(type="log") if log_y else fig
