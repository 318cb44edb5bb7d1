"""BigModel Lab home page: what the app is, the course's path (what is done, what is next), a one-click demo."""
import streamlit as st

from ui import page, state
from ui.feedback import show_error
from ui.i18n import t

# the pages numbered as in the course's path
NUMBER = {name: i for i, name in enumerate((n for names in page.STEPS.values() for n in names), start=1)}
MARK = {"done": "✅", "next": "👉", "later": "⏳"}


def _path() -> None:
    st.subheader(t("home.path"))
    st.caption(t("home.path_caption"))
    steps = page.path_state()
    for row in (steps[:4], steps[4:]):  # the path read left to right, in two rows
        for col, (step, status) in zip(st.columns(4), row):
            with col.container(border=True):
                st.markdown(f"**{MARK[status]} {t(f'home.step.{step}')}** · {t(f'home.status.{status}')}")
                for name in page.STEPS[step]:
                    script, icon = page.PAGES[name]
                    st.page_link(script, label=f"{NUMBER[name]} · {t(f'nav.{name}')}", icon=icon)
                    st.caption(t(f"home.about.{name}"))


def main() -> None:
    page.setup("home")
    st.markdown(t("home.intro"))
    _path()
    st.subheader(t("home.demo"))
    st.write(t("home.demo_text"))
    if st.button(t("home.demo_button"), type="primary", key="home_demo", on_click=state.start_demo,
                 help=t("home.demo_help")):
        if (error := state.start_error()) is not None:
            show_error(error)
        else:
            st.switch_page("pages/3_Train.py")
    st.page_link("pages/11_Glossary.py", label=t("home.glossary"), icon="📖")
    st.caption(t("home.offline"))


if __name__ == "__main__":
    main()
