"""Plotly figure builders for the pages (data in, figure out; no Streamlit calls)."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320, template="plotly_white")
GREEN, RED, BLUE, ORANGE = "#16a34a", "#dc2626", "#2563eb", "#ea580c"


def class_balance(counts: dict[str, int]) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker_color=BLUE, text=list(counts.values())))
    return fig.update_layout(title="Examples per class", xaxis_title="class", yaxis_title="examples", **_LAYOUT)


def length_histogram(words_per_text: Sequence[int]) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(words_per_text), nbinsx=40, marker_color=BLUE))
    return fig.update_layout(title="Text length", xaxis_title="words per text", yaxis_title="texts", **_LAYOUT)


def smooth(values: Sequence[float], alpha: float = 0.1) -> list[float]:
    """Exponential moving average (TensorBoard-style) so the trend shows through batch noise."""
    out, avg = [], None
    for v in values:
        avg = v if avg is None else alpha * v + (1 - alpha) * avg
        out.append(avg)
    return out


MAX_POINTS = 600  # a live chart with more points costs the server and the browser time every second


def step_loss(steps: Sequence[int], losses: Sequence[float]) -> go.Figure:
    """Loss per batch (faint) and its moving average; long runs are thinned to MAX_POINTS points."""
    smoothed = smooth(losses)
    every = max(1, -(-len(steps) // MAX_POINTS))
    keep = list(range(0, len(steps), every))
    if keep and keep[-1] != len(steps) - 1:
        keep.append(len(steps) - 1)  # always show the latest step
    x = [steps[i] for i in keep]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[losses[i] for i in keep], name="loss per batch", mode="lines",
                             line=dict(color=BLUE, width=1), opacity=0.35))
    fig.add_trace(go.Scatter(x=x, y=[smoothed[i] for i in keep], name="smoothed", mode="lines",
                             line=dict(color=BLUE, width=3)))
    return fig.update_layout(title="Training loss, batch by batch", xaxis_title="step", yaxis_title="loss", **_LAYOUT)


def epoch_curves(epochs: list[dict], metric: str) -> go.Figure:
    """Train vs validation `metric` ('loss' or 'accuracy') per epoch."""
    fig = go.Figure()
    for prefix, colour in (("train", BLUE), ("val", ORANGE)):
        key = f"{prefix}_{metric}"
        pts = [(e["epoch"], e[key]) for e in epochs if e.get(key) is not None]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name="training" if prefix == "train" else "validation", line=dict(color=colour)))
    fig.update_layout(title=f"{metric.capitalize()} per epoch", xaxis_title="epoch", yaxis_title=metric, **_LAYOUT)
    return fig.update_xaxes(dtick=1)


def confusion(matrix: list[list[int]], class_names: list[str]) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=matrix, x=class_names, y=class_names, colorscale="Blues", text=matrix,
                               texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title="Confusion matrix (validation)", xaxis_title="predicted", yaxis_title="true", **_LAYOUT)
    return fig.update_yaxes(autorange="reversed")


def probabilities(probs: dict[str, float]) -> go.Figure:
    names = list(probs)
    best = max(probs, key=probs.get)
    fig = go.Figure(go.Bar(x=[probs[n] for n in names], y=names, orientation="h", text=[f"{probs[n]:.0%}" for n in names],
                           marker_color=[GREEN if n == best else "#9ca3af" for n in names]))
    fig.update_layout(title="Probability of each class", xaxis=dict(range=[0, 1], tickformat=".0%"),
                      **{**_LAYOUT, "height": 80 + 40 * len(names)})
    return fig


def word_weights(pairs: list[tuple[str, float]], class_name: str, method: str = "LIME") -> go.Figure:
    pairs = list(reversed(pairs))  # strongest at the top
    fig = go.Figure(go.Bar(x=[w for _, w in pairs], y=[f"{t} " for t, _ in pairs], orientation="h",
                           marker_color=[GREEN if w > 0 else RED for _, w in pairs]))
    return fig.update_layout(title=f"Top words for '{class_name}' ({method} weight)", xaxis_title="weight",
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
                               colorbar=dict(title="attention", len=0.8),
                               hovertemplate="'%{customdata[0]}' looks at '%{customdata[1]}': %{z:.2f}<extra></extra>"))
    fig.update_layout(title=title, **{**_LAYOUT, "height": max(320, 160 + 26 * n)})
    fig.update_xaxes(tickvals=list(range(n)), ticktext=labels, title="looked at", tickangle=-45, side="bottom")
    return fig.update_yaxes(tickvals=list(range(n)), ticktext=labels, title="looking word", autorange="reversed")


def image_overlay(image, heatmap, title: str, signed: bool) -> go.Figure:
    """The model's input in grey with an explanation heat map over it and a colour bar as legend.

    Signed maps (LIME, Integrated Gradients): green pushes toward the class, red away from it.
    Unsigned maps (saliency): brighter = the prediction is more sensitive to that pixel.
    """
    import numpy as np

    grey = image.mean(axis=2) if image.ndim == 3 else image
    fig = go.Figure(go.Heatmap(z=grey, colorscale="gray", showscale=False, hoverinfo="skip"))
    if signed:
        scale = [[0, RED], [0.5, "rgba(255,255,255,0)"], [1, GREEN]]
        bar = dict(title="toward ↔ against", tickvals=[-1, 0, 1], ticktext=["against", "0", "toward"])
        zmin, zmax = -1, 1
    else:
        scale = [[0, "rgba(255,200,0,0)"], [1, "rgba(255,140,0,1)"]]
        bar = dict(title="sensitivity", tickvals=[0, 1], ticktext=["low", "high"])
        zmin, zmax = 0, 1
    fig.add_trace(go.Heatmap(z=np.asarray(heatmap), colorscale=scale, zmin=zmin, zmax=zmax, opacity=0.75,
                             colorbar={**bar, "len": 0.8}, hovertemplate="weight %{z:.2f}<extra></extra>"))
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
    fig.update_layout(title=f"{metric_label.capitalize()} by {x_label}", xaxis_title=x_label, yaxis_title=metric_label,
                      legend={"orientation": "h", "y": -0.25}, **{**_LAYOUT, "height": 380})
    if whole_x and max((max(c["x"], default=0) for c in curves), default=0) <= 20:
        fig.update_xaxes(dtick=1)  # no epoch 1.5
    return fig.update_yaxes(type="log") if log_y else fig
