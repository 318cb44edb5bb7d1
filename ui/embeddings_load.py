"""Embeddings page: load pretrained vectors: a file upload, a file on this computer, or the GloVe download."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from bigmodel_core.embeddings import GLOVE, glove_info
from ui.feedback import guarded

LIMITS = {20_000: "20,000 most frequent words", 100_000: "100,000 most frequent words", 0: "all words"}


def _progress_bar(label: str):
    bar = st.progress(0.0, text=label)

    def update(done: int, total: Optional[int]) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{label} {done / total:.0%}")

    return update


def _done(meta: dict) -> None:
    st.session_state["emb_pick"] = meta["id"]  # the page's Vectors picker shows the new set
    st.session_state["emb_loaded"] = meta["id"]
    st.rerun()


def render_load() -> None:
    """The 'Load pretrained vectors' controls; a loaded set becomes the page's chosen vectors."""
    from bigmodel_core.embeddings import (
        import_glove,
        import_uploaded_vectors,
        import_vectors,
    )

    st.caption("GloVe text files (`word 0.1 0.2 …` per line), word2vec text files (with a `words dims` first line), "
               "word2vec binary files or gensim KeyedVectors (`.kv`) files. They are read once and saved, so later "
               "loads are instant.")
    limit = st.selectbox("Keep", list(LIMITS), format_func=LIMITS.get, key="emb_load_limit",
                         help="Files list the most frequent words first; fewer words load and map faster.") or None
    up, local = st.columns(2)
    with up:
        upload = st.file_uploader("Upload a vectors file", type=["txt", "vec", "bin", "kv"], key="emb_upload")
        if upload is not None and st.button("Load the uploaded file", key="emb_upload_go"):
            with guarded():
                meta = import_uploaded_vectors(upload.name, upload.getvalue(), limit=limit,
                                               progress=_progress_bar("Reading the file…"))
            _done(meta)
    with local:
        path = st.text_input("…or the path of a file on this computer", key="emb_path",
                             placeholder="/data/glove.6B.100d.txt",
                             help="For files too big to upload (GloVe 100d is 330 MB).")
        if path.strip() and st.button("Load this file", key="emb_path_go"):
            with guarded():
                meta = import_vectors(path.strip(), limit=limit, progress=_progress_bar("Reading the file…"))
            _done(meta)

    st.markdown("**GloVe 6B** (Stanford: 400,000 words from Wikipedia and news)")
    g1, g2 = st.columns([1, 2])
    dim = g1.selectbox("Width", list(GLOVE), format_func=lambda d: f"{d} dimensions", key="emb_glove_dim")
    info = glove_info(dim)
    if info["cached"]:
        g2.caption(f"Already downloaded ({info['member']}); loading it needs no internet.")
        label = f"Load GloVe {dim}d"
    else:
        g2.caption(f"Needs internet: one download of {info['archive_bytes'] / 1e6:,.0f} MB "
                   f"({info['note']}) License: {info['license']}")
        label = f"Download GloVe ({info['archive_bytes'] / 1e6:,.0f} MB) and load {dim}d"
    if st.button(label, key="emb_glove_go"):
        with guarded():
            meta = import_glove(dim, limit=limit, download_progress=_progress_bar("Downloading GloVe…"),
                                import_progress=_progress_bar("Reading the vectors…"))
        _done(meta)
