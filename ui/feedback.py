"""Showing errors: a plain sentence and a hint for user mistakes, details folded away for bugs."""
from __future__ import annotations

import traceback
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import streamlit as st

from bigmodel_core.errors import BigModelError, error_texts
from ui.i18n import t, tr


def show_error(exc: BaseException) -> None:
    """A user mistake as its sentence and hint in the user's language; anything else with its details folded."""
    if isinstance(exc, BigModelError):
        st.error(tr(exc.message), icon="⚠️")
        if exc.hint:
            st.info(tr(exc.hint), icon="💡")
        return
    st.error(t("error.unexpected", kind=type(exc).__name__, detail=exc), icon="⚠️")
    st.info(t("error.unexpected_hint"), icon="💡")
    with st.expander(t("error.details")):
        st.code("".join(traceback.format_exception(exc)))


def show_job_error(error: dict) -> None:
    """A failed job's error (a dict that crossed a process boundary), translated where it kept its keys."""
    message, hint = error_texts(error)
    st.error(tr(message), icon="⚠️")
    if hint:
        st.info(tr(hint), icon="💡")
    if error.get("traceback"):
        with st.expander(t("error.details")):
            st.code(error["traceback"])


@contextmanager
def guarded(undo: Optional[Callable[[], None]] = None) -> Iterator[None]:
    """Run a block; any error is shown on the page instead of stopping the app (after `undo()`, if given)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the page must stay up whatever happens
        if undo is not None:
            undo()
        show_error(exc)
        st.stop()
