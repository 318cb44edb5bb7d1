"""What every page does first: its title in the user's language, a teacher's link, and the sidebar
(language, the pages, presenter mode, colour-blind colours).

    from ui import page
    page.setup("train")        # instead of st.set_page_config + links.apply + st.title

Streamlit's own page list is hidden (.streamlit/config.toml showSidebarNavigation = false) because it
shows file names; the sidebar draws the same pages with translated names, so deep links keep working.
"""
from __future__ import annotations

import streamlit as st

from ui import i18n, links
from ui.i18n import t

# name -> (script, icon); the order is the course's path
PAGES = {
    "home": ("app.py", "🧠"),
    "data": ("pages/1_Data.py", "📚"),
    "model": ("pages/2_Model.py", "🧩"),
    "train": ("pages/3_Train.py", "📈"),
    "predict": ("pages/4_Predict.py", "🔍"),
    "inside": ("pages/5_Inside_the_CNN.py", "🔬"),
    "embeddings": ("pages/6_Embeddings.py", "🔤"),
    "runs": ("pages/7_Runs.py", "🗂️"),
    "scaling": ("pages/8_Scaling.py", "📐"),
    "optimize": ("pages/9_Optimize.py", "🗜️"),
    "deploy": ("pages/10_Deploy.py", "🚀"),
    "glossary": ("pages/11_Glossary.py", "📖"),
}

# The home page's path, in order: each step and the pages that belong to it
STEPS = {"data": ["data"], "model": ["model"], "train": ["train"], "predict": ["predict"],
         "inside": ["inside", "embeddings"], "compare": ["runs", "scaling"], "ship": ["optimize", "deploy"]}
STEP_OF = {name: step for step, names in STEPS.items() for name in names}

# A root font-size rule scales Streamlit's whole interface (its sizes are in rem); charts and highlights too.
PRESENTER_CSS = ("<style>html { font-size: 150%; } .stPlotlyChart { zoom: 1.25; } "
                 ".bm-highlight { font-size: 1.9rem !important; }</style>")


def presenting() -> bool:
    return bool(st.session_state.get("ui_present") or st.session_state.get("link_present"))


def setup(name: str, title: bool = True) -> None:
    """Set up page `name` (a key of PAGES): config, link, sidebar and its title."""
    script, icon = PAGES[name]
    label = t(f"nav.{name}")
    st.set_page_config(page_title=label if name == "home" else f"{label} · BigModel Lab", page_icon=icon,
                       layout="wide")
    links.apply()
    _sidebar(name)
    if presenting():
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
    if name in ("data", "model", "runs", "scaling", "optimize", "deploy", "embeddings"):
        done(name)  # seeing these pages is the step (training, predicting and explaining are marked when done)
    if title:
        st.title(f"{icon} {t(f'title.{name}')}")


def _sidebar(current: str) -> None:
    i18n.language_switch()
    with st.sidebar:
        for name, (script, icon) in PAGES.items():
            st.page_link(script, label=t(f"nav.{name}"), icon=icon)
        st.divider()
        _toggle("ui_present", t("sidebar.present"), t("sidebar.present_help"), forced=bool(st.session_state.get("link_present")))
        _toggle("ui_colourblind", t("sidebar.colourblind"), t("sidebar.colourblind_help"))


def _toggle(key: str, label: str, help_text: str, forced: bool = False) -> None:
    """A sidebar switch whose value is kept across pages (a widget's own key is dropped between pages)."""
    pick = f"_{key}_pick"
    st.session_state[pick] = bool(st.session_state.get(key)) or forced
    st.sidebar.toggle(label, key=pick, help=help_text, disabled=forced,
                      on_change=lambda: st.session_state.__setitem__(key, st.session_state[pick]))


def done(step: str) -> None:
    """Mark a step of the path (or the step a page belongs to) as done in this session (the home page shows it)."""
    marks = set(st.session_state.get("path_done", ()))
    step = STEP_OF.get(step, step)
    if step not in marks:
        st.session_state["path_done"] = sorted(marks | {step})


def path_state() -> list[tuple[str, str]]:
    """[(step, 'done' | 'next' | 'later')] in the path's order: the first step not done is next."""
    marks = set(st.session_state.get("path_done", ()))
    out, next_given = [], False
    for step in STEPS:
        if step in marks:
            out.append((step, "done"))
        elif not next_given:
            out.append((step, "next"))
            next_given = True
        else:
            out.append((step, "later"))
    return out
