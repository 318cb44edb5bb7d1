"""Model page, text models: start the word vectors from a trained or loaded set, and see how much they cover."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

import streamlit as st

from bigmodel_core.config import DataConfig, ModelConfig
from ui import state
from ui.feedback import guarded
from ui.i18n import t

RANDOM = ""


def _label(meta: dict[str, Any]) -> str:
    return t("embeddings.set_label", id=meta.get("title") or meta["id"], n=f"{meta.get('vocab_size', 0):,}",
             dim=meta.get("dim", "?"))


def word_vectors_picker(cfg: ModelConfig, data_cfg: DataConfig) -> tuple[Optional[str], bool, Optional[dict]]:
    """(vectors id or None, freeze, coverage or None) as chosen on the page."""
    st.subheader(t("embeddings.vectors.title"))
    sets = state.vector_sets()
    by_id = {m["id"]: m for m in sets}
    chosen = cfg.embeddings or RANDOM
    if chosen and chosen not in by_id:
        st.warning(t("embeddings.vectors.gone", id=chosen), icon="⚠️")
        chosen = RANDOM
    options = [RANDOM] + list(by_id)
    pick = st.selectbox(t("embeddings.vectors.start"), options, index=options.index(chosen), key="model_vectors",
                        format_func=lambda i: t("embeddings.vectors.random") if i == RANDOM else _label(by_id[i]),
                        help=t("embeddings.vectors.start_help"))
    if not sets:
        st.caption(t("embeddings.vectors.none"))
        st.page_link("pages/6_Embeddings.py", label=t("embeddings.vectors.go"), icon="🧭")
    if pick == RANDOM:
        return None, False, None
    freeze = st.checkbox(t("embeddings.vectors.freeze"), cfg.freeze_embeddings, key="model_freeze_vectors",
                         help=t("embeddings.vectors.freeze_help"))
    with guarded():
        coverage = state.vectors_coverage(asdict(data_cfg), pick)
    c1, c2 = st.columns([1, 2])
    c1.metric(t("embeddings.vectors.coverage"), f"{coverage['fraction']:.1%}", help=t("embeddings.vectors.coverage_help"))
    c2.progress(min(max(coverage["fraction"], 0.0), 1.0),
                text=t("embeddings.vectors.coverage_bar", found=f"{coverage['found']:,}", total=f"{coverage['total']:,}"))
    if coverage["missing_examples"]:
        st.caption(t("embeddings.vectors.missing", words=", ".join(f"`{w}`" for w in coverage["missing_examples"][:12])))
    return pick, freeze, coverage


def vector_fixed_settings(model_name: str, dim: int) -> dict[str, tuple[Any, str]]:
    """Settings the vectors decide (shown greyed out): the embedding width, and a Transformer's heads."""
    from bigmodel_core.embeddings import embed_size_key, params_for_vectors

    key = embed_size_key(model_name)
    auto = params_for_vectors(model_name, {}, dim)
    fixed = {key: (auto[key], t("embeddings.vectors.fixed_width"))}
    if "heads" in auto:
        fixed["heads"] = (auto["heads"], t("embeddings.vectors.fixed_heads", dim=dim, heads=auto["heads"]))
    return fixed
