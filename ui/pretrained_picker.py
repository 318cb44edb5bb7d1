"""The Model page's choice of pretrained weights: a suggested Hub model (downloaded only when asked,
with its size first and a progress bar) or a Hugging Face folder on this computer."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.models import DEFAULT_WEIGHTS, suggested_weights
from ui.feedback import guarded

SOURCES = {"hub": "A suggested model (Hugging Face Hub)", "folder": "A folder on this computer"}


def weights_picker(current: str | None) -> str:
    """The weights setting the user chose (a Hub id or a folder path); downloads happen only on the button."""
    current = current or DEFAULT_WEIGHTS
    offered = suggested_weights()
    ids = [s["id"] for s in offered]
    source = st.radio("Pretrained weights", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                      index=0 if current in ids else 1, key="pretrained_source",
                      help="A pretrained model was trained by others on a huge amount of text; here it is "
                           "fine-tuned on your data. It is never downloaded unless you press Download.")
    if source == "folder":
        path = st.text_input("Folder with config.json, model.safetensors and the tokenizer files",
                             "" if current in ids else current, key="pretrained_folder",
                             placeholder="/path/to/all-MiniLM-L6-v2")
        if not path.strip():
            st.info("Type the folder of a model in Hugging Face format (safetensors weights only).", icon="📁")
            st.stop()
        with guarded():
            from bigmodel_core.models import check_pretrained_folder

            found = check_pretrained_folder(path.strip())
            st.caption(f"A {found['model_type']} model: {found['layers']} layers, hidden size {found['hidden_size']}, "
                       f"{found['weights_bytes'] / 2**20:.0f} MB of weights.")
        return path.strip()
    chosen = st.selectbox("Model", ids, index=ids.index(current) if current in ids else 0, key="pretrained_id",
                          format_func=lambda i: _label(next(s for s in offered if s["id"] == i)))
    entry = next(s for s in offered if s["id"] == chosen)
    if not entry["downloaded"]:
        st.info(f"**{entry['title']}** is not on this computer yet: about **{entry['download_mb']} MB** to download "
                "from the Hugging Face Hub, once. Nothing is downloaded until you press the button.", icon="⬇️")
        if st.button(f"⬇️ Download {entry['download_mb']} MB", key="pretrained_download"):
            _download(chosen)
        st.stop()
    return chosen


def _label(entry: dict) -> str:
    where = "downloaded" if entry["downloaded"] else f"{entry['download_mb']} MB to download"
    return f"{entry['title']} · {entry['parameters'] / 1e6:.1f} M parameters · {where}"


def _download(model_id: str) -> None:
    from bigmodel_core.models import download_pretrained

    bar = st.progress(0.0, text="Connecting to the Hugging Face Hub…")

    def progress(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"Downloading {model_id}: {done / 2**20:.0f} of "
                                                       f"{total / 2**20:.0f} MB")

    with guarded():
        download_pretrained(model_id, progress=progress)
        bar.empty()
        st.rerun()
