"""The Optimize page's pieces: the three ways to shrink a run, the job that makes one, and the comparison."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import course, state
from ui.feedback import guarded, show_error
from ui.i18n import t, tr

JOB_KEY = "optimize_job"
SCOPES = ("global", "layer")
# the comparison table's columns (the engine's row keys) -> their locale key
COLUMNS = {"run": "run", "how": "how", "model": "model", "parameters": "parameters",
           "non-zero parameters": "nonzero", "file MB": "file_mb", "zipped MB": "zipped_mb", "ms (1)": "ms1",
           "ms p95 (1)": "ms95", "ms (32)": "ms32", "accuracy": "accuracy", "macro-F1": "macro_f1"}
FORMATS = {"file MB": "%.2f", "zipped MB": "%.2f", "ms (1)": "%.2f", "ms p95 (1)": "%.2f", "ms (32)": "%.1f",
           "accuracy": "%.3f", "macro-F1": "%.3f"}


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

    prune_tab, quant_tab, distil_tab = st.tabs([t("optimize.tab.prune"), t("optimize.tab.quantize"),
                                                t("optimize.tab.distil")])
    with prune_tab:
        st.caption(t("optimize.prune.intro"))
        c1, c2, c3 = st.columns(3)
        share = c1.slider(t("optimize.prune.share"), 0.1, 0.95, 0.5, 0.05, key="opt_sparsity",
                          help=t("optimize.prune.share_help"))
        scope = c2.radio(t("optimize.prune.scope"), list(SCOPES), key="opt_scope", horizontal=True,
                         format_func=lambda s: t(f"optimize.prune.scope.{s}"), help=t("optimize.prune.scope_help"))
        ft = c3.number_input(t("optimize.prune.finetune"), 0, 10, 0, key="opt_finetune",
                             help=t("optimize.prune.finetune_help"))
        st.button(t("optimize.prune.button"), key="opt_prune", disabled=busy, type="primary", on_click=submit,
                  args=("prune", parent.id), help=t("optimize.prune.button_help"))
        said = t("optimize.prune.summary.global" if scope == "global" else "optimize.prune.summary.layer", share=share)
        st.caption(said + (t("optimize.prune.summary.finetune", epochs=ft) if ft
                           else t("optimize.prune.summary.no_finetune")))
        course.explain("pruning", sparsity=share, params=parent.parameters)
    with quant_tab:
        st.caption(t("optimize.quantize.intro"))
        st.button(t("optimize.quantize.button"), key="opt_quantize", disabled=busy, type="primary", on_click=submit,
                  args=("quantize", parent.id), help=t("optimize.quantize.button_help"))
        course.explain("quantization", bits=8, params=parent.parameters, **_weights_of(parent.id))
    with distil_tab:
        st.caption(t("optimize.distil.intro", teacher=parent.name, model=parent.model_name))
        students = [m for m in list_models(parent.task) if model_entry(m).pipeline is None]
        c1, c2, c3, c4 = st.columns(4)
        student = c1.selectbox(t("optimize.distil.student"), students,
                               index=students.index("lstm") if "lstm" in students else 0, key="opt_student",
                               help=t("optimize.distil.student_help"))
        temperature = c2.slider(t("optimize.distil.temperature"), 1.0, 10.0, 4.0, 0.5, key="opt_temperature",
                                help=t("optimize.distil.temperature_help"))
        alpha = c3.slider(t("optimize.distil.alpha"), 0.0, 1.0, 0.7, 0.05, key="opt_alpha",
                          help=t("optimize.distil.alpha_help"))
        epochs = c4.number_input(t("optimize.distil.epochs"), 1, 50, 8, key="opt_epochs",
                                 help=t("optimize.distil.epochs_help"))
        st.button(t("optimize.distil.button"), key="opt_distil", disabled=busy, type="primary", on_click=submit,
                  args=("distil", parent.id), help=t("optimize.distil.button_help"))
        st.caption(t("optimize.distil.summary", student=student, epochs=epochs, alpha=alpha, temperature=temperature))
        course.explain("distillation", temperature=temperature, alpha=alpha, model=parent.model_name,
                       params=parent.parameters)
    if (error := st.session_state.pop("optimize_error", None)) is not None:
        show_error(error)


def _weights_of(run_id: str) -> dict:
    """{"model": the run's network} for the quantization explanation (its first weight matrix gives the live
    scale and zero point), or nothing when it cannot be loaded: the explanation then uses its example."""
    from bigmodel_core.runs import home_dir

    try:
        return {"model": state.predictor(run_id, str(home_dir())).model}
    except Exception:  # noqa: BLE001 - an illustration only: the page goes on without it
        return {}


def comparison(parent, runs) -> None:
    """One table and chart for the run and everything made from it, measured alike."""
    from bigmodel_core.optimize import comparison as rows_of
    from bigmodel_core.optimize import family, measured

    members = family(runs, parent.id)
    with guarded(), st.spinner(t("optimize.measuring")):
        members = measured(members, home=None)
    rows = [{**r, "how": tr(r["how"])} for r in rows_of(members)]
    if len(rows) == 1:
        st.info(t("optimize.compare.alone"), icon="🗜️")
    table = pd.DataFrame(rows).drop(columns=["size vs first"])
    labels = {column: t(f"optimize.col.{name}") for column, name in COLUMNS.items()}  # headers in this language
    config = {}
    for column, name in COLUMNS.items():
        help_text = t(f"optimize.col.{name}_help")
        config[labels[column]] = (st.column_config.NumberColumn(format=FORMATS[column], help=help_text)
                                  if column in FORMATS else st.column_config.Column(help=help_text))
    st.dataframe(table.rename(columns=labels), hide_index=True, width="stretch", column_config=config)
    st.plotly_chart(chart(rows), width="stretch", key="opt_chart")
    st.caption(t("optimize.chart.caption"))
    if any(m.config.derive and m.config.derive.get("kind") == "prune" for m in members):
        st.caption(t("optimize.compare.pruned_size"))
    recipes = {(m.config.derive.get("recipe") or {}).get("kind") for m in members
               if m.config.derive and m.config.derive.get("kind") == "quantize"}
    if "dynamic_int8" in recipes and parent.task == "text":
        st.caption(t("optimize.compare.int8_text"))
    if "static_int8" in recipes:
        st.caption(t("optimize.compare.int8_static"))
    pruned = [m for m in members if m.config.derive and m.config.derive.get("kind") == "prune"]
    if pruned:
        sparsity_chart(pruned[-1])


def chart(rows: list[dict]) -> go.Figure:
    """Size, zipped size, latency and accuracy of each run, side by side."""
    from plotly.subplots import make_subplots

    names = [f"{r['run']}<br>({tr(r['how'])})" for r in rows]
    fig = make_subplots(rows=1, cols=3, subplot_titles=(t("optimize.chart.size"), t("optimize.chart.latency"),
                                                        t("optimize.chart.accuracy")))
    fig.add_bar(x=names, y=[r["file MB"] for r in rows], name=t("optimize.chart.file"), row=1, col=1)
    fig.add_bar(x=names, y=[r["zipped MB"] for r in rows], name=t("optimize.chart.zipped"), row=1, col=1)
    fig.add_bar(x=names, y=[r["ms (1)"] for r in rows], name=t("optimize.chart.ms"), row=1, col=2, showlegend=False)
    fig.add_bar(x=names, y=[r["accuracy"] for r in rows], name=t("optimize.chart.accuracy_bar"), row=1, col=3,
                showlegend=False)
    fig.update_yaxes(title_text=t("optimize.chart.axis_mb"), row=1, col=1)
    fig.update_yaxes(title_text=t("optimize.chart.axis_ms"), row=1, col=2)
    fig.update_yaxes(title_text=t("optimize.chart.axis_accuracy"), row=1, col=3)
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
    fig = go.Figure(go.Bar(x=[r["sparsity"] for r in rows], y=[r["layer"] for r in rows], orientation="h",
                           name=t("optimize.sparsity.axis_x")))
    fig.update_layout(title=t("optimize.sparsity.title", name=run.name), height=120 + 24 * len(rows),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title=t("optimize.sparsity.axis_x")),
                      yaxis=dict(title=t("optimize.sparsity.axis_y")), margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch", key="opt_sparsity_chart")
    st.caption(t("optimize.sparsity.caption"))

