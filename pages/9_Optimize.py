"""Optimize page: make a trained model small three ways (prune, quantize, distil) and compare them side by side."""
import streamlit as st

from ui import optimize_view, page, state
from ui.i18n import t
from ui.run_list import run_label, saved_runs
from ui.training_view import render_epochs, render_progress

page.setup("optimize")  # a teacher's link is read before anything is drawn

st.caption(t("optimize.intro"))
runs = saved_runs(usable_only=True)
if not runs:
    st.info(t("optimize.no_runs"), icon="📈")
    st.page_link("pages/3_Train.py", label=t("optimize.go_train"), icon="➡️")
    st.stop()
originals = [r for r in runs if not (r.config.derive and r.config.derive.get("kind") == "quantize")]
ids = [r.id for r in originals]
chosen = st.selectbox(t("optimize.parent"), ids, key="opt_parent", help=t("optimize.parent_help"),
                      format_func=lambda i: run_label(next(r for r in originals if r.id == i)))
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
        st.button(t("optimize.stop"), key="opt_stop", help=t("optimize.stop_help"),
                  on_click=lambda: state.job_manager().stop(job.id, owner=state.session_id()))

st.subheader(t("optimize.family", name=parent.name))
optimize_view.comparison(parent, saved_runs(usable_only=True))
