"""The Runs page's pieces: the run table and its filters, comparing runs, managing one run, importing one.

Buttons act in on_click callbacks (they read the widgets from st.session_state) and leave one
message in session state for the section to show on the rerun that follows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from bigmodel_core.errors import error_texts
from bigmodel_core.runs import (
    CURVE_METRICS,
    MAX_COMPARED,
    X_AXES,
    RunInfo,
    best_badges,
    delete_run,
    export_tensorboard,
    export_zip,
    filter_runs,
    home_dir,
    import_zip,
    metrics_in,
    overlay,
    read_run,
    settings_diff,
    small_vs_big,
    table_rows,
    update_run,
)
from ui import charts, state
from ui.feedback import show_error
from ui.i18n import t, tr

STATUS_ORDER = ["running", "queued", "finished", "stopped", "interrupted", "failed"]
COLUMNS = ["name", "model", "data", "parameters", "val accuracy", "val loss", "seconds", "epochs", "status",
           "tags", "sweep", "made from", "best at", "created"]
# column -> its key in the locale files (runs.col.<key> is the header, runs.col.<key>_help its one-line help)
COLUMN_KEYS = {"name": "name", "model": "model", "data": "data", "parameters": "parameters",
               "val accuracy": "val_accuracy", "val loss": "val_loss", "seconds": "seconds", "epochs": "epochs",
               "status": "status", "tags": "tags", "sweep": "sweep", "made from": "made_from", "best at": "best_at",
               "created": "created"}
COLUMN_FORMATS = {"parameters": "compact", "val accuracy": "percent", "val loss": "%.4f", "seconds": "%.1f s"}
NUMBER_COLUMNS = {"parameters", "val accuracy", "val loss", "seconds", "epochs"}
# small_vs_big's columns -> (locale key, number format)
SMALL_BIG_COLUMNS = {"name": ("name", None), "model": ("model", None), "parameters": ("parameters", None),
                     "test accuracy": ("test_accuracy", "percent"), "test macro-F1": ("test_macro_f1", "%.3f"),
                     "training seconds": ("training_seconds", "%.1f"), "examples seen": ("examples_seen", None),
                     "ms per training example": ("ms_per_example", "%.3f"),
                     "predict ms (one sentence)": ("predict_ms", "%.1f")}


def column_config() -> dict[str, Any]:
    """The run table's headers and their one-line helps, in this session's language."""
    out = {}
    for column, key in COLUMN_KEYS.items():
        kind = st.column_config.NumberColumn if column in NUMBER_COLUMNS else st.column_config.TextColumn
        extra = {"format": COLUMN_FORMATS[column]} if column in COLUMN_FORMATS else {}
        out[column] = kind(t(f"runs.col.{key}"), help=t(f"runs.col.{key}_help"), **extra)
    return out


# a run's statuses, and a sweep job's (done; queued is shown as waiting)
STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted", "done", "waiting")


def status_text(status: Any) -> str:
    """A run's or a job's status in this session's language ('finished', 'interrupted', ...)."""
    return t(f"runs.status.{status}") if status in STATUSES else ("" if status is None else str(status))


def shown_as(options: Any, text: Callable[[Any], str]) -> Callable[[Any], str]:
    """A widget's format_func whose labels are worked out now, in this session's language (a format_func may be
    called again outside this script run, where the session's language is not known)."""
    names = {o: text(o) for o in options}
    return lambda o: names.get(o, str(o))


def metric_text(metric: str) -> str:
    return t(f"runs.metric.{metric}") if metric in CURVE_METRICS else str(metric)


def x_text(x: str) -> str:
    return t(f"runs.x.{x}") if x in X_AXES else str(x)


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
        getattr(st, kind)(tr(what), icon="✅" if kind == "success" else "👉")


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
    c1.text_input(t("runs.search"), key="runs_search", placeholder=t("runs.search_placeholder"),
                  help=t("runs.search_help"))
    options = {"runs_status": sorted({r.status for r in runs}, key=STATUS_ORDER.index),
               "runs_models": sorted({r.model_name for r in runs}), "runs_tags_filter": sorted({t for r in runs for t in r.tags})}
    for key, values in options.items():
        _keep_known(key, values, many=True)
    c2.multiselect(t("runs.filter_status"), options["runs_status"], key="runs_status", placeholder=t("runs.all"),
                   format_func=shown_as(options["runs_status"], status_text), help=t("runs.filter_status_help"))
    c3.multiselect(t("runs.filter_model"), options["runs_models"], key="runs_models", placeholder=t("runs.all"),
                   help=t("runs.filter_model_help"))
    c4.multiselect(t("runs.filter_tag"), options["runs_tags_filter"], key="runs_tags_filter", placeholder=t("runs.all"),
                   help=t("runs.filter_tag_help"))
    s = st.session_state
    shown = filter_runs(runs, s.get("runs_search", ""), s.get("runs_status"), s.get("runs_models"), s.get("runs_tags_filter"))
    if not shown:
        st.info(t("runs.no_match"), icon="🔎")
        return shown
    first = {}
    for i, r in enumerate(shown):
        first.setdefault(_sweep(r) or r.id, i)
    ordered = sorted(shown, key=lambda r: first[_sweep(r) or r.id])  # a sweep's runs sit together, newest group first
    won = best_badges(shown)
    rows = [{**row, "status": status_text(row["status"]), "made from": tr(row["made from"]),
             "best at": ", ".join(tr(b) for b in won.get(row["id"], []))} for row in table_rows(ordered)]
    columns = [c for c in COLUMNS if c not in ("sweep", "made from") or any(row[c] for row in rows)]
    st.dataframe(pd.DataFrame(rows, columns=["id", *COLUMNS]), hide_index=True, width="stretch", key="runs_table",
                 column_order=columns, column_config=column_config())
    st.caption(t("runs.table_caption", shown=len(shown), total=len(runs)))
    return shown


def compare(runs: list[RunInfo]) -> None:
    """Pick 2–6 runs: their curves overlaid, the settings that differ, and which is best at what."""
    by_id = {r.id: r for r in runs}
    _keep_known("runs_compare", list(by_id), many=True)
    st.multiselect(t("runs.compare_pick"), list(by_id), key="runs_compare", max_selections=MAX_COMPARED,
                   format_func=lambda i: label(by_id[i]), placeholder=t("runs.compare_placeholder"),
                   help=t("runs.compare_pick_help"))
    picked = [by_id[i] for i in st.session_state.get("runs_compare", [])]
    if len(picked) < 2:
        st.info(t("runs.compare_hint"), icon="📊")
        return
    metrics = metrics_in(picked)
    if metrics:
        _keep_known("runs_metric", metrics)
        c1, c2, c3 = st.columns([2, 2, 1])
        metric = c1.selectbox(t("runs.metric"), metrics, key="runs_metric", format_func=shown_as(metrics, metric_text),
                              help=t("runs.metric_help"))
        x = c2.radio(t("runs.against"), list(X_AXES), key="runs_x", format_func=shown_as(X_AXES, x_text),
                     horizontal=True,
                     help=t("runs.against_help"))
        log = c3.checkbox(t("runs.log"), key="runs_log", help=t("runs.log_help"))
        metric_label, x_label = metric_text(metric), x_text(x)
        fig = charts.run_overlay(overlay(picked, metric, x), metric_label, x_label, log, x == "epoch")
        fig.update_layout(title=t("runs.overlay_title", metric=metric_label[:1].upper() + metric_label[1:], x=x_label))
        st.plotly_chart(fig, width="stretch", key="runs_overlay_chart")
        st.caption(t("runs.overlay_caption"))
    else:
        st.info(t("runs.no_curves"), icon="📈")
    st.markdown(t("runs.diff_heading"))
    diff = settings_diff(picked)
    if diff:
        st.dataframe(pd.DataFrame(diff), hide_index=True, width="stretch", key="runs_diff",
                     column_config={"setting": st.column_config.TextColumn(t("runs.col.setting"),
                                                                           help=t("runs.col.setting_help"))})
        st.caption(t("runs.diff_caption"))
    else:
        st.info(t("runs.diff_none"), icon="🟰")
    st.markdown(t("runs.best_heading"))
    for run, won in best_badges(picked).items():
        if won:
            st.markdown(t("runs.best_line", name=by_id[run].name, badges=" · ".join(tr(b) for b in won)))
    with st.expander(t("runs.small_big"), expanded=False):
        home = str(home_dir())
        latency = {r.id: state.predict_latency(r.id, home, tuple(r.files)) for r in picked}
        cmp = small_vs_big(picked, latency)
        if cmp["sentence"]:
            st.markdown(tr(cmp["sentence"]))
        st.dataframe(pd.DataFrame(cmp["rows"]), hide_index=True, width="stretch", key="runs_small_big",
                     column_config=_small_big_config())
        st.caption(t("runs.small_big_caption"))


def _small_big_config() -> dict[str, Any]:
    out = {}
    for column, (key, fmt) in SMALL_BIG_COLUMNS.items():
        kind = st.column_config.TextColumn if column in ("name", "model") else st.column_config.NumberColumn
        out[column] = kind(t(f"runs.sb.{key}"), help=t(f"runs.sb.{key}_help"), **({"format": fmt} if fmt else {}))
    return out


def _rename() -> None:
    info = update_run(st.session_state["runs_manage"], label=st.session_state.get("runs_rename", ""))
    st.session_state["runs_rename"] = info.name
    _flash("success", t("runs.renamed", name=info.name))


def _retag() -> None:
    tags = str(st.session_state.get("runs_tags", "")).split(",")
    info = update_run(st.session_state["runs_manage"], tags=tags)
    st.session_state["runs_tags"] = ", ".join(info.tags)
    _flash("success", t("runs.tags_saved", tags=", ".join(info.tags) if info.tags else t("runs.tags_none")))


def _delete() -> None:
    s = st.session_state
    run = s["runs_manage"]
    if not s.get("runs_delete_confirm"):
        _flash("warning", t("runs.delete_tick_first"))
        return
    name = read_run(run).name
    delete_run(run)
    for cached in (state.predictor, state.test_images, state.text_views):  # a new run may take its id
        cached.clear()
    s["runs_delete_confirm"] = False
    s["runs_compare"] = [r for r in s.get("runs_compare", []) if r != run]
    for key in ("runs_manage", "runs_manage_for", "runs_tb", "runs_resumed"):
        s.pop(key, None)
    _flash("success", t("runs.deleted", name=name))


def _tensorboard() -> None:
    run = st.session_state["runs_manage"]
    st.session_state["runs_tb"] = {"run": run, "path": str(export_tensorboard(run))}


def _resume() -> None:
    info = read_run(st.session_state["runs_manage"])
    if not info.resumable:
        _flash("warning", t("runs.not_resumable", name=info.name, status=status_text(info.status)))
        return
    job = state.job_manager().submit(info.config, owner=state.session_id(), resume=info.id)
    st.session_state["train_job"] = job.id
    st.session_state["runs_resumed"] = info.id


STATUS_NOTES = ("interrupted", "stopped", "failed", "running", "queued")  # runs.note.<status>


def manage(runs: list[RunInfo]) -> None:
    """One run: rename, tags, download, TensorBoard export, resume, delete (with a confirmation)."""
    s = st.session_state
    by_id = {r.id: r for r in runs}
    _keep_known("runs_manage", list(by_id))
    run = st.selectbox(t("runs.manage_pick"), list(by_id), key="runs_manage", format_func=lambda i: label(by_id[i]),
                       help=t("runs.manage_pick_help"))
    info = by_id[run]
    if s.get("runs_manage_for") != run:  # another run picked: its own name and tags in the inputs
        s["runs_rename"], s["runs_tags"] = info.name, ", ".join(info.tags)
        s["runs_manage_for"], s["runs_delete_confirm"] = run, False
    show_flash()
    note = t(f"runs.note.{info.status}") if info.status in STATUS_NOTES else ""
    if info.status == "failed" and info.error:
        message, hint = error_texts(info.error)
        note += f" {tr(message)} {tr(hint)}"
    st.caption(t("runs.manage_caption", status=status_text(info.status), done=info.epochs_done,
                 epochs=info.config.train.epochs, created=info.created or "?", id=info.id)
               + (t("runs.manage_caption_sweep", sweep=_sweep(info)) if _sweep(info) else ""))
    if note:
        st.caption(note.strip())
    c1, c2 = st.columns(2)
    c1.text_input(t("runs.rename"), key="runs_rename", max_chars=100, help=t("runs.rename_help"))
    c1.button(t("runs.rename_btn"), key="runs_rename_btn", on_click=_guard(_rename), help=t("runs.rename_btn_help"))
    c2.text_input(t("runs.tags"), key="runs_tags", placeholder=t("runs.tags_placeholder"), help=t("runs.tags_help"))
    c2.button(t("runs.tags_btn"), key="runs_tags_btn", on_click=_guard(_retag), help=t("runs.tags_btn_help"))
    c1, c2, c3 = st.columns(3)
    c1.download_button(t("runs.download"), data=lambda: export_zip(run), file_name=f"{run}.zip",
                       mime="application/zip", key="runs_download", on_click="ignore",
                       help=t("runs.download_help"))
    c2.button(t("runs.tensorboard"), key="runs_tensorboard", on_click=_guard(_tensorboard),
              help=t("runs.tensorboard_help"))
    if info.resumable:
        c3.button(t("runs.resume"), key="runs_resume", type="primary", on_click=_guard(_resume),
                  help=t("runs.resume_help"))
    tb = s.get("runs_tb")
    if tb and tb["run"] == run:
        st.success(t("runs.tensorboard_done", path=tb["path"]), icon="✅")
        st.code(f'tensorboard --logdir "{tb["path"]}"', language="bash")
    if s.get("runs_resumed") == run:
        st.success(t("runs.resumed"), icon="▶️")
        st.page_link("pages/3_Train.py", label=t("runs.go_train"), icon="➡️")
    st.checkbox(t("runs.delete_confirm", name=info.name), key="runs_delete_confirm", help=t("runs.delete_confirm_help"))
    st.button(t("runs.delete"), key="runs_delete", on_click=_guard(_delete), help=t("runs.delete_help"))


def _import() -> None:
    upload = st.session_state.get("runs_import_file")
    if upload is None:
        _flash("warning", t("runs.import_no_file"), "runs_import_flash")
        return
    info = import_zip(upload.getvalue())
    _flash("success", t("runs.imported", name=info.name, id=info.id, status=status_text(info.status)),
           "runs_import_flash")


def importer() -> None:
    """Upload a run's .zip; it is checked before anything lands in the workspace."""
    st.file_uploader(t("runs.import_file"), type=["zip"], key="runs_import_file", help=t("runs.import_file_help"))
    st.button(t("runs.import_btn"), key="runs_import", on_click=_guard(_import, "runs_import_flash"),
              help=t("runs.import_btn_help"))
    show_flash("runs_import_flash")
