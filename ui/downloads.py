"""The download step shared by text and image corpora: size first, a button, a progress bar."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.feedback import guarded
from ui.i18n import t, tr


def download_if_needed(info: dict, key: str, download: Callable[[Callable[[int, int | None], None]], object]) -> None:
    """Show size and licence; if the corpus is not cached, offer a Download button and stop until pressed."""
    st.write(tr(info["description"]))
    st.caption(t("widgets.download.size", mb=info["size_bytes"] / 1e6, license=tr(info["license"])))
    if info["cached"]:
        return
    st.warning(t("widgets.download.not_here"), icon="🌐")
    if not st.button(t("widgets.download.button", title=tr(info["title"]), mb=info["size_bytes"] / 1e6), key=key,
                     help=t("widgets.download.button_help")):
        st.stop()
    bar = st.progress(0.0, text=t("widgets.download.starting"))

    def progress(done: int, total: int | None) -> None:
        frac = done / total if total else 0.0
        text = (t("widgets.download.progress_of", done=done / 1e6, total=total / 1e6) if total
                else t("widgets.download.progress", done=done / 1e6))
        bar.progress(min(frac, 1.0), text=text)

    with guarded():
        download(progress)
    bar.progress(1.0, text=t("widgets.download.done"))
