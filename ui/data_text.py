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
from ui.i18n import t, tr

SOURCES = ("builtin", "csv", "download")
TOKENIZER_LABELS = ("auto", "jieba")  # the tokenizers whose name alone does not say what they do
TABLE_COLUMNS = ("column", "distinct values", "mean words", "example", "text", "label")


def columns_in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """A table from the engine with its column names in the user's language."""
    names = {c: t(f"data.table.{c.replace(' ', '_')}") for c in frame.columns if c in TABLE_COLUMNS}
    return frame.rename(columns=names)


def choose_source(cfg: DataConfig) -> DataConfig:
    """Built-in reviews, an uploaded table (columns detected, user confirms) or a downloaded corpus."""
    source = cfg.spec.split(":", 1)[0] if cfg.spec.split(":", 1)[0] in SOURCES else "csv"
    labels = {s: t(f"data.text.source.{s}") for s in SOURCES}
    choice = st.radio(t("data.text.source"), SOURCES, format_func=labels.get,
                      index=SOURCES.index(source), horizontal=True, key="data_source", help=t("data.text.source_help"))

    if choice == "builtin":
        st.info(t("data.text.builtin_info"), icon="ℹ️")
        cfg = replace(cfg, spec="builtin:synthetic_reviews", text_column=None, label_column=None)
    elif choice == "csv":
        upload = st.file_uploader(t("data.text.upload"), type=["csv", "tsv", "txt", "jsonl", "json"], key="data_upload",
                                  help=t("data.text.upload_help"))
        if upload is None and not cfg.spec.startswith("csv:"):
            st.info(t("data.text.upload_first"), icon="⬆️")
            st.stop()
        with guarded():
            # a new upload is kept only if it reads as a table (read twice then, once per rerun after)
            path = save_upload(upload.name, upload.getvalue(), check=inspect_table) if upload is not None else cfg.spec[4:]
            table = inspect_table(path)
        st.caption(t("data.text.rows_guessed", rows=table["rows"]))
        st.dataframe(columns_in_words(pd.DataFrame(table["summary"])), hide_index=True, width="stretch")
        cols = table["columns"]
        text_default = cfg.text_column if cfg.text_column in cols else table["text_column"]
        label_default = cfg.label_column if cfg.label_column in cols else table["label_column"]
        c1, c2 = st.columns(2)
        text_col = c1.selectbox(t("data.text.text_column"), cols, index=cols.index(text_default), key="data_text_col",
                                help=t("data.text.text_column_help"))
        label_col = c2.selectbox(t("data.text.label_column"), cols, index=cols.index(label_default),
                                 key="data_label_col", help=t("data.text.label_column_help"))
        cfg = replace(cfg, spec=f"csv:{path}", text_column=text_col, label_column=label_col)
    else:
        names = list(CORPORA)
        current = cfg.spec[9:] if cfg.spec.startswith("download:") and cfg.spec[9:] in names else names[0]
        name = st.selectbox(t("data.text.corpus"), names, index=names.index(current), key="data_corpus",
                            format_func={n: tr(CORPORA[n].title) for n in names}.get, help=t("data.text.corpus_help"))
        info = corpus_info(name)
        download_if_needed(info, "data_download", lambda progress: download_corpus(name, progress=progress))
        cfg = replace(cfg, spec=f"download:{name}", text_column=None, label_column=None)
    return cfg


def choose_options(cfg: DataConfig) -> DataConfig:
    """Tokenizer, cleaning, vocabulary and split settings."""
    with st.expander(t("data.text.options"), expanded=False):
        c1, c2, c3 = st.columns(3)
        tokenizer = c1.selectbox(t("data.text.tokenizer"), TOKENIZERS, index=TOKENIZERS.index(cfg.tokenizer),
                                 key="data_tokenizer",
                                 format_func={k: t(f"data.text.tokenizer.{k}") if k in TOKENIZER_LABELS else k
                                              for k in TOKENIZERS}.get,
                                 help=t("data.text.tokenizer_help"))
        stem_opts = ["none", *STEMMERS]
        stemmer = c1.selectbox(t("data.text.stemming"), stem_opts, index=stem_opts.index(cfg.stemmer or "none"),
                               key="data_stemmer",
                               format_func={s: t("data.text.stemming.none") if s == "none" else s for s in stem_opts}.get,
                               help=t("data.text.stemming_help"))
        lowercase = c2.checkbox(t("data.text.lowercase"), cfg.lowercase, key="data_lower",
                                help=t("data.text.lowercase_help"))
        strip_html = c2.checkbox(t("data.text.html"), cfg.strip_html, key="data_html", help=t("data.text.html_help"))
        strip_urls = c2.checkbox(t("data.text.urls"), cfg.strip_urls, key="data_urls", help=t("data.text.urls_help"))
        stop = c2.checkbox(t("data.text.stopwords"), cfg.remove_stopwords, key="data_stop",
                           help=t("data.text.stopwords_help"))
        min_freq = c3.number_input(t("data.text.min_freq"), 1, 100, cfg.min_freq, key="data_min_freq",
                                   help=t("data.text.min_freq_help"))
        max_vocab = c3.number_input(t("data.text.max_vocab"), 100, 500_000, cfg.max_vocab, step=1000,
                                    key="data_max_vocab", help=t("data.text.max_vocab_help"))
        max_len = c3.number_input(t("data.text.max_len"), 8, 5000, cfg.max_len, key="data_max_len",
                                  help=t("data.text.max_len_help"))
        c1, c2, c3 = st.columns(3)
        val = c1.slider(t("data.split.val"), 0.05, 0.4, cfg.val_fraction, 0.05, key="data_val",
                        help=t("data.split.val_help"))
        test = c2.slider(t("data.split.test"), 0.0, 0.4, cfg.test_fraction, 0.05, key="data_test",
                         help=t("data.split.test_help"))
        seed = c3.number_input(t("data.split.seed"), 0, 10_000, cfg.seed, key="data_seed",
                               help=t("data.split.seed_help"))
        most = c1.number_input(t("data.text.max_train"), 0, 10_000_000, cfg.max_train_rows or 0, step=500,
                               key="data_max_train", help=t("data.text.max_train_help"))
        cfg = replace(cfg, tokenizer=tokenizer, stemmer=None if stemmer == "none" else stemmer, lowercase=lowercase,
                      strip_html=strip_html, strip_urls=strip_urls, remove_stopwords=stop, min_freq=int(min_freq),
                      max_vocab=int(max_vocab), max_len=int(max_len), val_fraction=val, test_fraction=test, seed=int(seed),
                      max_train_rows=max(int(most), 2) if most else None)
    return cfg


def show_overview(overview: dict) -> None:
    """Size, class balance, text lengths, examples, and one text going raw -> tokens -> ids."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("data.text.texts"), f"{overview['rows']:,}", help=t("data.text.texts_help"))
    c2.metric(t("data.classes"), len(overview["classes"]), help=t("data.classes_help"))
    c3.metric(t("data.text.vocabulary"), t("data.text.vocabulary_value", n=overview["vocab_size"]),
              help=t("data.text.vocabulary_help"))
    c4.metric(t("data.split.metric"), " / ".join(f"{overview['split'][k]:,}" for k in ("train", "val", "test")),
              help=t("data.split.metric_help"))
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.class_balance(overview["class_counts"]), width="stretch", key="data_balance")
    c1.caption(t("data.chart.balance_help"))
    c2.plotly_chart(charts.length_histogram(overview["words_per_text"]), width="stretch", key="data_lengths")
    c2.caption(t("data.chart.lengths_help"))
    st.subheader(t("data.text.examples"))
    st.dataframe(columns_in_words(pd.DataFrame(overview["samples"])), hide_index=True, width="stretch")
    st.subheader(t("data.text.trace"))
    trace = overview["trace"]
    st.markdown(t("data.text.trace_raw", text=trace["raw"]))
    st.markdown(t("data.text.trace_cleaned", text=trace["cleaned"]))
    st.markdown(t("data.text.trace_ids"))
    st.dataframe(pd.DataFrame([trace["ids"]], columns=[f"{i}:{tok}" for i, tok in enumerate(trace["tokens"])],
                              index=["id"]), width="stretch")
    if (m := overview.get("model_trace")) is not None:
        st.markdown(t("data.text.pieces", model=overview["model_name"]))
        st.dataframe(pd.DataFrame([m["ids"]], columns=[f"{i}:{p}" for i, p in enumerate(m["pieces"])], index=["id"]),
                     width="stretch")
    elif overview.get("model_trace_error"):
        st.caption(t("data.text.pieces_error", error=tr(overview["model_trace_error"])))
