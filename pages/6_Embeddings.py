"""Embeddings page: train Word2Vec on the current texts, then explore neighbours, analogies and a word map."""
from dataclasses import asdict

import pandas as pd
import streamlit as st

from bigmodel_core.embeddings import (
    Word2VecConfig,
    analogy,
    list_vector_sets,
    neighbours,
    parse_analogy,
)
from bigmodel_core.training import epoch_rows
from ui import state
from ui.embeddings_load import render_load
from ui.embeddings_view import loss_per_epoch, word_map
from ui.feedback import guarded, show_job_error

st.set_page_config(page_title="Embeddings · BigModel Lab", page_icon="🔤", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🔤 Word embeddings")
st.caption("Word2Vec learns a vector for every word from the words around it: words used alike end up close. "
           "Train your own on the current texts, or load GloVe's, then explore them and use them in a model.")
data_cfg = state.data_cfg()
if state.data_task(data_cfg) != "text":
    st.info("Embeddings are learned from texts. Choose a text dataset on the Data page first.", icon="📝")
    st.stop()

# Open when there are no vectors yet, and while this session's training runs or has just finished
with st.expander("Train Word2Vec on the current texts", expanded=not list_vector_sets() or "emb_job" in st.session_state):
    c1, c2, c3 = st.columns(3)
    algo = c1.radio("Algorithm", ["skip-gram", "CBOW"], key="emb_algo", horizontal=True,
                    help="Skip-gram predicts the neighbours from a word; CBOW predicts a word from its neighbours.")
    dim = c1.number_input("Vector size", 8, 300, 50, key="emb_dim")
    window = c2.number_input("Window (words each side)", 1, 10, 5, key="emb_window")
    min_count = c2.number_input("Minimum count", 1, 50, 2, key="emb_min_count")
    epochs = c3.number_input("Epochs", 1, 50, 10, key="emb_epochs")
    negative = c3.number_input("Negative samples", 1, 20, 5, key="emb_negative")
    manager = state.embedding_jobs()
    job = manager.get(st.session_state.get("emb_job"))
    busy = job is not None and not job.finished
    if st.button("▶ Train Word2Vec", type="primary", disabled=busy, key="emb_train"):
        job = manager.submit(Word2VecConfig(data_cfg, sg=algo == "skip-gram", dim=int(dim), window=int(window),
                                            min_count=int(min_count), epochs=int(epochs), negative=int(negative)))
        st.session_state["emb_job"] = job.id
        st.rerun()

    @st.fragment(run_every=1.0 if busy else None)
    def progress() -> None:
        current = manager.get(st.session_state.get("emb_job"))
        if current is None:
            return
        ends = epoch_rows(list(current.log))
        total = current.config.epochs
        st.progress(min(len(ends) / max(total, 1), 1.0), text=f"Epoch {len(ends)} of {total}")
        if ends:
            st.plotly_chart(loss_per_epoch([e["epoch"] for e in ends], [e["loss"] for e in ends]),
                            width="stretch", key="emb_loss")
        if busy and current.finished:
            st.rerun()

    progress()
    if job is not None and job.finished:
        if job.status == "failed":
            show_job_error(job.error)
        elif job.result:
            st.success(f"Saved vectors **{job.result['id']}**: {job.result['vocab_size']:,} words × {job.result['dim']}.",
                       icon="✅")
            if st.session_state.get("emb_shown_job") != job.id:  # once: the new vectors become the chosen ones
                st.session_state["emb_shown_job"] = job.id
                st.session_state["emb_pick"] = job.result["id"]

with st.expander("Load pretrained vectors (GloVe, word2vec)", expanded=False):
    render_load()
if st.session_state.get("emb_loaded"):
    st.success(f"Loaded vectors **{st.session_state.pop('emb_loaded')}**.", icon="✅")

sets = list_vector_sets()
if not sets:
    st.info("No word vectors yet: train Word2Vec or load pretrained vectors above.", icon="🔤")
    st.stop()
ids = [m["id"] for m in sets]
if st.session_state.get("emb_pick") not in ids:  # first visit, or the chosen set was deleted: the newest
    st.session_state["emb_pick"] = ids[0]
set_id = st.selectbox("Vectors", ids, key="emb_pick",
                      format_func=lambda i: next(f"{i} · {m.get('vocab_size', 0):,} words × {m.get('dim')}" for m in sets if m["id"] == i))
with guarded():
    kv = state.vectors(set_id)

c1, c2 = st.columns(2)
with c1:
    word = st.text_input("Nearest neighbours of", "good", key="emb_word")
    near = []
    if word.strip():
        with guarded():
            near = neighbours(kv, word.strip(), k=10)
        st.dataframe(pd.DataFrame(near, columns=["word", "cosine similarity"]).round(3), hide_index=True, width="stretch")
with c2:
    query = st.text_input("Analogy (a − b + c)", "great - good + bad", key="emb_analogy",
                          help="Like king − man + woman ≈ queen: which word relates to c as a relates to b?")
    if query.strip():
        with guarded():
            a, b, c = parse_analogy(query)
            answers = analogy(kv, a, b, c, k=5)
        st.dataframe(pd.DataFrame(answers, columns=["word", "cosine similarity"]).round(3), hide_index=True,
                     width="stretch")

st.subheader("A map of the vocabulary")
m1, m2, m3 = st.columns(3)
dims = m1.radio("Dimensions", [3, 2], horizontal=True, key="emb_dims")
method = m2.radio("Method", ["pca", "tsne"], horizontal=True, key="emb_method",
                  format_func={"pca": "PCA (instant)", "tsne": "t-SNE (slower, keeps neighbours together)"}.get)
n = m3.slider("Words on the map (most frequent first)", 50, 2000, 400, 50, key="emb_n")
search = st.text_input("Find words on the map", "", key="emb_search", placeholder="e.g. good, bad, boring",
                       help="Words separated by commas or spaces; they are added to the map if they are not on it.")
searched = tuple(w for w in search.replace(",", " ").split() if w)
extra = searched + ((word.strip(),) if word.strip() else ())
with guarded(), st.spinner("Placing the words…"):
    result = state.word_map_data(set_id, asdict(data_cfg), n, dims, method, extra)
for miss in result["not_found"]:
    if miss["word"] in searched:
        tip = (" Did you mean " + " or ".join(f"'{s}'" for s in miss["suggestions"]) + "?") if miss["suggestions"] else ""
        st.warning(f"'{miss['word']}' is not in the vocabulary of these vectors.{tip}", icon="🔎")
marked = [w for w in result["found"] if w.lower() in {s.lower() for s in searched}]
typed = next((w for w in result["found"] if w.lower() == word.strip().lower()), "")  # as spelt in the vocabulary
st.plotly_chart(word_map(result, typed, [w for w, _ in near], marked), width="stretch", key="emb_map")
st.caption("Colour: how strongly a word leans to a class in the current labelled dataset. "
           "The word in 'Nearest neighbours of' is joined to its neighbours; searched words are orange diamonds.")
