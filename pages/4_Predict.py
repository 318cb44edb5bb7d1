"""Predict page: pick a saved run, type a sentence, see the verdict and the words behind it (LIME)."""
import streamlit as st

from bigmodel_core.explain.lime_text import explain_text
from bigmodel_core.runs.store import home_dir, list_runs
from ui import charts
from ui.feedback import guarded
from ui.highlight import highlight_html, legend_html
from ui.state import predictor

st.set_page_config(page_title="Predict · BigModel Lab", page_icon="🔍", layout="wide")
st.title("🔍 Predict & explain")
runs = [r for r in list_runs() if r.get("task", "text") == "text"]
if not runs:
    st.info("There is no trained model yet. Train one on the Train page first.", icon="📈")
    st.page_link("pages/3_Train.py", label="Go to Train", icon="➡️")
    st.stop()
ids = [r["id"] for r in runs]
by_id = {r["id"]: r for r in runs}
wanted = st.session_state.get("predict_run")
if wanted and wanted not in ids:
    st.warning(f"The run '{wanted}' is gone (it may have been deleted); showing the newest run instead.", icon="⚠️")
run_id = st.selectbox("Model (saved run)", ids, index=ids.index(wanted) if wanted in ids else 0, key="predict_run_pick",
                      format_func=lambda i: f"{i} · {by_id[i]['config']['model']['name']} · "
                                            f"val acc {by_id[i]['metrics']['val_accuracy']:.1%}")
text = st.text_input("Type a sentence", "not good at all, a boring film", key="predict_text", max_chars=2000)
with guarded():
    model = predictor(run_id, str(home_dir()))
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
