"""Plotly figure builders for the Scaling page: a sweep's points on log-log axes and its fitted power law."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ui.i18n import t

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 420, "template": "plotly_white"}
BLUE, ORANGE, GREY = "#2563eb", "#ea580c", "#6b7280"
SYMBOLS = {"parameters": "N", "compute": "C", "train_examples": "D"}  # the usual letters of the scaling-law papers


def _usable(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def plottable(points: Sequence[dict], x_key: str) -> list[dict]:
    """The points that can sit on log-log axes: a positive x and a positive validation loss."""
    return [p for p in points if _usable(p.get(x_key)) and _usable(p.get("val_loss"))]


def fit_label(fit: dict, x_key: str) -> str:
    """'L = 3.2·N^−0.21 + 0.45, b = 0.21 ± 0.05' (no ± with exactly three points)."""
    sym = SYMBOLS.get(x_key, "x")
    b = f"b = {fit['b']:.2f}" + (f" ± {fit['b_stderr']:.2f}" if fit.get("b_stderr") is not None else "")
    return f"L = {fit['a']:.3g}·{sym}^−{fit['b']:.2f} + {fit['c']:.3f}, {b}"


def scaling_plot(points: Sequence[dict], x_key: str, x_label: str, fit: dict | None = None) -> go.Figure:
    """Validation loss against `x_key` for each trained point (trace 0), the fitted law and its floor c."""
    pts = plottable(points, x_key)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[p[x_key] for p in pts], y=[p["val_loss"] for p in pts], mode="markers+text", name=t("scaling.chart.runs"),
        text=[str(p.get("point") or "") for p in pts], textposition="top center",
        marker={"color": BLUE, "size": 11}, customdata=[p.get("run") for p in pts],
        hovertemplate="%{text}: %{x:,.3s} → " + t("scaling.chart.hover_loss")
                      + " %{y:.4f}<br>%{customdata}<extra></extra>"))
    if fit is not None and pts:
        xs = [p[x_key] for p in pts]
        grid = np.geomspace(min(xs) / 1.5, max(xs) * 1.5, 80)
        fig.add_trace(go.Scatter(x=grid, y=fit["a"] * np.power(grid, -fit["b"]) + fit["c"], mode="lines",
                                 name=t("scaling.chart.fit", law=fit_label(fit, x_key)),
                                 line={"color": ORANGE, "width": 2}))
        ys = [p["val_loss"] for p in pts]
        low, high = min(ys) / 1.15, max(ys) * 1.15
        if fit["c"] >= low:  # a floor far below the points would stretch the log axis over many decades
            fig.add_trace(go.Scatter(x=[grid[0], grid[-1]], y=[fit["c"], fit["c"]], mode="lines",
                                     name=t("scaling.chart.floor", c=f"{fit['c']:.3f}"),
                                     line={"color": GREY, "width": 1, "dash": "dash"}))
            low = min(low, fit["c"] / 1.05)
        fig.update_yaxes(range=[math.log10(low), math.log10(high)])  # the points fill the plot
    fig.update_layout(title=t("scaling.chart.title", x=x_label), xaxis_title=t("scaling.chart.x_title", x=x_label),
                      yaxis_title=t("scaling.chart.y_title"),
                      legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0}, **_LAYOUT)
    fig.update_xaxes(type="log")
    return fig.update_yaxes(type="log")
