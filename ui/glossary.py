"""The glossary: every term the app uses, in English and in Chinese, each with a one-line explanation.

The texts are in assets/locales/{en,zh-CN}/glossary.json as `glossary.<term>.name` and `glossary.<term>.text`;
the page shows both languages side by side whatever the interface language, so a student can learn the
English word and its Chinese name together. GROUPS gives the terms in the course's order.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import i18n
from ui.i18n import t

GROUPS: dict[str, tuple[str, ...]] = {
    "data": ("dataset", "example", "label", "class", "training_set", "validation_set", "test_set", "overfitting",
             "accuracy", "f1", "confusion_matrix", "augmentation"),
    "training": ("model", "parameter", "weight", "bias", "layer", "activation", "forward_pass", "logit", "softmax",
                 "loss", "cross_entropy", "gradient", "gradient_norm", "backpropagation", "gradient_descent",
                 "learning_rate", "optimizer", "sgd", "adam", "weight_decay", "batch", "batch_size", "epoch", "step",
                 "dropout", "early_stopping", "checkpoint", "resume", "seed", "run"),
    "embeddings": ("token", "tokenizer", "vocabulary", "unknown_word", "embedding", "word2vec", "glove",
                   "context_window", "cosine_similarity", "analogy", "projection"),
    "rnn": ("rnn", "lstm", "gru", "hidden_state", "hidden_size", "gate", "bidirectional"),
    "attention": ("attention", "qkv", "head", "transformer"),
    "convolution": ("cnn", "convolution", "kernel", "stride", "padding", "channel", "pooling", "fully_connected"),
    "scale": ("flops", "scaling_law", "exponent", "log_scale", "sweep"),
    "pretraining": ("pretraining", "fine_tuning", "frozen_layers", "transfer_learning", "pretrained_model"),
    "distributed": ("distributed_training", "data_parallel", "process", "gpu", "mixed_precision",
                    "gradient_accumulation"),
    "compression": ("pruning", "sparsity", "quantization", "int8", "float32", "scale", "zero_point", "distillation",
                    "teacher", "student", "temperature", "soft_targets"),
    "deployment": ("deployment", "onnx", "rest_api", "json", "inference", "latency"),
    "explain": ("explanation", "lime", "integrated_gradients", "saliency"),
}
TERMS: tuple[str, ...] = tuple(term for terms in GROUPS.values() for term in terms)
SEARCH_KEY = "glossary_search"


@dataclass(frozen=True)
class Entry:
    id: str
    group: str
    name_en: str
    name_zh: str
    text_en: str
    text_zh: str

    def haystack(self) -> str:
        return " ".join((self.id.replace("_", " "), self.name_en, self.name_zh, self.text_en, self.text_zh)).casefold()


def entries() -> list[Entry]:
    """Every term with its name and explanation in both languages (English where a Chinese text is missing)."""
    en, zh = i18n.catalog("en"), i18n.catalog("zh-CN")
    out = []
    for group, terms in GROUPS.items():
        for term in terms:
            name, text = f"glossary.{term}.name", f"glossary.{term}.text"
            out.append(Entry(term, group, en.get(name, term), zh.get(name, en.get(name, term)), en.get(text, ""),
                             zh.get(text, en.get(text, ""))))
    return out


def matches(entry: Entry, query: str) -> bool:
    """Whether every word of `query` is found in the term's names or explanations, in either language."""
    words = str(query or "").casefold().split()
    hay = entry.haystack()
    return all(w in hay for w in words)


def search(query: str) -> list[Entry]:
    return [e for e in entries() if matches(e, query)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: list[Entry]) -> str:
    head = (f"| {t('glossary.col.name_en')} | {t('glossary.col.name_zh')} | {t('glossary.col.text_en')} | "
            f"{t('glossary.col.text_zh')} |\n|---|---|---|---|\n")
    return head + "\n".join(f"| **{_cell(e.name_en)}** | **{_cell(e.name_zh)}** | {_cell(e.text_en)} | {_cell(e.text_zh)} |"
                            for e in rows)


def render() -> None:
    """The glossary page's body: a search box, how many terms match, and one table per part of the course."""
    st.markdown(t("glossary.intro"))
    query = st.text_input(t("glossary.search"), key=SEARCH_KEY, placeholder=t("glossary.search_placeholder"))
    found = search(query or "")
    st.caption(t("glossary.count", shown=len(found), total=len(TERMS)))
    if not found:
        st.info(t("glossary.none", query=(query or "").strip()), icon="🔎")
        return
    for group in GROUPS:
        rows = [e for e in found if e.group == group]
        if rows:
            st.subheader(t(f"glossary.group.{group}"))
            st.markdown(_table(rows))
