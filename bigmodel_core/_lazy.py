"""Lazy public surfaces: a domain package names what the UI may use, and imports each only when it is used.

`bigmodel_core.data` lists `load_dataset`, `save_upload`, ... in `__all__`; `from bigmodel_core.data
import save_upload` imports `bigmodel_core.data.uploads` at that moment, so a page that needs one
helper never pays for torch or scikit-learn imports it does not use (PEP 562 module __getattr__).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable


def exports(package: str, table: dict[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """(`__all__`, `__getattr__`) for `package`, whose public name N lives in submodule `table[N]`."""
    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(table[name], package), name)

    return sorted(table), __getattr__
