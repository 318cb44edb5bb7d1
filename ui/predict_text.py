"""Predict page, text part: type a sentence, see the verdict and the words behind it (LIME)."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.explain.lime_text import explain_text
from ui import charts
from ui.feedback import guarded
from ui.highlight import highlight_html, legend_html


def render(model) -> None:
    """`model` is a loaded text Predictor."""
    text = st.text_input("Type a sentence", "not good at all, a boring film", key="predict_text", max_chars=2000)
    with guarded():
        result = model.predict(text)

    c1, c2 = st.columns([1, 1])
    c1.markdown(f"### Prediction: **{result['prediction']}**")
    c1.plotly_chart(charts.probabilities(result["probabilities"]), width="stretch", key="predict_probs")
    unknown = [t["token"] for t in result["tokens"] if not t["known"]]
    if unknown:
        c1.caption("Words the model never saw in training (it reads them as *unknown*): " + ", ".join(f"`{u}`" for u in unknown))

    with c2:
        st.markdown("### Why? (LIME)")
        st.caption("LIME hides random words, watches how the prediction changes, and fits a simple model: "
                   "each word gets a weight for how much it pushed toward the class.")
        k1, k2, k3 = st.columns(3)
        samples = k1.select_slider("Samples", [200, 500, 1000, 2000, 5000], 1000, key="predict_samples",
                                   help="More samples: steadier weights, slower.")
        seed = k2.number_input("Seed", 0, 10_000, 0, key="predict_seed", help="The same seed gives the same explanation.")
        classes = model.class_names
        label = k3.selectbox("Class to explain", classes, index=classes.index(result["prediction"]), key="predict_label")
    with guarded():
        exp = explain_text(model, text, num_samples=samples, seed=int(seed), label=label)
    with c2:
        st.markdown(highlight_html(exp.tokens, exp.weights[exp.label], exp.known), unsafe_allow_html=True)
        st.markdown(legend_html(label), unsafe_allow_html=True)
        st.plotly_chart(charts.word_weights(exp.top(k=10), label), width="stretch", key="predict_weights")
        st.caption(f"How well LIME's simple model mimics the network around this sentence (R²): {exp.score:.2f}")
