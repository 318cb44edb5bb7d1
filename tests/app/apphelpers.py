"""Shared by the AppTest files: the small configs they train with, and readers of what a page shows."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

# Small enough that a page renders and a model trains in about a second on a 2-core machine.
SMALL_DATA = {"spec": "builtin:synthetic_reviews", "max_rows": 600}
SMALL_MODEL = {"name": "lstm", "params": {"embed_dim": 16, "hidden": 16}}
SMALL_TRAIN = {"epochs": 1, "batch_size": 32}


def progress_text(at: AppTest) -> str | None:
    bars = at.get("progress")
    return bars[0].proto.text if bars else None


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly charts on the page by their widget key, as plotly JSON (AppTest has no plotly element class)."""
    out = {}
    for el in at.get("plotly_chart"):
        key = el.proto.id.split("-", 2)[-1]  # "$$ID-<hash>-<key>"
        out[key] = json.loads(el.proto.spec)
    return out


def texts(elements) -> list[str]:
    """The text of every element in an AppTest ElementList (st.error, st.info, st.markdown, ...)."""
    return [e.value for e in elements]


def plotly_array(value) -> "np.ndarray":
    """A plotly JSON array as numpy: plotly sends numpy data as {"dtype", "bdata" (base64), "shape"}."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = [int(s) for s in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value)
