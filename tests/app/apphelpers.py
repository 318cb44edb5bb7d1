"""Reading what a page shows from an AppTest: progress text, plotly charts by key, texts of alerts."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


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
