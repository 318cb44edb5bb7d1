"""Predict page, text part: type a sentence, see the verdict and the words behind it.

LIME, Integrated Gradients and (Transformer runs) attention side by side, how far they agree,
and the attention of each layer and head as a word-by-word heat map. A model trained on Chinese
reviews gets a Chinese example sentence, and its words (jieba's) are highlighted like English ones.
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.runs import home_dir
from ui import charts, course, page, state
from ui.feedback import guarded
from ui.highlight import attention_legend_html, highlight_html, legend_html
from ui.i18n import t, tr

MEAN_OF_HEADS = "mean of all heads"  # the Head picker's options are code values: this, then "head 1", "head 2", ...
MAX_MAP_WORDS = 60  # a bigger word-by-word map is unreadable
# The sentence the box starts with, in the language the model was trained on (it is input, not interface)
EXAMPLES = {"en": "not good at all, a boring film", "zh": "这部电影一点也不好看，很无聊"}


def _model_language(model) -> str:
    """'zh' for a model whose vocabulary is mostly Chinese words, else 'en'."""
    pipeline = getattr(model, "pipeline", None)
    cfg = getattr(pipeline, "cfg", None)
    if getattr(cfg, "tokenizer", None) == "jieba":
        return "zh"
    words = list(getattr(pipeline, "itos", None) or [])[2:300]  # after <pad> and <unk>: the most frequent words
    if words:
        from bigmodel_core.data import choose_tokenizer

        return "zh" if choose_tokenizer(words) == "jieba" else "en"
    return "en"


def _sentence_box(model) -> str:
    example = EXAMPLES[_model_language(model)]
    if st.session_state.get("predict_text") in (None, *EXAMPLES.values()):  # untouched: the model's own example
        st.session_state["predict_text"] = example
    return st.text_input(t("predict.text.input"), key="predict_text", max_chars=2000,
                         help=t("predict.text.input_help"))


def render(model) -> None:
    """`model` is a loaded text Predictor."""
    text = _sentence_box(model)
    with guarded():
        result = model.predict(text)

    c1, c2 = st.columns([1, 1])
    c1.markdown(t("predict.verdict", label=result["prediction"]))
    c1.plotly_chart(charts.probabilities(result["probabilities"]), width="stretch", key="predict_probs")
    c1.caption(t("predict.text.probs_caption"))
    page.done("predict")
    unknown = [tok["token"] for tok in result["tokens"] if not tok["known"]]
    if result.get("warning"):
        c1.warning(tr(result["warning"]), icon="❓")
    elif unknown:
        c1.caption(t("predict.text.unknown_words", words=", ".join(f"`{u}`" for u in unknown)))

    with c2:
        st.markdown("### " + t("predict.text.why"))
        st.caption(t("predict.text.why_caption_attention" if _has_attention(model) else "predict.text.why_caption"))
        k1, k2, k3 = st.columns(3)
        samples = k1.select_slider(t("predict.samples"), [200, 500, 1000, 2000, 5000], 1000, key="predict_samples",
                                   help=t("predict.samples_help"))
        seed = k2.number_input(t("predict.seed"), 0, 10_000, 0, key="predict_seed", help=t("predict.seed_help"))
        classes = model.class_names
        if st.session_state.get("predict_label_for") != (model.run_id, text) or \
                st.session_state.get("predict_label") not in classes:  # a new sentence: explain its prediction
            st.session_state["predict_label_for"] = (model.run_id, text)
            st.session_state["predict_label"] = result["prediction"]
        label = k3.selectbox(t("predict.label"), classes, key="predict_label", help=t("predict.text.label_help"))
        course.explain("explain", method="lime", points=int(samples))
    with guarded():
        views = state.text_views(model.run_id, str(home_dir()), text, int(samples), int(seed), label)
    lime, ig, att = views["lime"], views["ig"], views["attention"]

    cols = st.columns(3 if att is not None else 2)
    with cols[0]:
        st.markdown("#### LIME")
        st.markdown(highlight_html(lime.tokens, lime.weights[lime.label], lime.known), unsafe_allow_html=True)
        st.caption(t("predict.text.lime_score", score=f"{lime.score:.2f}"))
    with cols[1]:
        st.markdown("#### " + t("predict.text.ig_name"))
        st.markdown(highlight_html(ig.tokens, ig.weights[ig.label], ig.known).replace(
            'class="bm-highlight"', 'class="bm-highlight bm-ig"'), unsafe_allow_html=True)
        st.caption(t("predict.text.ig_score", label=label, delta=f"{ig.score:.3f}"))
    if att is not None:
        with cols[2]:
            st.markdown("#### " + t("predict.text.rollout"))
            st.markdown(highlight_html(att.tokens, att.rollout.tolist(), lime.known, signed=False).replace(
                'class="bm-highlight"', 'class="bm-highlight bm-attention"'), unsafe_allow_html=True)
            st.markdown(attention_legend_html(), unsafe_allow_html=True)
            st.caption(t("predict.text.rollout_caption"))
    st.markdown(legend_html(label), unsafe_allow_html=True)
    page.done("inside")

    _agreement(views)
    w1, w2 = st.columns(2)
    w1.plotly_chart(charts.word_weights(lime.top(k=10), label), width="stretch", key="predict_weights")
    w1.caption(t("predict.text.weights_caption"))
    w2.plotly_chart(charts.word_weights(ig.top(k=10), label, t("predict.text.ig_name")), width="stretch",
                    key="predict_ig_weights")
    w2.caption(t("predict.text.ig_weights_caption"))
    if att is not None:
        _attention_maps(model, att)


def _has_attention(model) -> bool:
    from bigmodel_core.explain import has_attention

    return has_attention(model)


def _agreement(views: dict) -> None:
    st.markdown("#### " + t("predict.agree.title"))
    rows = views["agreement"]
    cols = st.columns(len(rows))
    for col, row in zip(cols, rows):
        rho = row["spearman"]
        col.metric(tr(row["methods"]), t("predict.agree.na") if rho is None else f"{rho:+.2f}",
                   help=t("predict.agree.help", compared=row["compared"]))
    st.caption(tr(views["why_different"]))


def _head_number(head: str) -> int:
    """0 for the mean of all heads, else the head's number (1, 2, ...)."""
    return 0 if head == MEAN_OF_HEADS else int(head.rsplit(" ", 1)[-1])


def _head_name(head: str) -> str:
    """A Head option as shown, in the user's language."""
    n = _head_number(head)
    return t("predict.att.mean_of_heads") if n == 0 else t("predict.att.head_n", n=n)


def _attention_maps(model, att) -> None:
    st.markdown("#### " + t("predict.att.title"))
    st.caption(t("predict.att.caption"))
    embedding = getattr(getattr(model, "model", None), "embedding", None)
    course.explain("attention", d_model=getattr(embedding, "embedding_dim", None), heads=att.heads)
    c1, c2 = st.columns(2)
    layer = c1.selectbox(t("predict.att.layer"), list(range(1, att.layers + 1)), key="predict_att_layer",
                         help=t("predict.att.layer_help"))
    heads = [MEAN_OF_HEADS] + [f"head {h}" for h in range(1, att.heads + 1)]
    head = c2.selectbox(t("predict.att.head"), heads, key="predict_att_head", format_func=_head_name,
                        help=t("predict.att.head_help"))
    grid = att.weights[layer - 1]
    matrix = grid.mean(0) if head == MEAN_OF_HEADS else grid[_head_number(head) - 1]
    shown = min(len(att.tokens), MAX_MAP_WORDS)
    st.plotly_chart(charts.attention_heatmap(att.tokens[:shown], matrix[:shown, :shown],
                                             t("predict.att.map_title", layer=layer, head=_head_name(head))),
                    width="stretch", key="predict_attention")
    if shown < len(att.tokens):
        st.caption(t("predict.att.cut", shown=shown, total=len(att.tokens)))
