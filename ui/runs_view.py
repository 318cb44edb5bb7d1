"""The Runs page's pieces: the run table and its filters, comparing runs, managing one run, importing one.

Buttons act in on_click callbacks (they read the widgets from st.session_state) and leave one
message in session state for the section to show on the rerun that follows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from bigmodel_core.runs import (
    CURVE_METRICS,
    MAX_COMPARED,
    X_AXES,
    RunInfo,
    best_badges,
    home_dir,
    small_vs_big,
    delete_run,
    export_tensorboard,
    export_zip,
    filter_runs,
    import_zip,
    metrics_in,
    overlay,
    read_run,
    settings_diff,
    table_rows,
    update_run,
)
from ui import charts, state
from ui.feedback import show_error

STATUS_ORDER = ["running", "queued", "finished", "stopped", "interrupted", "failed"]
COLUMNS = ["name", "model", "data", "parameters", "val accuracy", "val loss", "seconds", "epochs", "status",
           "tags", "sweep", "made from", "best at", "created"]
COLUMN_CONFIG = {
    "parameters": st.column_config.NumberColumn("parameters", format="compact", help="Weights the model learns."),
    "val accuracy": st.column_config.NumberColumn("best val accuracy", format="percent",
                                                  help="Accuracy on the validation split, at the best epoch."),
    "val loss": st.column_config.NumberColumn("val loss", format="%.4f"),
    "seconds": st.column_config.NumberColumn("time", format="%.1f s", help="Training time."),
    "epochs": st.column_config.NumberColumn("epochs", help="Whole epochs trained."),
    "sweep": st.column_config.TextColumn("sweep", help="The scaling sweep this run is a point of."),
    "best at": st.column_config.TextColumn("🏆 best at", help="What this run does best among the runs shown."),
}


def label(run: RunInfo) -> str:
    """A run's name, with its id when it was renamed."""
    return run.name if run.name == run.id else f"{run.name} ({run.id})"


def _sweep(run: RunInfo) -> str:
    return str((run.config.sweep or {}).get("id") or "")


def _keep_known(key: str, options: list[Any], many: bool = False) -> None:
    """Drop a remembered choice that is no longer offered (a run deleted, a filter value gone)."""
    s = st.session_state
    if many and key in s:
        s[key] = [v for v in s[key] if v in options]
    elif not many and key in s and s[key] not in options:
        del s[key]


def _flash(kind: str, what: Any, key: str = "runs_flash") -> None:
    st.session_state[key] = (kind, what)


def show_flash(key: str = "runs_flash") -> None:
    """The message the last button left: a success, a warning, or an error with its hint."""
    kind, what = st.session_state.pop(key, (None, None))
    if kind == "error":
        show_error(what)
    elif kind:
        getattr(st, kind)(what, icon="✅" if kind == "success" else "👉")


def _guard(action: Callable[[], None], key: str = "runs_flash") -> Callable[[], None]:
    """A callback that keeps any error for the page to show instead of stopping the app."""
    def callback() -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - shown by show_flash
            _flash("error", exc, key)
    return callback


def run_table(runs: list[RunInfo]) -> list[RunInfo]:
    """Filters and the sortable table (sweep runs side by side); returns the runs it shows."""
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    c1.text_input("Search", key="runs_search", placeholder="name, model, data or tag")
    options = {"runs_status": sorted({r.status for r in runs}, key=STATUS_ORDER.index),
               "runs_models": sorted({r.model_name for r in runs}), "runs_tags_filter": sorted({t for r in runs for t in r.tags})}
    for key, values in options.items():
        _keep_known(key, values, many=True)
    c2.multiselect("Status", options["runs_status"], key="runs_status", placeholder="all")
    c3.multiselect("Model", options["runs_models"], key="runs_models", placeholder="all")
    c4.multiselect("Tag", options["runs_tags_filter"], key="runs_tags_filter", placeholder="all")
    s = st.session_state
    shown = filter_runs(runs, s.get("runs_search", ""), s.get("runs_status"), s.get("runs_models"), s.get("runs_tags_filter"))
    if not shown:
        st.info("No run matches these filters. Clear the search or the filters to see them all.", icon="🔎")
        return shown
    first = {}
    for i, r in enumerate(shown):
        first.setdefault(_sweep(r) or r.id, i)
    ordered = sorted(shown, key=lambda r: first[_sweep(r) or r.id])  # a sweep's runs sit together, newest group first
    won = best_badges(shown)
    rows = [{**row, "best at": ", ".join(won.get(row["id"], []))} for row in table_rows(ordered)]
    columns = [c for c in COLUMNS if c not in ("sweep", "made from") or any(row[c] for row in rows)]
    st.dataframe(pd.DataFrame(rows, columns=["id", *COLUMNS]), hide_index=True, width="stretch", key="runs_table",
                 column_order=columns, column_config=COLUMN_CONFIG)
    st.caption(f"{len(shown)} of {len(runs)} runs. Click a column's header to sort by it.")
    return shown


def compare(runs: list[RunInfo]) -> None:
    """Pick 2–6 runs: their curves overlaid, the settings that differ, and which is best at what."""
    by_id = {r.id: r for r in runs}
    _keep_known("runs_compare", list(by_id), many=True)
    st.multiselect("Runs to compare", list(by_id), key="runs_compare", max_selections=MAX_COMPARED,
                   format_func=lambda i: label(by_id[i]), placeholder="Pick 2 to 6 runs")
    picked = [by_id[i] for i in st.session_state.get("runs_compare", [])]
    if len(picked) < 2:
        st.info("Pick 2 to 6 runs to compare: their curves, what they did differently, and which did best.", icon="📊")
        return
    metrics = metrics_in(picked)
    if metrics:
        _keep_known("runs_metric", metrics)
        c1, c2, c3 = st.columns([2, 2, 1])
        metric = c1.selectbox("Metric", metrics, key="runs_metric", format_func=CURVE_METRICS.get)
        x = c2.radio("Against", list(X_AXES), key="runs_x", format_func=X_AXES.get, horizontal=True)
        log = c3.checkbox("Log scale", key="runs_log", help="Makes small changes late in training visible.")
        fig = charts.run_overlay(overlay(picked, metric, x), CURVE_METRICS[metric], X_AXES[x], log, x == "epoch")
        st.plotly_chart(fig, width="stretch", key="runs_overlay_chart")
    else:
        st.info("These runs have no curves recorded yet.", icon="📈")
    st.markdown("**Settings that differ**")
    diff = settings_diff(picked)
    if diff:
        st.dataframe(pd.DataFrame(diff), hide_index=True, width="stretch", key="runs_diff")
    else:
        st.info("These runs were trained with exactly the same settings.", icon="🟰")
    st.markdown("**Best runs**")
    for run, won in best_badges(picked).items():
        if won:
            st.markdown(f"🏆 **{by_id[run].name}**: " + " · ".join(won))
    with st.expander("Small vs big: what the bigger model bought", expanded=False):
        home = str(home_dir())
        latency = {r.id: state.predict_latency(r.id, home, tuple(r.files)) for r in picked}
        cmp = small_vs_big(picked, latency)
        if cmp["sentence"]:
            st.markdown(cmp["sentence"])
        st.dataframe(pd.DataFrame(cmp["rows"]), hide_index=True, width="stretch", key="runs_small_big",
                     column_config={"test accuracy": st.column_config.NumberColumn(format="percent"),
                                    "test macro-F1": st.column_config.NumberColumn(format="%.3f"),
                                    "training seconds": st.column_config.NumberColumn(format="%.1f"),
                                    "ms per training example": st.column_config.NumberColumn(format="%.3f"),
                                    "predict ms (one sentence)": st.column_config.NumberColumn(format="%.1f")})
        st.caption("Prediction time is for one sentence on this computer, after one warm-up; pictures are not timed.")


def _rename() -> None:
    info = update_run(st.session_state["runs_manage"], label=st.session_state.get("runs_rename", ""))
    st.session_state["runs_rename"] = info.name
    _flash("success", f"Renamed: the run is now called '{info.name}'.")


def _retag() -> None:
    tags = str(st.session_state.get("runs_tags", "")).split(",")
    info = update_run(st.session_state["runs_manage"], tags=tags)
    st.session_state["runs_tags"] = ", ".join(info.tags)
    _flash("success", "Tags saved: " + (", ".join(info.tags) if info.tags else "none") + ".")


def _delete() -> None:
    s = st.session_state
    run = s["runs_manage"]
    if not s.get("runs_delete_confirm"):
        _flash("warning", "Tick “Yes, delete …” first: a deleted run cannot be brought back.")
        return
    name = read_run(run).name
    delete_run(run)
    for cached in (state.predictor, state.test_images, state.text_views):  # a new run may take its id
        cached.clear()
    s["runs_delete_confirm"] = False
    s["runs_compare"] = [r for r in s.get("runs_compare", []) if r != run]
    for key in ("runs_manage", "runs_manage_for", "runs_tb", "runs_resumed"):
        s.pop(key, None)
    _flash("success", f"Deleted the run '{name}'.")


def _tensorboard() -> None:
    run = st.session_state["runs_manage"]
    st.session_state["runs_tb"] = {"run": run, "path": str(export_tensorboard(run))}


def _resume() -> None:
    info = read_run(st.session_state["runs_manage"])
    if not info.resumable:
        _flash("warning", f"The run '{info.name}' is {info.status}, so it cannot be resumed.")
        return
    job = state.job_manager().submit(info.config, owner=state.session_id(), resume=info.id)
    st.session_state["train_job"] = job.id
    st.session_state["runs_resumed"] = info.id


STATUS_NOTES = {"interrupted": "Training was cut off part-way. Resume continues from its last checkpoint.",
                "stopped": "Training was stopped early; it keeps its best weights so far, and it can be resumed.",
                "failed": "Training failed.", "running": "Training right now.", "queued": "Waiting to train."}


def manage(runs: list[RunInfo]) -> None:
    """One run: rename, tags, download, TensorBoard export, resume, delete (with a confirmation)."""
    s = st.session_state
    by_id = {r.id: r for r in runs}
    _keep_known("runs_manage", list(by_id))
    run = st.selectbox("Run", list(by_id), key="runs_manage", format_func=lambda i: label(by_id[i]))
    info = by_id[run]
    if s.get("runs_manage_for") != run:  # another run picked: its own name and tags in the inputs
        s["runs_rename"], s["runs_tags"] = info.name, ", ".join(info.tags)
        s["runs_manage_for"], s["runs_delete_confirm"] = run, False
    show_flash()
    note = STATUS_NOTES.get(info.status, "")
    if info.status == "failed" and info.error:
        note += f" {info.error.get('message', '')} {info.error.get('hint', '')}"
    st.caption(f"Status **{info.status}** · {info.epochs_done} of {info.config.train.epochs} epochs · "
               f"created {info.created or '?'} · id `{info.id}`" + (f" · sweep `{_sweep(info)}`" if _sweep(info) else ""))
    if note:
        st.caption(note.strip())
    c1, c2 = st.columns(2)
    c1.text_input("Name", key="runs_rename", max_chars=100, help="A display name; the run's id and folder stay.")
    c1.button("Rename", key="runs_rename_btn", on_click=_guard(_rename))
    c2.text_input("Tags (comma-separated)", key="runs_tags", placeholder="baseline, lab 2")
    c2.button("Save tags", key="runs_tags_btn", on_click=_guard(_retag))
    c1, c2, c3 = st.columns(3)
    c1.download_button("⬇️ Download run (.zip)", data=lambda: export_zip(run), file_name=f"{run}.zip",
                       mime="application/zip", key="runs_download", on_click="ignore",
                       help="The whole run in one file, to back up or to share; import it on the Runs page.")
    c2.button("Export curves for TensorBoard", key="runs_tensorboard", on_click=_guard(_tensorboard))
    if info.resumable:
        c3.button("▶ Resume training", key="runs_resume", type="primary", on_click=_guard(_resume),
                  help="Continue from the last checkpoint; watch it on the Train page.")
    tb = s.get("runs_tb")
    if tb and tb["run"] == run:
        st.success(f"The curves are in `{tb['path']}`. To look at them, run:", icon="✅")
        st.code(f'tensorboard --logdir "{tb["path"]}"', language="bash")
    if s.get("runs_resumed") == run:
        st.success("Training goes on. Watch it live on the Train page.", icon="▶️")
        st.page_link("pages/3_Train.py", label="Go to Train", icon="➡️")
    st.checkbox(f"Yes, delete '{info.name}' for good", key="runs_delete_confirm")
    st.button("🗑️ Delete run", key="runs_delete", on_click=_guard(_delete))


def _import() -> None:
    upload = st.session_state.get("runs_import_file")
    if upload is None:
        _flash("warning", "Choose a run's .zip file first.", "runs_import_flash")
        return
    info = import_zip(upload.getvalue())
    _flash("success", f"Imported the run '{info.name}' (id `{info.id}`, status {info.status}).", "runs_import_flash")


def importer() -> None:
    """Upload a run's .zip; it is checked before anything lands in the workspace."""
    st.file_uploader("A run's .zip file (made by “Download run”)", type=["zip"], key="runs_import_file")
    st.button("Import run", key="runs_import", on_click=_guard(_import, "runs_import_flash"))
    show_flash("runs_import_flash")
