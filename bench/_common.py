"""Shared bench helpers: repo/data paths, SST-2 loading, JSON-line output, machine facts."""
from __future__ import annotations

import csv
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # scripts run as `python bench/x.py`: make bigmodel_core importable
    sys.path.insert(0, str(REPO))

DEFAULT_SST2 = REPO.parent / "shared" / "data" / "sst2"


def default_data_dir() -> str | None:
    """../shared/data/sst2 relative to the repo when it exists (never copied into the project)."""
    return str(DEFAULT_SST2) if DEFAULT_SST2.exists() else None


def read_sst2(data_dir: str, split: str):
    """(texts, labels) of SST-2 `split` ('train' or 'dev'): TSV, header text<TAB>label, no quoting."""
    import pandas as pd

    path = Path(data_dir) / f"{split}.tsv"
    if not path.exists():
        sys.exit(f"SST-2 not found at {path}; pass --data DIR (a folder with train.tsv and dev.tsv).")
    df = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
    return df["text"].astype(str).tolist(), df["label"].astype(int).to_numpy()


def emit(bench: str, **fields: Any) -> dict:
    """Print one measurement as a JSON line (flushed, so a parent process can stream it)."""
    row = {"bench": bench, **fields}
    print(json.dumps(row, default=_jsonable), flush=True)
    return row


def _jsonable(v: Any):
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    return str(v)


def machine() -> dict:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    import torch

    return {"date": time.strftime("%Y-%m-%d"), "cores": cores, "load_1min": load, "python": platform.python_version(),
            "torch": torch.__version__, "cpu": platform.processor() or platform.machine()}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
