"""Figures for the Embeddings page: the word map (2-D/3-D) and the per-epoch Word2Vec loss."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui.charts import _LAYOUT, BLUE, GREEN, ORANGE, RED


def word_map(result: dict, highlight: str = "", neighbours: list[str] = (), marked: list[str] = ()) -> go.Figure:
    """Words as points; colour = class lean (green toward the second class, red toward the first).

    `highlight` and its `neighbours` are joined by lines; `marked` (searched words) stand out in orange.
    """
    coords = np.asarray(result["coords"])
    words = result["words"]
    lean = np.asarray(result.get("lean") or [0.0] * len(words))
    scale = float(np.abs(lean).max()) or 1.0
    classes = result.get("lean_classes") or ["", ""]
    colour_title = f"leans to {classes[-1]} ↔ {classes[0]}" if len(classes) == 2 else "class lean"
    marker = dict(size=4, color=lean, cmin=-scale, cmax=scale, colorscale=[[0, RED], [0.5, "#d1d5db"], [1, GREEN]],
                  colorbar=dict(title=colour_title, len=0.7))
    three = coords.shape[1] == 3
    scatter = go.Scatter3d if three else go.Scatter
    axes = dict(x=coords[:, 0], y=coords[:, 1], **({"z": coords[:, 2]} if three else {}))
    fig = go.Figure(scatter(mode="markers", marker=marker, text=words, hovertemplate="%{text}<extra></extra>",
                            name="words", **axes))
    index = {w: i for i, w in enumerate(words)}
    if highlight in index:
        i = index[highlight]
        pts = [i] + [index[w] for w in neighbours if w in index]
        for j in pts[1:]:  # a line from the chosen word to each of its neighbours on the map
            line = dict(x=coords[[i, j], 0], y=coords[[i, j], 1], **({"z": coords[[i, j], 2]} if three else {}))
            fig.add_trace(scatter(mode="lines", line=dict(color=BLUE, width=2), hoverinfo="skip", showlegend=False, **line))
        sel = dict(x=coords[pts, 0], y=coords[pts, 1], **({"z": coords[pts, 2]} if three else {}))
        fig.add_trace(scatter(mode="markers+text", text=[words[p] for p in pts], marker=dict(size=8, color=BLUE),
                              textposition="top center", name=f"'{highlight}' and neighbours", **sel))
    found = [index[w] for w in marked if w in index]
    if found:
        sel = dict(x=coords[found, 0], y=coords[found, 1], **({"z": coords[found, 2]} if three else {}))
        fig.add_trace(scatter(mode="markers+text", text=[words[p] for p in found], textposition="top center",
                              marker=dict(size=10, color=ORANGE, symbol="diamond"), textfont=dict(color=ORANGE),
                              name="searched words", hovertemplate="%{text}<extra></extra>", **sel))
    return fig.update_layout(title=f"Word map ({result['method'].upper()}, {len(words)} words)",
                             **{**_LAYOUT, "height": 560})


def loss_per_epoch(epochs: list[int], losses: list[float]) -> go.Figure:
    fig = go.Figure(go.Scatter(x=epochs, y=losses, mode="lines+markers", line=dict(color=BLUE)))
    fig.update_layout(title="Word2Vec training loss per epoch", xaxis_title="epoch", yaxis_title="loss", **_LAYOUT)
    return fig.update_xaxes(dtick=1)
