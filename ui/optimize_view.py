"""The Optimize page's pieces: the three ways to shrink a run, the job that makes one, and the comparison."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import state
from ui.feedback import guarded, show_error

JOB_KEY = "optimize_job"


def _settings(kind: str) -> dict:
    """The settings of `kind` as its widgets hold them now (read in the callback, not bound at drawing time)."""
    s = st.session_state
    if kind == "prune":
        return {"sparsity": float(s["opt_sparsity"]), "scope": s["opt_scope"], "finetune_epochs": int(s["opt_finetune"])}
    if kind == "distil":
        return {"student": s["opt_student"], "temperature": float(s["opt_temperature"]), "alpha": float(s["opt_alpha"]),
                "epochs": int(s["opt_epochs"])}
    return {}


def submit(kind: str, parent: str) -> None:
    """Button callback: plan the derived run and queue it like any training job (live curves, Stop)."""
    from bigmodel_core.optimize import plan

    try:
        settings = _settings(kind)
        cfg = plan(kind, parent, **settings)
        job = state.job_manager().submit(cfg, owner=state.session_id())
    except Exception as exc:  # noqa: BLE001 - shown on the page below the buttons
        st.session_state["optimize_error"] = exc
        return
    st.session_state[JOB_KEY] = job.id


def current_job():
    job_id = st.session_state.get(JOB_KEY)
    state.job_manager().touch(job_id, state.session_id())
    return state.job_manager().get(job_id)


def controls(parent, busy: bool) -> None:
    """Prune / Quantize / Distil, each with its settings and one button."""
    from bigmodel_core.models import list_models, model_entry

    prune_tab, quant_tab, distil_tab = st.tabs(["✂️ Prune", "🔢 Quantize", "🎓 Distil"])
    with prune_tab:
        st.caption("Set the smallest weights to zero. Most networks barely notice losing half of them.")
        c1, c2, c3 = st.columns(3)
        share = c1.slider("Share of weights set to zero", 0.1, 0.95, 0.5, 0.05, key="opt_sparsity")
        scope = c2.radio("How", ["global", "layer"], key="opt_scope", horizontal=True,
                         format_func={"global": "all layers ranked together", "layer": "each layer alike"}.get)
        ft = c3.number_input("Fine-tune afterwards (epochs)", 0, 10, 0, key="opt_finetune",
                             help="A short training with the zeros held fixed wins back some accuracy.")
        st.button("✂️ Prune", key="opt_prune", disabled=busy, type="primary", on_click=submit, args=("prune", parent.id))
        st.caption(f"{share:.0%} of the weights {'overall' if scope == 'global' else 'of every layer'} become zero"
                   + (f", then {ft} epoch(s) of fine-tuning." if ft else "; no fine-tuning."))
    with quant_tab:
        st.caption("Store the weights of Linear, LSTM and GRU layers as 8-bit integers instead of 32-bit floats: "
                   "about 4× smaller for those layers, and faster on a CPU. A CNN is quantized statically: its convolutions too, "
                   "with the ranges of its activations measured on training pictures. Embeddings stay in 32-bit floats.")
        st.button("🔢 Quantize to int8", key="opt_quantize", disabled=busy, type="primary", on_click=submit,
                  args=("quantize", parent.id))
    with distil_tab:
        st.caption(f"Train a small student to copy this run's answers (its *soft* probabilities, not only the "
                   f"labels). The teacher is **{parent.name}** ({parent.model_name}).")
        students = [m for m in list_models(parent.task) if model_entry(m).pipeline is None]
        c1, c2, c3, c4 = st.columns(4)
        student = c1.selectbox("Student", students, index=students.index("lstm") if "lstm" in students else 0,
                               key="opt_student")
        temperature = c2.slider("Temperature", 1.0, 10.0, 4.0, 0.5, key="opt_temperature",
                                help="Higher spreads the teacher's probabilities, showing which wrong answers it "
                                     "finds nearly right.")
        alpha = c3.slider("Weight of the teacher", 0.0, 1.0, 0.7, 0.05, key="opt_alpha",
                          help="1: learn only from the teacher; 0: only from the labels.")
        epochs = c4.number_input("Epochs", 1, 50, 8, key="opt_epochs")
        st.button("🎓 Distil", key="opt_distil", disabled=busy, type="primary", on_click=submit, args=("distil", parent.id))
        st.caption(f"A {student} learns for {epochs} epochs; {alpha:.0%} of its loss is matching the teacher at "
                   f"temperature {temperature:g}.")
    if (error := st.session_state.pop("optimize_error", None)) is not None:
        show_error(error)


def comparison(parent, runs) -> None:
    """One table and chart for the run and everything made from it, measured alike."""
    from bigmodel_core.optimize import comparison as rows_of
    from bigmodel_core.optimize import family, measured

    members = family(runs, parent.id)
    with guarded(), st.spinner("Measuring size, speed and accuracy…"):
        members = measured(members, home=None)
    rows = rows_of(members)
    if len(rows) == 1:
        st.info("Prune, quantize or distil this run: the results appear here beside it.", icon="🗜️")
    table = pd.DataFrame(rows)
    st.dataframe(table.drop(columns=["size vs first"]), hide_index=True, width="stretch",
                 column_config={"file MB": st.column_config.NumberColumn(format="%.2f"),
                                "zipped MB": st.column_config.NumberColumn(format="%.2f"),
                                "ms (1)": st.column_config.NumberColumn(format="%.2f"),
                                "ms p95 (1)": st.column_config.NumberColumn(format="%.2f"),
                                "ms (32)": st.column_config.NumberColumn(format="%.1f"),
                                "accuracy": st.column_config.NumberColumn(format="%.3f"),
                                "macro-F1": st.column_config.NumberColumn(format="%.3f")})
    st.plotly_chart(chart(rows), width="stretch", key="opt_chart")
    if any(m.config.derive and m.config.derive.get("kind") == "prune" for m in members):
        st.caption("A pruned model stored as a plain file keeps its size: its zeros are still written out. They "
                   "only shrink it when zipped (the zipped column), or with sparse formats.")
    recipes = {(m.config.derive.get("recipe") or {}).get("kind") for m in members
               if m.config.derive and m.config.derive.get("kind") == "quantize"}
    if "dynamic_int8" in recipes and parent.task == "text":
        st.caption("int8 shrinks the Linear and LSTM layers about 4×; the word embeddings stay in 32-bit floats, "
                   "so a text model with a big vocabulary shrinks less.")
    if "static_int8" in recipes:
        st.caption("Static int8: the convolutions and linear layers store 8-bit weights, batch-norm is folded into "
                   "the convolution before it, and the pictures themselves travel through the network as 8-bit numbers.")
    pruned = [m for m in members if m.config.derive and m.config.derive.get("kind") == "prune"]
    if pruned:
        sparsity_chart(pruned[-1])


def chart(rows: list[dict]) -> go.Figure:
    """Size, zipped size, latency and accuracy of each run, as a share of the first run's."""
    from plotly.subplots import make_subplots

    names = [f"{r['run']}<br>({r['how']})" for r in rows]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("File and zipped size (MB)", "ms per sentence (batch 1)",
                                                        "Test accuracy"))
    fig.add_bar(x=names, y=[r["file MB"] for r in rows], name="file", row=1, col=1)
    fig.add_bar(x=names, y=[r["zipped MB"] for r in rows], name="zipped", row=1, col=1)
    fig.add_bar(x=names, y=[r["ms (1)"] for r in rows], name="ms", row=1, col=2, showlegend=False)
    fig.add_bar(x=names, y=[r["accuracy"] for r in rows], name="accuracy", row=1, col=3, showlegend=False)
    fig.update_layout(height=380, margin=dict(t=40, b=10), barmode="group")
    return fig


@st.cache_data(max_entries=8, show_spinner=False)
def _sparsity(run_id: str, home: str) -> list[dict]:
    from bigmodel_core.optimize import sparsity
    from bigmodel_core.serve import load_bundle

    return sparsity(load_bundle(run_id, home=home).model)


def sparsity_chart(run) -> None:
    from bigmodel_core.runs import home_dir

    rows = _sparsity(run.id, str(home_dir()))
    fig = go.Figure(go.Bar(x=[r["sparsity"] for r in rows], y=[r["layer"] for r in rows], orientation="h"))
    fig.update_layout(title=f"Share of zeros in each layer of {run.name}", height=120 + 24 * len(rows),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch", key="opt_sparsity_chart")
