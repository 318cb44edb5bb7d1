"""The Scaling page's pieces: sweep settings, the Run sweep callback, and the live log-log plot with its fit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from bigmodel_core.config import ModelConfig, RunConfig
from bigmodel_core.models import list_models
from bigmodel_core.runs import scan_runs
from bigmodel_core.training import (
    DATA_FRACTIONS,
    MAX_POINTS,
    MIN_POINTS,
    SIZES,
    X_AXES,
    axes_for,
    describe_fit,
    sweep_started,
    fit_power_law,
    list_sweeps,
    plan_sweep,
    sweep_points,
)
from ui import state
from ui.feedback import show_error
from ui.scaling_charts import SYMBOLS, plottable, scaling_plot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = ["tiny", "small", "medium", "large"]
SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
AXIS_LABELS = {"width": "wider (more units in each layer)", "depth": "deeper (more layers)",
               "both": "wider and deeper together", "data": "more data (10 % → 100 % of the training set)"}
X_LABELS = {"parameters": "parameters (model size)", "compute": "training compute (FLOPs × examples seen)",
            "train_examples": "training examples (data size)"}
DONE = ("done", "stopped", "failed")

EXPLANATION = (
    "**What is a scaling law?** Train the same kind of model several times, each time a bit bigger (or on more "
    "data), and note how wrong it still is on examples it never saw: its *validation loss*. Researchers found that, "
    "drawn on log-log axes, these points fall close to a smooth curve, a *power law* "
    "**L = a·N^−b + c**: every time the model (N) doubles, the loss falls by about the same share, and the "
    "exponent **b** says how fast. The curve does not fall forever: **c** is the floor that this much data "
    "allows. When the data is small, the biggest models stop helping (they only learn the training examples by "
    "heart), the curve flattens onto that floor, and your own sweep shows where it happens. More data lowers "
    "the floor; that is why large language models are trained on so much text.")


def explanation() -> None:
    with st.expander("What is a scaling law?", expanded=True):
        st.markdown(EXPLANATION)


def links() -> None:
    """Where the sweep's runs live on (Runs), and where their training settings come from (Train)."""
    c1, c2 = st.columns(2)
    if (ROOT / "pages" / "7_Runs.py").exists():
        c1.page_link("pages/7_Runs.py", label="See the sweep's runs on the Runs page", icon="🗂️")
    else:
        c1.caption("Each run of a sweep is saved like any other run.")
    c2.page_link("pages/3_Train.py", label="Change batch size, learning rate, … on the Train page", icon="📈")


# ---- the settings ---------------------------------------------------------------------------------------


def _models() -> list[str]:
    return list_models(state.data_task(state.data_cfg()))


def _fix_choice(key: str, options: list, default: Any) -> None:
    """A remembered choice that the current options no longer hold (another dataset or model) goes back to default."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def settings() -> bool:
    """The sweep's widgets; True when the chosen points make a sweep (MIN_POINTS..MAX_POINTS of them)."""
    s = st.session_state
    models = _models()
    chosen = state.model_cfg().name
    _fix_choice("scaling_model", models, chosen if chosen in models else models[0])
    c1, c2 = st.columns(2)
    model = c1.selectbox("Model family", models, key="scaling_model",
                         help="The same kind of network is trained at every point; only what grows changes.")
    axes = axes_for(model)
    _fix_choice("scaling_axis", axes, axes[0])
    axis = c2.radio("What grows", axes, key="scaling_axis", format_func=AXIS_LABELS.get,
                    help="Width: more units (filters, channels) per layer. Depth: more layers. "
                         "More data: the same model on a growing share of the training set.")
    c1, c2 = st.columns(2)
    if axis == "data":
        s.setdefault("scaling_shares", list(DATA_FRACTIONS))
        picked = c1.multiselect("Shares of the training set", SHARES, key="scaling_shares",
                                format_func=lambda f: f"{f:.0%}",
                                help="Each point trains on this share of the training texts; the validation "
                                     "and test sets stay the same.")
    else:
        s.setdefault("scaling_sizes", list(DEFAULT_SIZES))
        picked = c1.multiselect("Model sizes", list(SIZES), key="scaling_sizes",
                                help="From nano (a few thousand parameters) up to 3xl; each size is twice as wide "
                                     "as the one before" + (" and deeper" if axis != "width" else "") + ".")
    with c2:
        budget = st.radio("Budget for each run", ["epochs", "seconds"], key="scaling_budget", horizontal=True,
                          format_func={"epochs": "a number of epochs", "seconds": "a number of seconds"}.get)
        if budget == "epochs":
            st.number_input("Epochs per run", 1, 50, min(max(state.train_cfg().epochs, 1), 50), key="scaling_epochs")
        else:
            st.number_input("Seconds per run", 5, 3600, 30, step=5, key="scaling_seconds")
            st.caption("Each run trains until its seconds are used (the learning rate warms up and decays over "
                       "them), or earlier when it stops improving.")
    st.caption(f"Data **{state.data_cfg().spec}**: choose another on the Data page. Batch size, learning rate and "
               "the other training settings come from the Train page.")
    if not MIN_POINTS <= len(picked) <= MAX_POINTS:
        st.warning(f"Choose between {MIN_POINTS} and {MAX_POINTS} points (you chose {len(picked)}): "
                   f"a curve needs at least {MIN_POINTS} points to fit.", icon="☝️")
        return False
    return True


def _planned() -> list[RunConfig]:
    """The sweep's runs, as the widgets hold the choices (read from session state: this runs in a callback)."""
    s = st.session_state
    axis = s["scaling_axis"]
    base = RunConfig(data=state.data_cfg(), model=ModelConfig(s["scaling_model"]), train=state.train_cfg())
    points = s["scaling_shares"] if axis == "data" else s["scaling_sizes"]
    if s.get("scaling_budget", "epochs") == "epochs":
        return plan_sweep(base, axis, points, epochs=int(s.get("scaling_epochs", base.train.epochs)))
    return plan_sweep(base, axis, points, seconds=float(s.get("scaling_seconds", 30)))


def start_sweep() -> None:
    """on_click of Run sweep: plan the sweep and queue every point as a job, in order."""
    s = st.session_state
    s.pop("scaling_error", None)
    try:
        configs = _planned()
        jobs = [state.job_manager().submit(cfg, owner=state.session_id()) for cfg in configs]
    except Exception as exc:  # noqa: BLE001 - shown on the page by start_error()
        s["scaling_error"] = exc
        return
    sweep_id = configs[0].sweep["id"]
    s["scaling_sweep"], s["scaling_jobs"] = sweep_id, [j.id for j in jobs]
    s["scaling_sweep_meta"] = {"model": configs[0].model.name, "axis": configs[0].sweep["axis"],
                               "data": configs[0].data.spec}
    s["scaling_show"] = sweep_id


def stop_sweep() -> None:
    """on_click of Stop: cancel the waiting points and stop the one training (what it learned is kept)."""
    for job in _jobs():
        if not job.finished:
            state.job_manager().stop(job.id, owner=state.session_id())


def start_error() -> None:
    if (error := st.session_state.pop("scaling_error", None)) is not None:
        show_error(error)


def _jobs(sweep_id: str | None = None) -> list:
    """This session's sweep jobs (those the server still remembers), if `sweep_id` is that sweep."""
    s = st.session_state
    if sweep_id is not None and sweep_id != s.get("scaling_sweep"):
        return []
    manager = state.job_manager()
    out = []
    for job_id in s.get("scaling_jobs", []):
        manager.touch(job_id, state.session_id())
        if (job := manager.get(job_id)) is not None:
            out.append(job)
    return out


def running() -> bool:
    """True while this session's own sweep still has points waiting or training."""
    return any(not job.finished for job in _jobs())


def buttons(ok: bool) -> None:
    busy = running()
    c1, c2, _ = st.columns([1, 1, 4])
    c1.button("▶ Run sweep", type="primary", key="scaling_run", disabled=busy or not ok, on_click=start_sweep,
              help="Trains one run per point, one after the other; the plot fills in as each finishes.")
    c2.button("⏹ Stop", key="scaling_stop", disabled=not busy, on_click=stop_sweep,
              help="Cancels the points still waiting and stops the one training; finished points stay.")
    start_error()


# ---- showing a sweep ------------------------------------------------------------------------------------


def choose_sweep() -> str | None:
    """The sweep to show: this session's latest, or one picked from the saved sweeps (newest first)."""
    s = st.session_state
    groups = {g["id"]: g for g in list_sweeps(scan_runs()[0])}
    ids = list(groups)
    own = s.get("scaling_sweep")
    if own and own not in groups:  # queued: no run of it is saved yet
        ids.insert(0, own)
    if not ids:
        return None
    _fix_choice("scaling_show", ids, own or ids[0])

    def name(sweep_id: str) -> str:
        """A label that stays the same while the sweep fills in (a selectbox does not redraw a changed label)."""
        g = groups.get(sweep_id)
        if g is not None:
            model, axis, data = g["model"], g["axis"], g["data"]
        else:  # this session's sweep before its first run is saved: the same words, kept when it started
            meta = s.get("scaling_sweep_meta") or {}
            model, axis, data = meta.get("model", "?"), meta.get("axis", "?"), meta.get("data", "?")
        when = sweep_started(sweep_id)
        mine = " · yours" if sweep_id == own else ""
        return f"{model} · grows {axis} · {data} · {when}{mine}"

    labels = {i: name(i) for i in ids}  # worked out now: a format_func may be called outside this script run
    return st.selectbox("Sweep shown", ids, key="scaling_show", format_func=lambda i: labels.get(i, i),
                        help="Every sweep is saved: pick an earlier one to look at it again.")


def busy(sweep_id: str) -> bool:
    """True while some point of the sweep is waiting or training (the live view then redraws every second)."""
    if any(not job.finished for job in _jobs(sweep_id)):
        return True
    runs, _ = scan_runs(sweep=sweep_id)
    return any(r.status in ("queued", "running") for r in runs)


def _epoch_text(job) -> str:
    log = list(job.log)  # a snapshot: the worker keeps appending
    point = job.config.sweep["point"]
    if not any(e.get("kind") == "fit_start" for e in log):
        return f"{point} (preparing the data and the model)"
    last = next((e for e in reversed(log) if e.get("kind") == "batch_end"), None)
    epoch = last.get("epoch", 1) if last else 1
    budget = job.config.train.time_budget_s
    if budget:
        elapsed = (last or {}).get("metrics", {}).get("elapsed", 0.0)
        return f"{point} (epoch {epoch}, {elapsed:.0f} s of {budget:g} s)"
    return f"{point} (epoch {epoch} of {job.config.train.epochs})"


def progress(sweep_id: str, runs: list) -> None:
    """'3 of 5 runs trained; training: small (epoch 2 of 5); waiting: medium, large'."""
    jobs = _jobs(sweep_id)
    if jobs:
        saved = {(r.config.sweep or {}).get("index") for r in runs if r.status == "finished"}
        trained = [j for j in jobs if j.status == "done" or j.config.sweep["index"] in saved]  # the run's record
        total, done = len(jobs), len(trained)  # is saved a moment before its job ends: either counts
        parts = [f"{done} of {total} runs trained"]
        if training := [_epoch_text(j) for j in jobs if j.status == "running" and j not in trained]:
            parts.append("training: " + ", ".join(training))
        if waiting := [j.config.sweep["point"] for j in jobs if j.status == "queued"]:
            parts.append("waiting: " + ", ".join(waiting))
        if stopped := [j.config.sweep["point"] for j in jobs if j.status == "stopped"]:
            parts.append("stopped: " + ", ".join(stopped))
        if failed := [j.config.sweep["point"] for j in jobs if j.status == "failed"]:
            parts.append("failed: " + ", ".join(failed))
        st.progress(done / max(total, 1), text="; ".join(parts))
        for job in jobs:
            if job.status == "failed" and job.error:
                st.warning(f"The {job.config.sweep['point']} run failed: {job.error['message']}", icon="⚠️")
                if job.error.get("hint"):
                    st.caption(job.error["hint"])
        return
    done = sum(r.status == "finished" for r in runs)
    if any(r.status in ("queued", "running") for r in runs):
        st.progress(done / max(len(runs), 1), text=f"{done} of {len(runs)} runs trained; the others are training")


def default_x(axis: str | None) -> str:
    return "train_examples" if axis == "data" else "parameters"


def _x_choice(sweep_id: str, axis: str | None) -> str:
    s = st.session_state
    if s.get("scaling_x_for") != sweep_id:  # a new sweep on show: its natural x axis first
        s["scaling_x_for"], s["scaling_x"] = sweep_id, default_x(axis)
    return st.selectbox("Plot the loss against", list(X_AXES), key="scaling_x", format_func=X_LABELS.get,
                        help="Parameters: the model's size. Compute: FLOPs for one example × examples seen "
                             "in training. Training examples: the size of the training set.")


def fit_caption(fit: dict | None, x_key: str, n: int) -> str:
    if fit is None:
        if n < MIN_POINTS:
            return (f"{n} point{'s' * (n != 1)} so far: a fitted curve needs at least {MIN_POINTS} points "
                    f"with different {X_LABELS[x_key].split(' (')[0]}.")
        return "No power law fits these points (they may not fall as the size grows)."
    sym = SYMBOLS[x_key]
    b = f"b = {fit['b']:.2f}" + (f" ± {fit['b_stderr']:.2f}" if fit["b_stderr"] is not None else "")
    text = f"Fitted: L = a·{sym}^−b + c, {b}, a = {fit['a']:.3g}, floor c = {fit['c']:.3f} ({fit['points']} points)."
    if fit["b_stderr"] is None:
        text += " With only 3 points the exponent has no uncertainty estimate; add points to get one."
    return text


def _table(points: list[dict], jobs: list) -> pd.DataFrame:
    rows = {p["index"]: p for p in points}
    for job in jobs:  # points not saved yet: waiting in the queue, or preparing
        label = job.config.sweep
        if label["index"] not in rows:
            rows[label["index"]] = {"point": label["point"], "status": {"queued": "waiting"}.get(job.status, job.status)}
    out = []
    for _, p in sorted(rows.items()):
        out.append({"point": p.get("point"), "parameters": p.get("parameters"), "training examples": p.get("train_examples"),
                    "compute (FLOPs)": p.get("compute"), "validation loss": p.get("val_loss"),
                    "validation accuracy": p.get("val_accuracy"), "status": p.get("status"), "run": p.get("run")})
    return pd.DataFrame(out)


def render_sweep(sweep_id: str) -> None:
    """Progress, the log-log plot with its fitted law, and the table of points; redrawn every second while busy."""
    runs, _ = scan_runs(sweep=sweep_id)
    jobs = _jobs(sweep_id)
    axis = (runs[0].config.sweep or {}).get("axis") if runs else (jobs[0].config.sweep["axis"] if jobs else None)
    progress(sweep_id, runs)
    points = sweep_points(runs)
    trained = [p for p in points if p["status"] == "finished"]
    x_key = _x_choice(sweep_id, axis)
    shown = plottable(trained, x_key)
    fit = fit_power_law([p[x_key] for p in shown], [p["val_loss"] for p in shown]) if len(shown) >= MIN_POINTS else None
    st.plotly_chart(scaling_plot(shown, x_key, X_AXES[x_key], fit), width="stretch", key="scaling_chart")
    st.caption(fit_caption(fit, x_key, len(shown)))
    if (sentence := describe_fit(shown, fit, x_key, axis)) is not None:
        st.markdown(sentence)
    st.dataframe(_table(points, jobs), hide_index=True, width="stretch",
                 column_config={"validation loss": st.column_config.NumberColumn(format="%.4f"),
                                "validation accuracy": st.column_config.NumberColumn(format="percent"),
                                "compute (FLOPs)": st.column_config.NumberColumn(format="%.3e")})
