"""Scaling page: train one model family at several sizes (or on more data) and watch the power law appear."""

import streamlit as st

from ui import course, page
from ui import scaling_view as view
from ui.i18n import t

page.setup("scaling")  # a teacher's link is read before anything is drawn

st.markdown(t("scaling.intro"))
view.explanation()
ok = view.settings()
view.buttons(ok)
view.links()

sweep_id = view.choose_sweep()
if sweep_id is None:
    st.info(t("scaling.no_sweep"), icon="📐")
    course.explain("scale")
    st.stop()
busy = view.busy(sweep_id)


@st.fragment(run_every=1.0 if busy else None)
def live() -> None:
    view.render_sweep(sweep_id)
    if busy and not view.busy(sweep_id):
        st.rerun()  # the whole page: Run sweep is enabled again


live()
