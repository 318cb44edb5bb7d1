"""Scaling page: train one model family at several sizes (or on more data) and watch the power law appear."""

import streamlit as st

from ui import scaling_view as view

st.set_page_config(page_title="Scaling · BigModel Lab", page_icon="📐", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("📐 Scaling")
st.markdown("Does a bigger model always do better? Train the same kind of network at several sizes and see for "
            "yourself: the plot fills in point by point, and a curve is fitted through the points.")
view.explanation()
ok = view.settings()
view.buttons(ok)
view.links()

sweep_id = view.choose_sweep()
if sweep_id is None:
    st.info("Choose the sizes and press **Run sweep**. Each finished run adds a point to the plot here.", icon="📐")
    st.stop()
busy = view.busy(sweep_id)


@st.fragment(run_every=1.0 if busy else None)
def live() -> None:
    view.render_sweep(sweep_id)
    if busy and not view.busy(sweep_id):
        st.rerun()  # the whole page: Run sweep is enabled again


live()
