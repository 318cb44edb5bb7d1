"""Optimize page: make a trained model small three ways (prune, quantize, distil) and compare them side by side."""
import streamlit as st

from ui import optimize_view, state
from ui.run_list import run_label, saved_runs
from ui.training_view import render_epochs, render_progress

st.set_page_config(page_title="Optimize · BigModel Lab", page_icon="🗜️", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🗜️ Optimize")
st.caption("Big models are made small before they are shipped. Pick a trained run, then prune it (zero its "
           "smallest weights), quantize it (8-bit numbers) or distil it (teach a small student its answers). "
           "Each result is a new run, measured the same way as the original.")
runs = saved_runs(usable_only=True)
if not runs:
    st.info("There is no trained model yet. Train one on the Train page first.", icon="📈")
    st.page_link("pages/3_Train.py", label="Train", icon="➡️")
    st.stop()
originals = [r for r in runs if not (r.config.derive and r.config.derive.get("kind") == "quantize")]
ids = [r.id for r in originals]
chosen = st.selectbox("Run to make smaller", ids, format_func=lambda i: run_label(next(r for r in originals if r.id == i)),
                      key="opt_parent")
parent = next(r for r in originals if r.id == chosen)
job = optimize_view.current_job()
busy = job is not None and not job.finished
optimize_view.controls(parent, busy)

if job is not None:
    @st.fragment(run_every=1.0 if busy else None)
    def live() -> None:
        current = optimize_view.current_job()
        if current is None:
            st.rerun()
        render_progress(current)
        if busy and current.finished:
            st.rerun()

    live()
    if job.status != "queued" and (job.config.derive or {}).get("kind") == "distil":
        render_epochs(job)  # the student's curves, epoch by epoch
    if busy:
        st.button("⏹ Stop", key="opt_stop", on_click=lambda: state.job_manager().stop(job.id, owner=state.session_id()))

st.subheader(f"{parent.name} and what was made from it")
optimize_view.comparison(parent, saved_runs(usable_only=True))
