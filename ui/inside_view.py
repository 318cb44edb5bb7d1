"""Inside the CNN, drawn: layer flow, learned filters as image grids, and feature maps per layer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

MAX_MAPS = 16  # maps shown per layer; wider layers are cut with a note


def to_grey(a: np.ndarray, size: int = 64) -> np.ndarray:
    """Scale any 2-D array to 0..255 and enlarge it with crisp blocks for display."""
    lo, hi = float(a.min()), float(a.max())
    g = np.zeros_like(a, dtype=np.uint8) if hi - lo < 1e-9 else ((a - lo) / (hi - lo) * 255).astype(np.uint8)
    factor = max(1, size // max(a.shape))
    return np.kron(g, np.ones((factor, factor), dtype=np.uint8))


def show_flow(flow: list[dict]) -> None:
    st.dataframe(pd.DataFrame(flow), hide_index=True, width="stretch")


def show_filters(filters: list[dict], explain: dict[str, str]) -> None:
    st.caption(explain.get("Conv2d", ""))
    for f in filters:
        w = f["weights"]  # (out, in, k, k)
        st.markdown(f"**{f['layer']}** — {w.shape[0]} filters of {w.shape[2]}×{w.shape[3]} pixels over "
                    f"{w.shape[1]} input map(s), {f['parameters']:,} parameters")
        shown = w[:MAX_MAPS].mean(axis=1)  # average over input maps: one picture per filter
        st.image([to_grey(k, 48) for k in shown], caption=[f"#{i}" for i in range(len(shown))], width=48)


def show_maps(maps: list[dict], explain: dict[str, str]) -> None:
    for row in maps:
        m = row["maps"]
        head = f"**{row['layer']}** · {row['type']} · output {' × '.join(map(str, row['shape']))}"
        if row["parameters"]:
            head += f" · {row['parameters']:,} parameters"
        st.markdown(head)
        if row["type"] in explain:
            st.caption(explain[row["type"]])
        if m.ndim == 3:
            more = f" (first {MAX_MAPS} of {m.shape[0]})" if m.shape[0] > MAX_MAPS else ""
            st.image([to_grey(x) for x in m[:MAX_MAPS]], width=64,
                     caption=[f"map {i}" for i in range(min(len(m), MAX_MAPS))])
            if more:
                st.caption(f"Showing the first {MAX_MAPS} of {m.shape[0]} maps.")
        else:
            st.bar_chart(pd.DataFrame({"value": m[:256]}), height=140)
