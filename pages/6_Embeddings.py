"""Embeddings page: train Word2Vec on the current texts, then explore neighbours, analogies and a word map."""
from dataclasses import asdict

import pandas as pd
import streamlit as st

from ui import page

page.setup("embeddings")  # a teacher's link is read, and the sidebar drawn, before anything else

from bigmodel_core.embeddings import (  # noqa: E402
    Word2VecConfig,
    analogy,
    list_vector_sets,
    neighbours,
    parse_analogy,
)
from bigmodel_core.errors import Alternatives  # noqa: E402
from bigmodel_core.training import epoch_rows  # noqa: E402
from ui import course, palette, state  # noqa: E402
from ui.embeddings_load import render_load  # noqa: E402
from ui.embeddings_view import loss_per_epoch, word_map  # noqa: E402
from ui.feedback import guarded, show_job_error  # noqa: E402
from ui.i18n import t  # noqa: E402

GLOVE_6B_WINDOW = 10  # Pennington et al. 2014: a symmetric context window of 10 words
# What the word boxes start with, in the vectors' own language (they are input, not interface)
DEFAULTS = {"en": {"emb_word": "good", "emb_analogy": "great - good + bad"},
            "zh": {"emb_word": "好看", "emb_analogy": "精彩 - 好看 + 难看"}}


def vectors_language(kv) -> str:
    """'zh' for vectors whose most frequent words are mostly Chinese, else 'en'."""
    from bigmodel_core.data import choose_tokenizer

    words = list(getattr(kv, "index_to_key", [])[:300])
    return "zh" if words and choose_tokenizer(words) == "jieba" else "en"


def vectors_facts(meta: dict, kv) -> dict:
    """method ("word2vec" | "glove"), dim and (where known) window of a vector set, for the course's explanation."""
    glove = "glove" in (meta.get("kind"), meta.get("format"))
    if meta.get("kind") == "word2vec":  # trained on this page: its own settings
        window = (meta.get("settings") or {}).get("window")
    else:  # Stanford's GloVe 6B counted words within 10 places; an imported file does not say
        window = GLOVE_6B_WINDOW if meta.get("kind") == "glove" else None
    return {"method": "glove" if glove else "word2vec", "dim": meta.get("dim") or kv.vector_size, "window": window}


def start_boxes(lang: str) -> None:
    """Give the word boxes the vectors' language's examples, unless the user typed something of their own."""
    for key, value in DEFAULTS[lang].items():
        if st.session_state.get(key) in (None, *(d[key] for d in DEFAULTS.values())):
            st.session_state[key] = value


st.caption(t("embeddings.caption"))
data_cfg = state.data_cfg()
if state.data_task(data_cfg) != "text":
    st.info(t("embeddings.need_text"), icon="📝")
    st.stop()

# Open when there are no vectors yet, and while this session's training runs or has just finished
with st.expander(t("embeddings.train.title"), expanded=not list_vector_sets() or "emb_job" in st.session_state):
    c1, c2, c3 = st.columns(3)
    algo = c1.radio(t("embeddings.train.algo"), ["skip-gram", "CBOW"], key="emb_algo", horizontal=True,
                    help=t("embeddings.train.algo_help"))
    dim = c1.number_input(t("embeddings.train.dim"), 8, 300, 50, key="emb_dim", help=t("embeddings.train.dim_help"))
    window = c2.number_input(t("embeddings.train.window"), 1, 10, 5, key="emb_window",
                             help=t("embeddings.train.window_help"))
    min_count = c2.number_input(t("embeddings.train.min_count"), 1, 50, 2, key="emb_min_count",
                                help=t("embeddings.train.min_count_help"))
    epochs = c3.number_input(t("embeddings.train.epochs"), 1, 50, 10, key="emb_epochs",
                             help=t("embeddings.train.epochs_help"))
    negative = c3.number_input(t("embeddings.train.negative"), 1, 20, 5, key="emb_negative",
                               help=t("embeddings.train.negative_help"))
    manager = state.embedding_jobs()
    job = manager.get(st.session_state.get("emb_job"))
    busy = job is not None and not job.finished
    if st.button("▶ " + t("embeddings.train.start"), type="primary", disabled=busy, key="emb_train",
                 help=t("embeddings.train.start_help")):
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
        st.progress(min(len(ends) / max(total, 1), 1.0), text=t("embeddings.train.progress", n=len(ends), total=total))
        if ends:
            st.plotly_chart(loss_per_epoch([e["epoch"] for e in ends], [e["loss"] for e in ends]),
                            width="stretch", key="emb_loss")
            st.caption(t("embeddings.train.loss_caption"))
        if busy and current.finished:
            st.rerun()

    progress()
    if job is not None and job.finished:
        if job.status == "failed":
            show_job_error(job.error)
        elif job.result:
            st.success(t("embeddings.train.saved", id=job.result["id"], n=f"{job.result['vocab_size']:,}",
                         dim=job.result["dim"]), icon="✅")
            if st.session_state.get("emb_shown_job") != job.id:  # once: the new vectors become the chosen ones
                st.session_state["emb_shown_job"] = job.id
                st.session_state["emb_pick"] = job.result["id"]

with st.expander(t("embeddings.load.title"), expanded=False):
    render_load()
if st.session_state.get("emb_loaded"):
    st.success(t("embeddings.load.loaded", id=st.session_state.pop("emb_loaded")), icon="✅")

sets = list_vector_sets()
if not sets:
    st.info(t("embeddings.no_sets"), icon="🔤")
    st.stop()
ids = [m["id"] for m in sets]
by_id = {m["id"]: m for m in sets}
if st.session_state.get("emb_pick") not in ids:  # first visit, or the chosen set was deleted: the newest
    st.session_state["emb_pick"] = ids[0]
set_id = st.selectbox(t("embeddings.pick"), ids, key="emb_pick", help=t("embeddings.pick_help"),
                      format_func=lambda i: t("embeddings.set_label", id=i, n=f"{by_id[i].get('vocab_size', 0):,}",
                                              dim=by_id[i].get("dim")))
with guarded():
    kv = state.vectors(set_id)
start_boxes(vectors_language(kv))

columns = [t("embeddings.col.word"), t("embeddings.col.similarity")]
c1, c2 = st.columns(2)
with c1:
    word = st.text_input(t("embeddings.neighbours"), key="emb_word", help=t("embeddings.neighbours_help"))
    near = []
    if word.strip():
        with guarded():
            near = neighbours(kv, word.strip(), k=10)
        st.dataframe(pd.DataFrame(near, columns=columns).round(3), hide_index=True, width="stretch")
        st.caption(t("embeddings.similarity_caption"))
with c2:
    query = st.text_input(t("embeddings.analogy"), key="emb_analogy", help=t("embeddings.analogy_help"))
    if query.strip():
        with guarded():
            a, b, c = parse_analogy(query)
            answers = analogy(kv, a, b, c, k=5)
        st.dataframe(pd.DataFrame(answers, columns=columns).round(3), hide_index=True, width="stretch")
        st.caption(t("embeddings.analogy_caption"))

st.subheader(t("embeddings.map.title"))
m1, m2, m3 = st.columns(3)
dims = m1.radio(t("embeddings.map.dims"), [3, 2], horizontal=True, key="emb_dims",
                format_func=lambda d: t("embeddings.map.dims_option", n=d), help=t("embeddings.map.dims_help"))
method = m2.radio(t("embeddings.map.method"), ["pca", "tsne"], horizontal=True, key="emb_method",
                  format_func=lambda m: t(f"embeddings.map.method.{m}"), help=t("embeddings.map.method_help"))
n = m3.slider(t("embeddings.map.n"), 50, 2000, 400, 50, key="emb_n", help=t("embeddings.map.n_help"))
search = st.text_input(t("embeddings.map.search"), "", key="emb_search", placeholder=t("embeddings.map.search_placeholder"),
                       help=t("embeddings.map.search_help"))
searched = tuple(w for w in search.replace(",", " ").replace("，", " ").split() if w)
extra = searched + ((word.strip(),) if word.strip() else ())
with guarded(), st.spinner(t("embeddings.map.placing")):
    result = state.word_map_data(set_id, asdict(data_cfg), n, dims, method, extra)
for miss in result["not_found"]:
    if miss["word"] in searched:
        tip = t("embeddings.map.did_you_mean", names=Alternatives(f"'{s}'" for s in miss["suggestions"])) \
            if miss["suggestions"] else ""
        st.warning(t("embeddings.map.not_found", word=miss["word"], tip=tip), icon="🔎")
marked = [w for w in result["found"] if w.lower() in {s.lower() for s in searched}]
typed = next((w for w in result["found"] if w.lower() == word.strip().lower()), "")  # as spelt in the vocabulary
st.plotly_chart(word_map(result, typed, [w for w, _ in near], marked), width="stretch", key="emb_map")
st.caption(t("embeddings.map.caption", searched=t("embeddings.map.searched_" + palette.name())))
course.explain("embeddings", points=len(result["words"]), **vectors_facts(by_id[set_id], kv))
