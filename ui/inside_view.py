"""Inside the CNN, drawn: layer flow, learned filters as image grids, and feature maps per layer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ui.i18n import t, tr

MAX_MAPS = 16  # maps shown per layer; wider layers are cut with a note
# Layer kinds with an English name of their own (the rest are PyTorch's class names: Conv2d, ReLU, ...)
NAMED_KINDS = {"Shortcut": "inside.kind.shortcut", "Residual add + ReLU": "inside.kind.residual_add"}
FLOW_COLUMNS = {"layer": "inside.flow.layer", "type": "inside.flow.type", "output shape": "inside.flow.shape",
                "parameters": "inside.flow.parameters"}


def to_grey(a: np.ndarray, size: int = 64) -> np.ndarray:
    """Scale any 2-D array to 0..255 and enlarge it with crisp blocks for display."""
    lo, hi = float(a.min()), float(a.max())
    g = np.zeros_like(a, dtype=np.uint8) if hi - lo < 1e-9 else ((a - lo) / (hi - lo) * 255).astype(np.uint8)
    factor = max(1, size // max(a.shape))
    return np.kron(g, np.ones((factor, factor), dtype=np.uint8))


def kind_name(kind: str) -> str:
    """A layer kind as shown: PyTorch's name (a code name, kept), or the translated name of a residual part."""
    return t(NAMED_KINDS[kind]) if kind in NAMED_KINDS else kind


def show_flow(flow: list[dict]) -> None:
    table = pd.DataFrame(flow)
    if "type" in table:
        table["type"] = table["type"].map(kind_name)
    if "layer" in table:
        table["layer"] = table["layer"].map(tr)
    st.dataframe(table.rename(columns={c: t(k) for c, k in FLOW_COLUMNS.items()}), hide_index=True, width="stretch")
    st.caption(t("inside.flow.caption"))


def show_filters(filters: list[dict], explain: dict[str, str]) -> None:
    st.caption(tr(explain.get("Conv2d", "")))
    for f in filters:
        w = f["weights"]  # (out, in, k, k)
        st.markdown(t("inside.filters.head", layer=f["layer"], n=w.shape[0], h=w.shape[2], w=w.shape[3],
                      inputs=w.shape[1], params=f"{f['parameters']:,}"))
        shown = w[:MAX_MAPS].mean(axis=1)  # average over input maps: one picture per filter
        st.image([to_grey(k, 48) for k in shown], caption=[f"#{i}" for i in range(len(shown))], width=48)
    st.caption(t("inside.filters.caption"))


def show_maps(maps: list[dict], explain: dict[str, str]) -> None:
    st.caption(t("inside.maps.caption"))
    for row in maps:
        m = row["maps"]
        head = t("inside.maps.head", layer=tr(row["layer"]), kind=kind_name(row["type"]),
                 shape=" × ".join(map(str, row["shape"])))
        if row["parameters"]:
            head += t("inside.maps.params", params=f"{row['parameters']:,}")
        st.markdown(head)
        if row["type"] in explain:
            st.caption(tr(explain[row["type"]]))
        if m.ndim == 3:
            st.image([to_grey(x) for x in m[:MAX_MAPS]], width=64,
                     caption=[t("inside.maps.map_n", n=i) for i in range(min(len(m), MAX_MAPS))])
            if m.shape[0] > MAX_MAPS:
                st.caption(t("inside.maps.cut", shown=MAX_MAPS, total=m.shape[0]))
        else:
            st.bar_chart(pd.DataFrame({t("inside.maps.value"): m[:256]}), height=140)
            st.caption(t("inside.maps.flat_caption"))
