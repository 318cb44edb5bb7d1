"""Live view of a training job (progress, ETA, curves, each layer's gradients, what is notable) and the results
once it has finished."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bigmodel_core.training import epoch_rows, is_urgent, layer_norms, run_findings
from ui import charts, page, state
from ui.feedback import show_job_error
from ui.i18n import t, tr


def _fmt_secs(s: float) -> str:
    s = int(max(s, 0))
    return t("train.minutes", m=s // 60, s=f"{s % 60:02d}") if s >= 60 else t("train.seconds", s=s)


def shared_sentence(viewers: int) -> str:
    """One plain sentence for a job that several sessions started with the same settings."""
    return t("train.shared.both" if viewers == 2 else "train.shared.all", n=viewers)


def render_diagnosis(log: list[dict]) -> None:
    """What is notable in the run so far, in plain sentences: a warning when it is breaking down, else a note."""
    for finding in run_findings(log):
        if is_urgent(finding):
            st.warning(tr(finding), icon="🚨")
        else:
            st.info(tr(finding), icon="🔎")


def render_progress(job) -> None:
    """Everything the job has reported so far; called about once a second while it runs."""
    if job.shared:
        st.info(shared_sentence(len(job.viewers)), icon="👥")
    log = list(job.log)  # a snapshot: the worker keeps appending
    batches = [e for e in log if e.get("kind") == "batch_end"]
    epochs = epoch_rows(log)
    start = next((e for e in log if e.get("kind") == "fit_start"), None)
    if job.status == "queued":
        st.info(t("train.queued", place=state.job_manager().position(job.id)), icon="⏳")
        return
    if start is None:
        st.progress(0.0, text=t("train.preparing"))
        return
    last = batches[-1] if batches else {"step": 0, "total_steps": start["total_steps"], "metrics": {}}
    frac = last["step"] / max(last["total_steps"], 1)
    eta = last["metrics"].get("eta_s")
    text = t("train.progress", step=f"{last['step']:,}", total=f"{last['total_steps']:,}", epoch=last.get("epoch", 1))
    if eta is not None and not job.finished:
        text += t("train.progress_left", left=_fmt_secs(eta))
    st.progress(min(frac, 1.0), text=text)
    m = start["metrics"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("train.metric.speed"), f"{last['metrics'].get('samples_per_s', 0):,.0f}", help=t("train.metric.speed_help"))
    c2.metric(t("train.metric.device"), m["device"], help=t("train.metric.device_help", threads=m["threads"]))
    if epochs:
        c3.metric(t("train.metric.val_accuracy"), f"{epochs[-1].get('val_accuracy', 0):.1%}",
                  help=t("train.metric.val_accuracy_help"))
        c4.metric(t("train.metric.train_loss"), f"{epochs[-1]['train_loss']:.3f}", help=t("train.metric.train_loss_help"))
    render_diagnosis(log)
    steps, layers = layer_norms(log)
    c1, c2 = st.columns(2) if layers else (st.container(), None)
    c1.plotly_chart(charts.step_loss([b["step"] for b in batches], [b["metrics"]["loss"] for b in batches]),
                    width="stretch", key=f"train_steps_{job.id}")
    c1.caption(t("train.chart.steps_help"))
    if c2 is not None:
        c2.plotly_chart(charts.layer_grad_norms(steps, layers), width="stretch", key=f"train_grads_{job.id}")
        c2.caption(t("train.chart.grads_help"))


def render_epochs(job) -> None:
    """Loss and accuracy per epoch; they change once an epoch, so the page redraws them less often."""
    epochs = epoch_rows(list(job.log))
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.epoch_curves(epochs, "loss"), width="stretch", key=f"train_eloss_{job.id}")
    c1.caption(t("train.chart.epoch_loss_help"))
    c2.plotly_chart(charts.epoch_curves(epochs, "accuracy"), width="stretch", key=f"train_eacc_{job.id}")
    c2.caption(t("train.chart.epoch_accuracy_help"))


COLUMNS = ("class", "precision", "recall", "f1", "support", "text", "index", "true", "predicted", "confidence")


def _table(rows: list[dict]) -> pd.DataFrame:
    """A table of the engine's rows with its column names in the user's language."""
    frame = pd.DataFrame(rows).round(3)
    return frame.rename(columns={c: t(f"train.col.{c}") for c in frame.columns if c in COLUMNS})


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"  # a split of size 0 has no accuracy


def render_result(job) -> None:
    if job.status == "failed":
        show_job_error(job.error)
        return
    if job.result is None:  # cancelled while waiting
        st.info(t("train.cancelled"), icon="⏹️")
        return
    info = job.result  # the run's RunInfo
    page.done("train")
    m = info.metrics
    if info.stopped:
        best = info.best_epoch
        kept = t("train.stopped.kept", epoch=best) if best is not None else t("train.stopped.first_epoch")
        st.warning(t("train.stopped", reason=tr(info.stop_reason), kept=kept), icon="⏹️")
        st.page_link("pages/7_Runs.py", label=t("train.stopped.resume"), icon="⏯️")
    else:
        st.success(t("train.finished", val=_pct(m["val_accuracy"]), test=_pct(m["test_accuracy"]), run=info.id), icon="✅")
        if info.stop_reason:  # early stopping: the plan, not a failure
            st.caption(t("train.ended_at", epoch=info.best_epoch or "?", reason=tr(info.stop_reason)))
    if info.embeddings:
        emb = info.embeddings
        st.caption(t("train.vectors", vectors=emb["vectors"], how=t("train.frozen" if emb["frozen"] else "train.fine_tuned"),
                     found=f"{emb['coverage']['found']:,}", total=f"{emb['coverage']['total']:,}"))
    rep = info.val_report
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.confusion(rep["confusion"], info.class_names), width="stretch",
                    key=f"train_cm_{job.id}")
    c1.caption(t("train.chart.confusion_help"))
    c2.markdown(t("train.per_class"))
    c2.dataframe(_table(rep["per_class"]), hide_index=True, width="stretch")
    c2.caption(t("train.per_class_help"))
    if info.task == "image":
        _image_mistakes(info)
    else:
        with st.expander(t("train.mistakes", n=len(info.misclassified))):
            st.dataframe(_table(info.misclassified), hide_index=True, width="stretch")
    st.session_state["predict_run"] = info.id
    st.page_link("pages/4_Predict.py", label=t("train.next.image" if info.task == "image" else "train.next.text"),
                 icon="➡️")


def _image_mistakes(info) -> None:
    """Thumbnails of the mistaken validation images behind one cell of the confusion matrix."""
    from bigmodel_core.runs import read_misclassified_images
    from ui.data_image import enlarge

    rows = info.misclassified
    if not rows:
        st.info(t("train.no_mistakes"), icon="🎯")
        return
    images = read_misclassified_images(info.id)
    cells: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        cells.setdefault(t("train.cell.name", true=r["true"], predicted=r["predicted"]), []).append(i)

    names = {c: t("train.cell.one" if len(idx) == 1 else "train.cell.many", cell=c, n=len(idx)) for c, idx in cells.items()}
    cell = st.selectbox(t("train.cell"), sorted(cells, key=lambda c: -len(cells[c])), format_func=names.get,
                        key=f"train_cell_{info.id}", help=t("train.cell_help"))
    if images is not None:
        st.image([enlarge(images[i]) for i in cells[cell]],
                 caption=[t("train.sure", pct=f"{rows[i]['confidence']:.0%}") for i in cells[cell]], width=80)
