"""Model page, text models: start the word vectors from a trained or loaded set, and see how much they cover."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

import streamlit as st

from bigmodel_core.config import DataConfig, ModelConfig
from ui import state
from ui.feedback import guarded

RANDOM = ""


def _label(meta: dict[str, Any]) -> str:
    return f"{meta.get('title') or meta['id']} · {meta.get('vocab_size', 0):,} words × {meta.get('dim', '?')}"


def word_vectors_picker(cfg: ModelConfig, data_cfg: DataConfig) -> tuple[Optional[str], bool, Optional[dict]]:
    """(vectors id or None, freeze, coverage or None) as chosen on the page."""
    st.subheader("Word vectors")
    sets = state.vector_sets()
    by_id = {m["id"]: m for m in sets}
    chosen = cfg.embeddings or RANDOM
    if chosen and chosen not in by_id:
        st.warning(f"The word vectors '{chosen}' are gone (they may have been deleted); the model starts from "
                   "random vectors instead.", icon="⚠️")
        chosen = RANDOM
    options = [RANDOM] + list(by_id)
    pick = st.selectbox("Start the word vectors from", options, index=options.index(chosen), key="model_vectors",
                        format_func=lambda i: "random numbers (learned from scratch)" if i == RANDOM else _label(by_id[i]),
                        help="Vectors trained with Word2Vec or loaded from GloVe already place similar words close "
                             "together; the model starts from what they know instead of from noise.")
    if not sets:
        st.caption("There are no word vectors yet: train Word2Vec or load GloVe on the Embeddings page.")
        st.page_link("pages/6_Embeddings.py", label="Go to Embeddings", icon="🧭")
    if pick == RANDOM:
        return None, False, None
    freeze = st.checkbox("Keep them fixed (freeze)", cfg.freeze_embeddings, key="model_freeze_vectors",
                         help="Frozen: only the rest of the model learns; fine-tuned: the vectors adjust to this task too.")
    with guarded():
        coverage = state.vectors_coverage(asdict(data_cfg), pick)
    c1, c2 = st.columns([1, 2])
    c1.metric("Vocabulary coverage", f"{coverage['fraction']:.1%}",
              help="Share of the model's words (built from the training texts) that these vectors have.")
    c2.progress(min(max(coverage["fraction"], 0.0), 1.0),
                text=f"{coverage['found']:,} of {coverage['total']:,} words got a vector; the rest start random")
    if coverage["missing_examples"]:
        st.caption("Most frequent words without a vector: " + ", ".join(f"`{w}`" for w in coverage["missing_examples"][:12]))
    return pick, freeze, coverage


def vector_fixed_settings(model_name: str, dim: int) -> dict[str, tuple[Any, str]]:
    """Settings the vectors decide (shown greyed out): the embedding width, and a Transformer's heads."""
    from bigmodel_core.embeddings import embed_size_key, params_for_vectors

    key = embed_size_key(model_name)
    auto = params_for_vectors(model_name, {}, dim)
    fixed = {key: (auto[key], "Set by the chosen word vectors: the model's word vectors must be as long as theirs.")}
    if "heads" in auto:
        fixed["heads"] = (auto["heads"], f"The preset's number of heads cannot split {dim}-wide vectors evenly; "
                                         f"{auto['heads']} is the most that can.")
    return fixed
