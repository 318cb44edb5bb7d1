"""Predict page, text part: type a sentence, see the verdict and the words behind it.

LIME, Integrated Gradients and (Transformer runs) attention side by side, how far they agree,
and the attention of each layer and head as a word-by-word heat map.
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.runs import home_dir
from ui import charts, state
from ui.feedback import guarded
from ui.highlight import attention_legend_html, highlight_html, legend_html

MEAN_OF_HEADS = "mean of all heads"
MAX_MAP_WORDS = 60  # a bigger word-by-word map is unreadable


def render(model) -> None:
    """`model` is a loaded text Predictor."""
    text = st.text_input("Type a sentence", "not good at all, a boring film", key="predict_text", max_chars=2000)
    with guarded():
        result = model.predict(text)

    c1, c2 = st.columns([1, 1])
    c1.markdown(f"### Prediction: **{result['prediction']}**")
    c1.plotly_chart(charts.probabilities(result["probabilities"]), width="stretch", key="predict_probs")
    unknown = [t["token"] for t in result["tokens"] if not t["known"]]
    if result.get("warning"):
        c1.warning(result["warning"], icon="❓")
    elif unknown:
        c1.caption("Words the model never saw in training (it reads them as *unknown*): " + ", ".join(f"`{u}`" for u in unknown))

    with c2:
        st.markdown("### Why?")
        st.caption("Three ways to ask which words mattered. **LIME** hides random words and watches the "
                   "prediction change; **Integrated Gradients** follows the gradient as each word's vector "
                   "grows from nothing to itself" + ("; **attention** shows where the Transformer looks." if
                                                      _has_attention(model) else "."))
        k1, k2, k3 = st.columns(3)
        samples = k1.select_slider("LIME samples", [200, 500, 1000, 2000, 5000], 1000, key="predict_samples",
                                   help="More samples: steadier LIME weights, slower.")
        seed = k2.number_input("Seed", 0, 10_000, 0, key="predict_seed", help="The same seed gives the same explanation.")
        classes = model.class_names
        if st.session_state.get("predict_label_for") != (model.run_id, text) or \
                st.session_state.get("predict_label") not in classes:  # a new sentence: explain its prediction
            st.session_state["predict_label_for"] = (model.run_id, text)
            st.session_state["predict_label"] = result["prediction"]
        label = k3.selectbox("Class to explain", classes, key="predict_label")
    with guarded():
        views = state.text_views(model.run_id, str(home_dir()), text, int(samples), int(seed), label)
    lime, ig, att = views["lime"], views["ig"], views["attention"]

    cols = st.columns(3 if att is not None else 2)
    with cols[0]:
        st.markdown("#### LIME")
        st.markdown(highlight_html(lime.tokens, lime.weights[lime.label], lime.known), unsafe_allow_html=True)
        st.caption(f"How well LIME's simple model mimics the network around this sentence (R²): {lime.score:.2f}")
    with cols[1]:
        st.markdown("#### Integrated gradients")
        st.markdown(highlight_html(ig.tokens, ig.weights[ig.label], ig.known).replace(
            'class="bm-highlight"', 'class="bm-highlight bm-ig"'), unsafe_allow_html=True)
        st.caption(f"The word scores add up to how far this sentence moves the '{label}' score away from a "
                   f"blank one (off by {ig.score:.3f}).")
    if att is not None:
        with cols[2]:
            st.markdown("#### Attention (rollout)")
            st.markdown(highlight_html(att.tokens, att.rollout.tolist(), lime.known, signed=False).replace(
                'class="bm-highlight"', 'class="bm-highlight bm-attention"'), unsafe_allow_html=True)
            st.markdown(attention_legend_html(), unsafe_allow_html=True)
    st.markdown(legend_html(label), unsafe_allow_html=True)

    _agreement(views)
    w1, w2 = st.columns(2)
    w1.plotly_chart(charts.word_weights(lime.top(k=10), label), width="stretch", key="predict_weights")
    w2.plotly_chart(charts.word_weights(ig.top(k=10), label, "Integrated gradients"), width="stretch",
                    key="predict_ig_weights")
    if att is not None:
        _attention_maps(att)


def _has_attention(model) -> bool:
    from bigmodel_core.explain import has_attention

    return has_attention(model)


def _agreement(views: dict) -> None:
    st.markdown("#### Do the methods agree?")
    rows = views["agreement"]
    cols = st.columns(len(rows))
    for col, row in zip(cols, rows):
        rho = row["spearman"]
        col.metric(row["methods"], "n/a" if rho is None else f"{rho:+.2f}",
                   help=f"Spearman rank correlation of the word weights ({row['compared']}): +1 = same order, "
                        "0 = unrelated, −1 = opposite order. n/a: fewer than 3 words, or one method weighs all words the same.")
    st.caption(views["why_different"])


def _attention_maps(att) -> None:
    st.markdown("#### Attention, layer by layer")
    st.caption("Each row is a word looking at the sentence; its colours (summing to 1) show how much it "
               "takes from each word. Each layer has several heads that learn to look for different things.")
    c1, c2 = st.columns(2)
    layer = c1.selectbox("Layer", list(range(1, att.layers + 1)), key="predict_att_layer")
    heads = [MEAN_OF_HEADS] + [f"head {h}" for h in range(1, att.heads + 1)]
    head = c2.selectbox("Head", heads, key="predict_att_head")
    grid = att.weights[layer - 1]
    matrix = grid.mean(0) if head == MEAN_OF_HEADS else grid[heads.index(head) - 1]
    shown = min(len(att.tokens), MAX_MAP_WORDS)
    st.plotly_chart(charts.attention_heatmap(att.tokens[:shown], matrix[:shown, :shown], f"Layer {layer}, {head}"),
                    width="stretch", key="predict_attention")
    if shown < len(att.tokens):
        st.caption(f"The map shows the first {shown} of {len(att.tokens)} words (their rows then sum to a little "
                   "less than 1: the rest went to later words).")
