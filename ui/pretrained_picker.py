"""The Model page's choice of pretrained weights: a suggested Hub model (downloaded only when asked,
with its size first and a progress bar) or a Hugging Face folder on this computer."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.models import DEFAULT_WEIGHTS, suggested_weights
from ui.feedback import guarded
from ui.i18n import t, tr

SOURCES = ("hub", "folder")


def weights_picker(current: str | None) -> str:
    """The weights setting the user chose (a Hub id or a folder path); downloads happen only on the button."""
    current = current or DEFAULT_WEIGHTS
    offered = suggested_weights()
    ids = [s["id"] for s in offered]
    labels = {s: t(f"model.weights.source.{s}") for s in SOURCES}
    source = st.radio(t("model.weights.source"), SOURCES, format_func=labels.get,
                      horizontal=True, index=0 if current in ids else 1, key="pretrained_source",
                      help=t("model.weights.source_help"))
    if source == "folder":
        path = st.text_input(t("model.weights.folder"), "" if current in ids else current, key="pretrained_folder",
                             placeholder="/path/to/all-MiniLM-L6-v2", help=t("model.weights.folder_help"))
        if not path.strip():
            st.info(t("model.weights.folder_first"), icon="📁")
            st.stop()
        with guarded():
            from bigmodel_core.models import check_pretrained_folder

            found = check_pretrained_folder(path.strip())
            st.caption(t("model.weights.found", kind=found["model_type"], layers=found["layers"],
                         hidden=found["hidden_size"], mb=found["weights_bytes"] / 2**20))
        return path.strip()
    chosen = st.selectbox(t("model.weights.model"), ids, index=ids.index(current) if current in ids else 0,
                          key="pretrained_id", format_func={s["id"]: _label(s) for s in offered}.get,
                          help=t("model.weights.model_help"))
    entry = next(s for s in offered if s["id"] == chosen)
    if not entry["downloaded"]:
        st.info(t("model.weights.not_here", title=tr(entry["title"]), mb=entry["download_mb"]), icon="⬇️")
        if st.button(t("model.weights.download", mb=entry["download_mb"]), key="pretrained_download",
                     help=t("model.weights.download_help")):
            _download(chosen)
        st.stop()
    return chosen


def _label(entry: dict) -> str:
    where = (t("model.weights.downloaded") if entry["downloaded"]
             else t("model.weights.to_download", mb=entry["download_mb"]))
    return t("model.weights.label", title=tr(entry["title"]), millions=entry["parameters"] / 1e6, where=where)


def _download(model_id: str) -> None:
    from bigmodel_core.models import download_pretrained

    bar = st.progress(0.0, text=t("model.weights.connecting"))

    def progress(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=t("model.weights.progress", model=model_id, done=done / 2**20,
                                                         total=total / 2**20))

    with guarded():
        download_pretrained(model_id, progress=progress)
        bar.empty()
        st.rerun()
