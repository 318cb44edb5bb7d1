"""The download step shared by text and image corpora: size first, a button, a progress bar."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from ui.feedback import guarded


def download_if_needed(info: dict, key: str, download: Callable[[Callable[[int, int | None], None]], object]) -> None:
    """Show size and licence; if the corpus is not cached, offer a Download button and stop until pressed."""
    st.write(info["description"])
    st.caption(f"Download size about {info['size_bytes'] / 1e6:.1f} MB · {info['license']}")
    if info["cached"]:
        return
    st.warning("Not on this computer yet. Downloading needs an internet connection.", icon="🌐")
    if not st.button(f"Download {info['title']} ({info['size_bytes'] / 1e6:.1f} MB)", key=key):
        st.stop()
    bar = st.progress(0.0, text="Starting the download…")

    def progress(done: int, total: int | None) -> None:
        frac = done / total if total else 0.0
        bar.progress(min(frac, 1.0), text=f"Downloaded {done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else ""))

    with guarded():
        download(progress)
    bar.progress(1.0, text="Downloaded and verified.")
