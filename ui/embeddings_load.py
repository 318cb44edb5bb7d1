"""Embeddings page: load pretrained vectors: a file upload, a file on this computer, or the GloVe download."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from bigmodel_core.embeddings import GLOVE, glove_info
from ui.feedback import guarded
from ui.i18n import t, tr

LIMITS = (20_000, 100_000, 0)  # words kept from a file (0: all of them)


def _limit_label(n: int) -> str:
    return t("embeddings.load.limit_n", n=f"{n:,}") if n else t("embeddings.load.limit_all")


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

    st.caption(t("embeddings.load.caption"))
    limit = st.selectbox(t("embeddings.load.keep"), list(LIMITS), format_func=_limit_label, key="emb_load_limit",
                         help=t("embeddings.load.keep_help")) or None
    up, local = st.columns(2)
    with up:
        upload = st.file_uploader(t("embeddings.load.upload"), type=["txt", "vec", "bin", "kv"], key="emb_upload",
                                  help=t("embeddings.load.upload_help"))
        if upload is not None and st.button(t("embeddings.load.upload_go"), key="emb_upload_go",
                                            help=t("embeddings.load.go_help")):
            with guarded():
                meta = import_uploaded_vectors(upload.name, upload.getvalue(), limit=limit,
                                               progress=_progress_bar(t("embeddings.load.reading")))
            _done(meta)
    with local:
        path = st.text_input(t("embeddings.load.path"), key="emb_path",
                             placeholder="/data/glove.6B.100d.txt",
                             help=t("embeddings.load.path_help"))
        if path.strip() and st.button(t("embeddings.load.path_go"), key="emb_path_go", help=t("embeddings.load.go_help")):
            with guarded():
                meta = import_vectors(path.strip(), limit=limit, progress=_progress_bar(t("embeddings.load.reading")))
            _done(meta)

    st.markdown(t("embeddings.glove.title"))
    g1, g2 = st.columns([1, 2])
    dim = g1.selectbox(t("embeddings.glove.width"), list(GLOVE), format_func=lambda d: t("embeddings.glove.dims", n=d),
                       key="emb_glove_dim", help=t("embeddings.glove.width_help"))
    info = glove_info(dim)
    if info["cached"]:
        g2.caption(t("embeddings.glove.cached", member=info["member"]))
        label = t("embeddings.glove.load", dim=dim)
    else:
        mb = f"{info['archive_bytes'] / 1e6:,.0f}"
        g2.caption(t("embeddings.glove.needs_internet", mb=mb, note=tr(info["note"]), license=tr(info["license"])))
        label = t("embeddings.glove.download", mb=mb, dim=dim)
    if st.button(label, key="emb_glove_go", help=t("embeddings.glove.go_help")):
        with guarded():
            meta = import_glove(dim, limit=limit, download_progress=_progress_bar(t("embeddings.glove.downloading")),
                                import_progress=_progress_bar(t("embeddings.glove.reading")))
        _done(meta)
