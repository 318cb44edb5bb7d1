"""Data page: choose the dataset and how it becomes model input; see what is in it."""
from dataclasses import asdict, replace

import streamlit as st

from ui import page

page.setup("data")  # a teacher's link is read before anything is drawn

from ui import course, data_image, data_text, state
from ui.feedback import guarded
from ui.i18n import t

cfg = state.data_cfg()
KINDS = ("text", "image")
kind = st.radio(t("data.kind.question"), KINDS, format_func={k: t(f"data.kind.{k}") for k in KINDS}.get,
                horizontal=True, index=KINDS.index(state.data_task(cfg)), key="data_kind", help=t("data.kind.help"))
if kind != state.data_task(cfg):  # switching kind starts from that kind's built-in set
    cfg = replace(cfg, spec="builtin:digits" if kind == "image" else "builtin:synthetic_reviews")
part = data_image if kind == "image" else data_text
cfg = part.choose_options(part.choose_source(cfg))
# Kept before the whole file is read (seconds for a big one), so a user who clicks on to the next page
# meanwhile keeps the choice; a file that then fails to read is not kept: the last good choice comes back.
kept = state.data_cfg()
state.set_data_cfg(cfg)
with guarded(undo=lambda: state.set_data_cfg(kept)):
    overview = state.data_overview(asdict(cfg))
part.show_overview(overview)
split = overview["split"]
course.explain("data", task=kind, n_train=split["train"], n_val=split["val"], n_test=split["test"],
               num_classes=len(overview["classes"]))
st.page_link("pages/2_Model.py", label=t("data.next"), icon="➡️")
