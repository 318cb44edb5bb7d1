"""The saved runs a page offers, with one notice for any damaged run (the rest stay usable)."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from bigmodel_core.errors import BigModelError, error_texts
from bigmodel_core.runs import RunInfo, scan_runs
from ui.feedback import show_error
from ui.i18n import t, tr


def saved_runs(task: Optional[str] = None, usable_only: bool = False) -> list[RunInfo]:
    """Runs newest first, from the run store (only `task`'s when given; with `usable_only`, only finished or
    stopped ones, which have final weights); damaged ones are named once in a warning and skipped."""
    try:
        runs, damaged = scan_runs(task=task)
    except BigModelError as exc:  # the run list is busy (another program holds it) or unreadable
        show_error(exc)
        st.stop()
    if usable_only:
        runs = [r for r in runs if r.usable]
    if damaged:
        st.warning(damaged_text(damaged), icon="🩹")
    return runs


def damaged_text(damaged: list[dict]) -> str:
    """'2 saved runs are damaged and left out: 'a', 'b'. <what to do>' (with what is wrong when there is one)."""
    names = t("runs.list_sep").join(t("runs.damaged.name", id=d["id"]) for d in damaged[:5])
    if len(damaged) > 5:
        names = t("runs.damaged.more", names=names, n=len(damaged) - 5)
    message, hint = error_texts(damaged[0])
    if len(damaged) == 1:
        text = t("runs.damaged.one", names=names, message=tr(message), hint=tr(hint))
    else:
        text = t("runs.damaged.many", n=len(damaged), names=names, hint=tr(hint))
    return text.replace("  ", " ").strip()


def run_label(info: RunInfo) -> str:
    """'id · model · val acc 93.1%' for a run picker."""
    acc = info.metrics.get("val_accuracy")
    return ((f"{info.name} ({info.id})" if info.label else info.id) + f" · {info.model_name}"
            + (" · " + t("runs.label.val_acc", acc=f"{acc:.1%}") if isinstance(acc, float) else "")
            + (" · " + t("runs.label.word_vectors") if info.embeddings else ""))
