"""Showing errors: a plain sentence and a hint for user mistakes, details folded away for bugs."""
from __future__ import annotations

import traceback
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from bigmodel_core.errors import BigModelError


def show_error(exc: BaseException) -> None:
    if isinstance(exc, BigModelError):
        st.error(exc.message, icon="⚠️")
        if exc.hint:
            st.info(exc.hint, icon="💡")
        return
    st.error(f"Something went wrong: {type(exc).__name__}: {exc}", icon="⚠️")
    st.info("Try again, or change a setting. If it keeps happening, the details below help us fix it.", icon="💡")
    with st.expander("Technical details"):
        st.code("".join(traceback.format_exception(exc)))


def show_job_error(error: dict) -> None:
    st.error(error["message"], icon="⚠️")
    if error.get("hint"):
        st.info(error["hint"], icon="💡")
    if error.get("traceback"):
        with st.expander("Technical details"):
            st.code(error["traceback"])


@contextmanager
def guarded() -> Iterator[None]:
    """Run a block; any error is shown on the page instead of stopping the app."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the page must stay up whatever happens
        show_error(exc)
        st.stop()
