"""Labels and splits, shared by text and image data: raw labels to class ids, and a stratified train/val/test split."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd
# Imported here, not inside functions: two Streamlit script threads importing sklearn for the
# first time at once can meet a half-initialised module (seen once: "cannot import name 'clone'").
from sklearn.model_selection import train_test_split

from ..errors import DataError, msg
from .text import tables


def encode_labels(raw: pd.Series, column: Optional[str] = None, min_classes: int = 2) -> tuple[np.ndarray, list[str]]:
    """Map raw labels (strings or numbers) to ids 0..k-1 with sorted class names; check they fit.

    `min_classes` is 2 for training (one class leaves nothing to learn) and 1 for evaluation.
    """
    name = f"'{column}'" if column else msg("engine.labels.label", "label")
    missing = raw.isna() | (raw.astype(str).str.strip() == "")
    if missing.any():
        n_missing = int(missing.sum())
        first = int(np.argmax(missing.to_numpy())) + 1
        if n_missing == 1:
            text = msg("errors.labels.missing_one", "{n} row has no value in the {column} column (first at row "
                       "{first}).", n=n_missing, column=name, first=first)
        else:
            text = msg("errors.labels.missing", "{n} rows have no value in the {column} column (first at row {first}).",
                       n=n_missing, column=name, first=first)
        raise DataError(text, msg("errors.labels.missing.hint",
                                  "Fill in or delete those rows, or choose another label column."))
    values = _normalise_numbers(raw)
    classes = sorted(values.unique(), key=_sort_key)
    if len(classes) < min_classes:
        raise DataError(msg("errors.labels.one_class", "Every row has the same label ('{label}'), so there is nothing "
                            "to tell apart.", label=classes[0]),
                        msg("errors.labels.one_class.hint",
                            "Use data with at least two classes, or choose another label column."))
    if len(classes) > tables.MAX_CLASSES:
        raise DataError(msg("errors.labels.too_many_classes", "The {column} column has {n} different values, too many "
                            "to be classes.", column=name, n=len(classes)),
                        msg("errors.labels.too_many_classes.hint", "Choose the column that holds the categories "
                            "(at most {most} different values).", most=tables.MAX_CLASSES))
    index = {c: i for i, c in enumerate(classes)}
    return values.map(index).to_numpy(dtype=np.int64), [str(c) for c in classes]


def _normalise_numbers(raw: pd.Series) -> pd.Series:
    as_num = pd.to_numeric(raw, errors="coerce")
    if as_num.notna().all():  # 1, 1.0 and "1" are one class, named "1"
        return as_num.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    return raw.astype(str).str.strip()


def _sort_key(v: str):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def split_indices(labels: np.ndarray, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """Stratified train/val/test split (falls back to random when a class is tiny)."""
    n = len(labels)
    n_val, n_test = math.ceil(n * val) if val else 0, math.ceil(n * test) if test else 0
    if n - n_val - n_test < 2:
        raise DataError(msg("errors.labels.too_few_rows", "The dataset has only {n} rows, too few to split into "
                            "training and validation sets.", n=n),
                        msg("errors.labels.too_few_rows.hint",
                            "Use at least 20 rows, or lower the validation and test fractions."))
    idx = np.arange(n)
    k_classes = int(labels.max()) + 1
    counts = np.bincount(labels)
    # Stratify only when every class can appear in every non-empty part; else split at random.
    parts = [k for k in (n_val, n_test) if k] or [n]
    strat = labels if counts.min() >= 3 and min(parts) >= k_classes else None
    out = {}
    rest = idx
    for name, k in (("test", n_test), ("val", n_val)):
        if k == 0:
            out[name] = np.array([], dtype=np.int64)
            continue
        s = labels[rest] if strat is not None else None
        rest, part = train_test_split(rest, test_size=k, random_state=seed, stratify=s)
        out[name] = np.sort(part)
    out["train"] = np.sort(rest)
    return {k: out[k] for k in ("train", "val", "test")}


def subsample_train(split: dict[str, np.ndarray], fraction: float, seed: int,
                    limit: int | None = None) -> dict[str, np.ndarray]:
    """`split` with only `fraction` of its training rows (seeded, at least 2), then at most `limit` of them;
    validation and test unchanged. The `limit` rows are a seeded shuffle's first ones, so 2,000 rows
    are part of 4,000 (runs on more data add rows instead of drawing new ones)."""
    train = split["train"]
    if fraction < 1.0:
        keep = max(2, round(len(train) * fraction))
        train = np.sort(np.random.default_rng(seed + 7919).choice(train, keep, replace=False))
    if limit is not None and len(train) > limit:
        train = np.sort(np.random.default_rng(seed + 104729).permutation(train)[: max(2, int(limit))])
    return {**split, "train": train} if train is not split["train"] else split
