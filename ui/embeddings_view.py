"""Figures for the Embeddings page: the word map (2-D/3-D) and the per-epoch Word2Vec loss."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui import palette
from ui.charts import _LAYOUT, BLUE, ORANGE
from ui.i18n import t

# The chosen word's neighbours and the searched words: colours that stand apart from the class-lean scale
MARKS = {"standard": {"neighbours": BLUE, "searched": ORANGE},
         "colourblind": {"neighbours": "#000000", "searched": "#cc79a7"}}  # black; Okabe & Ito's reddish purple


def word_map(result: dict, highlight: str = "", neighbours: list[str] = (), marked: list[str] = ()) -> go.Figure:
    """Words as points; colour = class lean (toward the second class, or toward the first: ui.palette's colours).

    `highlight` and its `neighbours` are joined by lines; `marked` (searched words) stand out as diamonds.
    """
    marks = MARKS[palette.name()]
    coords = np.asarray(result["coords"])
    words = result["words"]
    lean = np.asarray(result.get("lean") or [0.0] * len(words))
    scale = float(np.abs(lean).max()) or 1.0
    classes = result.get("lean_classes") or ["", ""]
    colour_title = (t("embeddings.map.lean", a=classes[-1], b=classes[0]) if len(classes) == 2
                    else t("embeddings.map.lean_any"))
    marker = dict(size=4, color=lean, cmin=-scale, cmax=scale, colorscale=palette.diverging(),
                  colorbar=dict(title=colour_title, len=0.7))
    three = coords.shape[1] == 3
    scatter = go.Scatter3d if three else go.Scatter
    axes = dict(x=coords[:, 0], y=coords[:, 1], **({"z": coords[:, 2]} if three else {}))
    fig = go.Figure(scatter(mode="markers", marker=marker, text=words, hovertemplate="%{text}<extra></extra>",
                            name=t("embeddings.map.words"), **axes))
    index = {w: i for i, w in enumerate(words)}
    if highlight in index:
        i = index[highlight]
        pts = [i] + [index[w] for w in neighbours if w in index]
        for j in pts[1:]:  # a line from the chosen word to each of its neighbours on the map
            line = dict(x=coords[[i, j], 0], y=coords[[i, j], 1], **({"z": coords[[i, j], 2]} if three else {}))
            fig.add_trace(scatter(mode="lines", line=dict(color=marks["neighbours"], width=2), hoverinfo="skip",
                                  showlegend=False, **line))
        sel = dict(x=coords[pts, 0], y=coords[pts, 1], **({"z": coords[pts, 2]} if three else {}))
        fig.add_trace(scatter(mode="markers+text", text=[words[p] for p in pts],
                              marker=dict(size=8, color=marks["neighbours"]), textposition="top center",
                              name=t("embeddings.map.neighbours_trace", word=highlight), **sel))
    found = [index[w] for w in marked if w in index]
    if found:
        sel = dict(x=coords[found, 0], y=coords[found, 1], **({"z": coords[found, 2]} if three else {}))
        fig.add_trace(scatter(mode="markers+text", text=[words[p] for p in found], textposition="top center",
                              marker=dict(size=10, color=marks["searched"], symbol="diamond"),
                              textfont=dict(color=marks["searched"]), name=t("embeddings.map.searched_trace"),
                              hovertemplate="%{text}<extra></extra>", **sel))
    return fig.update_layout(title=t("embeddings.map.chart_title", method=result["method"].upper(), n=len(words)),
                             **{**_LAYOUT, "height": 560})


def loss_per_epoch(epochs: list[int], losses: list[float]) -> go.Figure:
    fig = go.Figure(go.Scatter(x=epochs, y=losses, mode="lines+markers", line=dict(color=BLUE)))
    fig.update_layout(title=t("embeddings.loss.title"), xaxis_title=t("embeddings.loss.x"),
                      yaxis_title=t("embeddings.loss.y"), **_LAYOUT)
    return fig.update_xaxes(dtick=1)
