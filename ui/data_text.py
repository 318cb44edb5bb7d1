"""Data page, text part: where the texts come from, how they become tokens, and what is in them."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from bigmodel_core.config import STEMMERS, TOKENIZERS, DataConfig
from bigmodel_core.data import (
    CORPORA,
    corpus_info,
    download_corpus,
    inspect_table,
    save_upload,
)
from ui import charts
from ui.downloads import download_if_needed
from ui.feedback import guarded

SOURCES = {"builtin": "Built-in movie reviews (offline)", "csv": "Upload my own file", "download": "Download a real corpus"}


def choose_source(cfg: DataConfig) -> DataConfig:
    """Built-in reviews, an uploaded table (columns detected, user confirms) or a downloaded corpus."""
    source = cfg.spec.split(":", 1)[0] if cfg.spec.split(":", 1)[0] in SOURCES else "csv"
    choice = st.radio("Where do the texts come from?", list(SOURCES), format_func=SOURCES.get,
                      index=list(SOURCES).index(source), horizontal=True, key="data_source")

    if choice == "builtin":
        st.info("These reviews are **synthetic**: BigModel Lab writes them from its own grammar of review phrases, "
                "with negation (*not good*), intensifiers (*very*) and contrast (*slow start but a great ending*), "
                "so the order of words matters. Real corpora are one click away under *Download*.", icon="ℹ️")
        cfg = replace(cfg, spec="builtin:synthetic_reviews", text_column=None, label_column=None)
    elif choice == "csv":
        upload = st.file_uploader("A CSV, TSV or JSON-lines file with a text column and a label column",
                                  type=["csv", "tsv", "txt", "jsonl", "json"], key="data_upload")
        if upload is None and not cfg.spec.startswith("csv:"):
            st.info("Upload a file to continue. Each row needs a text (a sentence or review) and its label.", icon="⬆️")
            st.stop()
        with guarded():
            # a new upload is kept only if it reads as a table (read twice then, once per rerun after)
            path = save_upload(upload.name, upload.getvalue(), check=inspect_table) if upload is not None else cfg.spec[4:]
            table = inspect_table(path)
        st.caption(f"{table['rows']:,} rows. We guessed the columns below; change them if they are wrong.")
        st.dataframe(pd.DataFrame(table["summary"]), hide_index=True, width="stretch")
        cols = table["columns"]
        text_default = cfg.text_column if cfg.text_column in cols else table["text_column"]
        label_default = cfg.label_column if cfg.label_column in cols else table["label_column"]
        c1, c2 = st.columns(2)
        text_col = c1.selectbox("Text column", cols, index=cols.index(text_default), key="data_text_col")
        label_col = c2.selectbox("Label column", cols, index=cols.index(label_default), key="data_label_col")
        cfg = replace(cfg, spec=f"csv:{path}", text_column=text_col, label_column=label_col)
    else:
        names = list(CORPORA)
        current = cfg.spec[9:] if cfg.spec.startswith("download:") and cfg.spec[9:] in names else names[0]
        name = st.selectbox("Corpus", names, index=names.index(current), key="data_corpus",
                            format_func=lambda n: CORPORA[n].title)
        info = corpus_info(name)
        download_if_needed(info, "data_download", lambda progress: download_corpus(name, progress=progress))
        cfg = replace(cfg, spec=f"download:{name}", text_column=None, label_column=None)
    return cfg


TOKENIZER_LABELS = {"auto": "auto (jieba for Chinese, else treebank)", "jieba": "jieba (Chinese words)"}


def choose_options(cfg: DataConfig) -> DataConfig:
    """Tokenizer, cleaning, vocabulary and split settings."""
    with st.expander("How the text is turned into tokens", expanded=False):
        c1, c2, c3 = st.columns(3)
        tokenizer = c1.selectbox("Tokenizer", TOKENIZERS, index=TOKENIZERS.index(cfg.tokenizer), key="data_tokenizer",
                                 format_func=lambda t: TOKENIZER_LABELS.get(t, t),
                                 help="How a sentence is cut into words. Treebank splits 'didn't' into 'did' + \"n't\"; "
                                      "jieba cuts Chinese, which has no spaces, into words.")
        stem_opts = ["none", *STEMMERS]
        stemmer = c1.selectbox("Stemming", stem_opts, index=stem_opts.index(cfg.stemmer or "none"), key="data_stemmer",
                               help="Cut words to their stem: 'boring', 'bored' → 'bore'.")
        lowercase = c2.checkbox("Lowercase", cfg.lowercase, key="data_lower")
        strip_html = c2.checkbox("Remove HTML tags", cfg.strip_html, key="data_html")
        strip_urls = c2.checkbox("Remove web links", cfg.strip_urls, key="data_urls")
        stop = c2.checkbox("Remove stop words (keeps not/no/never)", cfg.remove_stopwords, key="data_stop")
        min_freq = c3.number_input("Minimum word count", 1, 100, cfg.min_freq, key="data_min_freq",
                                   help="Rarer words become <unk> (unknown).")
        max_vocab = c3.number_input("Largest vocabulary", 100, 500_000, cfg.max_vocab, step=1000, key="data_max_vocab")
        max_len = c3.number_input("Longest text (tokens)", 8, 5000, cfg.max_len, key="data_max_len")
        c1, c2, c3 = st.columns(3)
        val = c1.slider("Validation share", 0.05, 0.4, cfg.val_fraction, 0.05, key="data_val")
        test = c2.slider("Test share", 0.0, 0.4, cfg.test_fraction, 0.05, key="data_test")
        seed = c3.number_input("Split seed", 0, 10_000, cfg.seed, key="data_seed")
        most = c1.number_input("Most training examples (0 = all)", 0, 10_000_000, cfg.max_train_rows or 0, step=500,
                               key="data_max_train",
                               help="Train on only this many of the training texts (validation and test stay whole): "
                                    "a pretrained model's preset uses 2,000 so that a CPU finishes in minutes.")
        cfg = replace(cfg, tokenizer=tokenizer, stemmer=None if stemmer == "none" else stemmer, lowercase=lowercase,
                      strip_html=strip_html, strip_urls=strip_urls, remove_stopwords=stop, min_freq=int(min_freq),
                      max_vocab=int(max_vocab), max_len=int(max_len), val_fraction=val, test_fraction=test, seed=int(seed),
                      max_train_rows=max(int(most), 2) if most else None)
    return cfg


def show_overview(overview: dict) -> None:
    """Size, class balance, text lengths, examples, and one text going raw -> tokens -> ids."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Texts", f"{overview['rows']:,}")
    c2.metric("Classes", len(overview["classes"]))
    c3.metric("Vocabulary", f"{overview['vocab_size']:,} words")
    c4.metric("Train / val / test", " / ".join(f"{overview['split'][k]:,}" for k in ("train", "val", "test")))
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.class_balance(overview["class_counts"]), width="stretch", key="data_balance")
    c2.plotly_chart(charts.length_histogram(overview["words_per_text"]), width="stretch", key="data_lengths")
    st.subheader("Some examples")
    st.dataframe(pd.DataFrame(overview["samples"]), hide_index=True, width="stretch")
    st.subheader("From text to numbers")
    t = overview["trace"]
    st.markdown(f"**1 · Raw text:** {t['raw']}")
    st.markdown(f"**2 · Cleaned:** {t['cleaned']}")
    st.markdown("**3 · Tokens → 4 · ids** (the numbers the network actually sees; 1 = unknown word)")
    st.dataframe(pd.DataFrame([t["ids"]], columns=[f"{i}:{tok}" for i, tok in enumerate(t["tokens"])], index=["id"]),
                 width="stretch")
    if (m := overview.get("model_trace")) is not None:
        st.markdown(f"**The chosen model ({overview['model_name']}) reads word pieces instead:** its own tokenizer "
                    "cuts rare words into known pieces (## continues a word), [CLS] opens the text and [SEP] closes it, "
                    "so it never meets an unknown word.")
        st.dataframe(pd.DataFrame([m["ids"]], columns=[f"{i}:{p}" for i, p in enumerate(m["pieces"])], index=["id"]),
                     width="stretch")
    elif overview.get("model_trace_error"):
        st.caption(f"The chosen model's word pieces cannot be shown yet: {overview['model_trace_error']}")
