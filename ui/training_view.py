"""Live view of a training job (progress, ETA, curves) and the results once it has finished."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bigmodel_core.training import epoch_rows
from ui import charts, state
from ui.feedback import show_job_error


def _fmt_secs(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def shared_sentence(viewers: int) -> str:
    """One plain sentence for a job that several sessions started with the same settings."""
    return (f"{viewers} people started this same training; you are "
            f"{'both' if viewers == 2 else 'all'} watching one run.")


def render_progress(job) -> None:
    """Everything the job has reported so far; called about once a second while it runs."""
    if job.shared:
        st.info(shared_sentence(len(job.viewers)), icon="👥")
    log = list(job.log)  # a snapshot: the worker keeps appending
    batches = [e for e in log if e.get("kind") == "batch_end"]
    epochs = epoch_rows(log)
    start = next((e for e in log if e.get("kind") == "fit_start"), None)
    if job.status == "queued":
        st.info(f"Waiting for the computer: another training job is running. Your place in line: "
                f"{state.job_manager().position(job.id)}.", icon="⏳")
        return
    if start is None:
        st.progress(0.0, text="Preparing the data and the model…")
        return
    last = batches[-1] if batches else {"step": 0, "total_steps": start["total_steps"], "metrics": {}}
    frac = last["step"] / max(last["total_steps"], 1)
    eta = last["metrics"].get("eta_s")
    text = f"Step {last['step']:,} of {last['total_steps']:,} · epoch {last.get('epoch', 1)}"
    if eta is not None and not job.finished:
        text += f" · about {_fmt_secs(eta)} left"
    st.progress(min(frac, 1.0), text=text)
    m = start["metrics"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Samples per second", f"{last['metrics'].get('samples_per_s', 0):,.0f}")
    c2.metric("Device", m["device"], help=f"{m['threads']} CPU threads")
    if epochs:
        c3.metric("Validation accuracy", f"{epochs[-1].get('val_accuracy', 0):.1%}")
        c4.metric("Training loss", f"{epochs[-1]['train_loss']:.3f}")
    st.plotly_chart(charts.step_loss([b["step"] for b in batches], [b["metrics"]["loss"] for b in batches]),
                    width="stretch", key=f"train_steps_{job.id}")


def render_epochs(job) -> None:
    """Loss and accuracy per epoch; they change once an epoch, so the page redraws them less often."""
    epochs = epoch_rows(list(job.log))
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.epoch_curves(epochs, "loss"), width="stretch", key=f"train_eloss_{job.id}")
    c2.plotly_chart(charts.epoch_curves(epochs, "accuracy"), width="stretch", key=f"train_eacc_{job.id}")


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"  # a split of size 0 has no accuracy


def render_result(job) -> None:
    if job.status == "failed":
        show_job_error(job.error)
        return
    if job.result is None:  # cancelled while waiting
        st.info("This job was cancelled before it started.", icon="⏹️")
        return
    info = job.result  # the run's RunInfo
    m = info.metrics
    if info.stopped:
        best = info.best_epoch
        kept = (f"The best weights so far were kept (from epoch {best})." if best is not None
                else "It stopped during the first epoch; the weights learned so far were kept.")
        st.warning(f"Training stopped early ({info.stop_reason}). {kept}", icon="⏹️")
        st.page_link("pages/7_Runs.py", label="Continue it later: Resume on the Runs page", icon="⏯️")
    else:
        st.success(f"Finished: validation accuracy {_pct(m['val_accuracy'])}, test accuracy {_pct(m['test_accuracy'])}. "
                   f"Saved as run **{info.id}**.", icon="✅")
        if info.stop_reason:  # early stopping: the plan, not a failure
            st.caption(f"Training ended at epoch {info.best_epoch or '?'}'s weights: {info.stop_reason}.")
    if info.embeddings:
        emb = info.embeddings
        st.caption(f"Started from the word vectors {emb['vectors']} ({'frozen' if emb['frozen'] else 'fine-tuned'}): "
                   f"{emb['coverage']['found']:,} of {emb['coverage']['total']:,} words had a vector.")
    rep = info.val_report
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.confusion(rep["confusion"], info.class_names), width="stretch",
                    key=f"train_cm_{job.id}")
    c2.markdown("**Per class (validation)**")
    c2.dataframe(pd.DataFrame(rep["per_class"]).round(3), hide_index=True, width="stretch")
    if info.task == "image":
        _image_mistakes(info)
    else:
        with st.expander(f"Misclassified validation examples ({len(info.misclassified)} shown, most confident first)"):
            st.dataframe(pd.DataFrame(info.misclassified).round(3), hide_index=True, width="stretch")
    st.session_state["predict_run"] = info.id
    own = "pictures" if info.task == "image" else "sentences"
    st.page_link("pages/4_Predict.py", label=f"Next: try it on your own {own}", icon="➡️")


def _image_mistakes(info) -> None:
    """Thumbnails of the mistaken validation images behind one cell of the confusion matrix."""
    from bigmodel_core.runs import read_misclassified_images
    from ui.data_image import enlarge

    rows = info.misclassified
    if not rows:
        st.info("No validation image was misclassified.", icon="🎯")
        return
    images = read_misclassified_images(info.id)
    cells: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        cells.setdefault(f"true {r['true']} → predicted {r['predicted']}", []).append(i)
    cell = st.selectbox("Open a cell of the confusion matrix", sorted(cells, key=lambda c: -len(cells[c])),
                        format_func=lambda c: f"{c} ({len(cells[c])} image{'s' * (len(cells[c]) != 1)})", key=f"train_cell_{info.id}")
    if images is not None:
        st.image([enlarge(images[i]) for i in cells[cell]],
                 caption=[f"{rows[i]['confidence']:.0%} sure" for i in cells[cell]], width=80)
