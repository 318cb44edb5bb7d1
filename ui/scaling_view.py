"""The Scaling page's pieces: sweep settings, the Run sweep callback, and the live log-log plot with its fit."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from bigmodel_core.config import ModelConfig, RunConfig
from bigmodel_core.errors import error_texts
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
    fit_power_law,
    list_sweeps,
    plan_sweep,
    sweep_points,
    sweep_started,
)
from ui import course, state
from ui.feedback import show_error
from ui.i18n import t, tr
from ui.runs_view import shown_as, status_text
from ui.scaling_charts import SYMBOLS, plottable, scaling_plot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = ["tiny", "small", "medium", "large"]
SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
AXES = ("width", "depth", "both", "data")  # what grows: scaling.axis.<axis> in the locale files
DONE = ("done", "stopped", "failed")
COURSE_AXIS = {"parameters": "params", "train_examples": "data", "compute": "compute"}  # x axis -> course.explain's
# the table's columns -> their locale keys (scaling.col.<key> the header, scaling.col.<key>_help its help)
TABLE_COLUMNS = {"point": "point", "parameters": "parameters", "training examples": "train_examples",
                 "compute (FLOPs)": "compute", "validation loss": "val_loss", "validation accuracy": "val_accuracy",
                 "status": "status", "run": "run"}
TABLE_FORMATS = {"validation loss": "%.4f", "validation accuracy": "percent", "compute (FLOPs)": "%.3e"}


def axis_label(axis: str) -> str:
    """'wider (more units in each layer)', ...: what grows, for the radio."""
    return t(f"scaling.axis.{axis}") if axis in AXES else str(axis)


def x_label(x_key: str) -> str:
    """'parameters (model size)', ...: the x axis, for its picker."""
    return t(f"scaling.xlabel.{x_key}") if x_key in X_AXES else str(x_key)


def explanation() -> None:
    with st.expander(t("scaling.explanation_title"), expanded=True):
        st.markdown(t("scaling.explanation"))


def links() -> None:
    """Where the sweep's runs live on (Runs), and where their training settings come from (Train)."""
    c1, c2 = st.columns(2)
    if (ROOT / "pages" / "7_Runs.py").exists():
        c1.page_link("pages/7_Runs.py", label=t("scaling.link_runs"), icon="🗂️")
    else:
        c1.caption(t("scaling.saved_like_any"))
    c2.page_link("pages/3_Train.py", label=t("scaling.link_train"), icon="📈")


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
    model = c1.selectbox(t("scaling.model"), models, key="scaling_model", help=t("scaling.model_help"))
    axes = axes_for(model)
    _fix_choice("scaling_axis", axes, axes[0])
    axis = c2.radio(t("scaling.grows"), axes, key="scaling_axis", format_func=shown_as(axes, axis_label),
                    help=t("scaling.grows_help"))
    c1, c2 = st.columns(2)
    if axis == "data":
        s.setdefault("scaling_shares", list(DATA_FRACTIONS))
        picked = c1.multiselect(t("scaling.shares"), SHARES, key="scaling_shares", format_func=lambda f: f"{f:.0%}",
                                help=t("scaling.shares_help"))
    else:
        s.setdefault("scaling_sizes", list(DEFAULT_SIZES))
        picked = c1.multiselect(t("scaling.sizes"), list(SIZES), key="scaling_sizes",
                                help=t("scaling.sizes_help_width" if axis == "width" else "scaling.sizes_help_deeper"))
    with c2:
        budget = st.radio(t("scaling.budget"), ["epochs", "seconds"], key="scaling_budget", horizontal=True,
                          format_func=shown_as(["epochs", "seconds"], lambda b: t(f"scaling.budget.{b}")),
                          help=t("scaling.budget_help"))
        if budget == "epochs":
            st.number_input(t("scaling.epochs"), 1, 50, min(max(state.train_cfg().epochs, 1), 50), key="scaling_epochs",
                            help=t("scaling.epochs_help"))
        else:
            st.number_input(t("scaling.seconds"), 5, 3600, 30, step=5, key="scaling_seconds",
                            help=t("scaling.seconds_help"))
            st.caption(t("scaling.seconds_caption"))
    st.caption(t("scaling.data_caption", spec=state.data_cfg().spec))
    if not MIN_POINTS <= len(picked) <= MAX_POINTS:
        st.warning(t("scaling.points_warning", min=MIN_POINTS, max=MAX_POINTS, n=len(picked)), icon="☝️")
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
    c1.button(t("scaling.run"), type="primary", key="scaling_run", disabled=busy or not ok, on_click=start_sweep,
              help=t("scaling.run_help"))
    c2.button(t("scaling.stop"), key="scaling_stop", disabled=not busy, on_click=stop_sweep,
              help=t("scaling.stop_help"))
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
        grown = t(f"scaling.grown.{axis}") if axis in AXES else axis
        return t("scaling.sweep_label_yours" if sweep_id == own else "scaling.sweep_label", model=model, axis=grown,
                 data=data, when=when)

    labels = {i: name(i) for i in ids}  # worked out now: a format_func may be called outside this script run
    return st.selectbox(t("scaling.show"), ids, key="scaling_show", format_func=lambda i: labels.get(i, i),
                        help=t("scaling.show_help"))


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
        return t("scaling.point_preparing", point=point)
    last = next((e for e in reversed(log) if e.get("kind") == "batch_end"), None)
    epoch = last.get("epoch", 1) if last else 1
    budget = job.config.train.time_budget_s
    if budget:
        elapsed = (last or {}).get("metrics", {}).get("elapsed", 0.0)
        return t("scaling.point_seconds", point=point, epoch=epoch, elapsed=f"{elapsed:.0f}", budget=f"{budget:g}")
    return t("scaling.point_epochs", point=point, epoch=epoch, epochs=job.config.train.epochs)


def progress(sweep_id: str, runs: list) -> None:
    """'3 of 5 runs trained; training: small (epoch 2 of 5); waiting: medium, large'."""
    jobs = _jobs(sweep_id)
    if jobs:
        saved = {(r.config.sweep or {}).get("index") for r in runs if r.status == "finished"}
        trained = [j for j in jobs if j.status == "done" or j.config.sweep["index"] in saved]  # the run's record
        total, done = len(jobs), len(trained)  # is saved a moment before its job ends: either counts
        parts = [t("scaling.progress_trained", done=done, total=total)]
        sep = t("scaling.list_sep")
        if training := [_epoch_text(j) for j in jobs if j.status == "running" and j not in trained]:
            parts.append(t("scaling.progress_training", points=sep.join(training)))
        if waiting := [j.config.sweep["point"] for j in jobs if j.status == "queued"]:
            parts.append(t("scaling.progress_waiting", points=sep.join(waiting)))
        if stopped := [j.config.sweep["point"] for j in jobs if j.status == "stopped"]:
            parts.append(t("scaling.progress_stopped", points=sep.join(stopped)))
        if failed := [j.config.sweep["point"] for j in jobs if j.status == "failed"]:
            parts.append(t("scaling.progress_failed", points=sep.join(failed)))
        st.progress(done / max(total, 1), text=t("scaling.progress_sep").join(parts))
        for job in jobs:
            if job.status == "failed" and job.error:
                message, hint = error_texts(job.error)
                st.warning(t("scaling.point_failed", point=job.config.sweep["point"], message=tr(message)),
                           icon="⚠️")
                if hint:
                    st.caption(tr(hint))
        return
    done = sum(r.status == "finished" for r in runs)
    if any(r.status in ("queued", "running") for r in runs):
        st.progress(done / max(len(runs), 1), text=t("scaling.progress_others", done=done, total=len(runs)))


def default_x(axis: str | None) -> str:
    return "train_examples" if axis == "data" else "parameters"


def _x_choice(sweep_id: str, axis: str | None) -> str:
    s = st.session_state
    if s.get("scaling_x_for") != sweep_id:  # a new sweep on show: its natural x axis first
        s["scaling_x_for"], s["scaling_x"] = sweep_id, default_x(axis)
    return st.selectbox(t("scaling.x"), list(X_AXES), key="scaling_x", format_func=shown_as(X_AXES, x_label),
                        help=t("scaling.x_help"))


def fit_caption(fit: dict | None, x_key: str, n: int) -> str:
    if fit is None:
        if n < MIN_POINTS:
            return t("scaling.too_few_one" if n == 1 else "scaling.too_few", n=n, min=MIN_POINTS,
                     what=t(f"scaling.xname.{x_key}"))
        return t("scaling.no_fit")
    sym = SYMBOLS[x_key]
    b = f"b = {fit['b']:.2f}" + (f" ± {fit['b_stderr']:.2f}" if fit["b_stderr"] is not None else "")
    text = t("scaling.fitted", sym=sym, b=b, a=f"{fit['a']:.3g}", c=f"{fit['c']:.3f}", points=fit["points"])
    if fit["b_stderr"] is None:
        text += t("scaling.no_stderr")
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
                    "validation accuracy": p.get("val_accuracy"), "status": status_text(p.get("status")),
                    "run": p.get("run")})
    return pd.DataFrame(out)


def _table_config() -> dict[str, Any]:
    """The table's headers and one-line helps in this session's language."""
    out = {}
    for column, key in TABLE_COLUMNS.items():
        kind = st.column_config.TextColumn if column in ("point", "status", "run") else st.column_config.NumberColumn
        extra = {"format": TABLE_FORMATS[column]} if column in TABLE_FORMATS else {}
        out[column] = kind(t(f"scaling.col.{key}"), help=t(f"scaling.col.{key}_help"), **extra)
    return out


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
    st.plotly_chart(scaling_plot(shown, x_key, t(f"scaling.x.{x_key}"), fit), width="stretch", key="scaling_chart")
    st.caption(fit_caption(fit, x_key, len(shown)))
    st.caption(t("scaling.chart_caption") + (" " + t("scaling.compute_caption") if x_key == "compute" else ""))
    if (sentence := describe_fit(shown, fit, x_key, axis)) is not None:
        st.markdown(tr(sentence))
    st.dataframe(_table(points, jobs), hide_index=True, width="stretch", column_config=_table_config())
    course.explain("scale", axis=COURSE_AXIS.get(x_key), points=len(shown), exponent=fit["b"] if fit else None)
