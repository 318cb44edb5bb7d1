"""The saved runs a page offers, with one notice for any damaged run (the rest stay usable)."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from bigmodel_core.errors import BigModelError
from bigmodel_core.runs import RunInfo, scan_runs
from ui.feedback import show_error


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
        names = ", ".join(f"'{d['id']}'" for d in damaged[:5]) + (f" and {len(damaged) - 5} more" if len(damaged) > 5 else "")
        first = damaged[0]
        st.warning(f"{len(damaged)} saved run{'s are' if len(damaged) > 1 else ' is'} damaged and left out: {names}. "
                   f"{first['message'] if len(damaged) == 1 else ''} {first['hint']}".replace("  ", " "), icon="🩹")
    return runs


def run_label(info: RunInfo) -> str:
    """'id · model · val acc 93.1%' for a run picker."""
    acc = info.metrics.get("val_accuracy")
    return ((f"{info.name} ({info.id})" if info.label else info.id) + f" · {info.model_name}" + (f" · val acc {acc:.1%}" if isinstance(acc, float) else "")
            + (" · word vectors" if info.embeddings else ""))
