"""Evaluate a saved run on another dataset (any SPEC, text or images) with the run's own pipeline and classes."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .config import DataConfig
from .data.dataset import read_raw
from .data.labels import encode_labels
from .data.images.dataset import is_image_spec, read_labelled_images
from .errors import DataError
from .serve.bundle import load_bundle
from .training.metrics import classification_report


def evaluate_run(run: str | Path, spec: str, home: str | Path | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix of a saved run on every row of dataset `spec`."""
    predictor = load_bundle(run, home=home)
    task = "image" if is_image_spec(spec) else "text"
    if task != predictor.task:
        raise DataError(f"The run '{predictor.run_id}' reads {predictor.task}s, but '{spec}' holds {task}s.",
                        f"Evaluate it on a dataset of {predictor.task}s, like the one it was trained on.")
    if task == "image":  # pictures are brought to the size and colours the model reads
        pre = predictor.preprocess
        inputs, raw, _ = read_labelled_images(DataConfig(spec=spec, image_size=pre.size, channels=pre.channels))
        raw, label_col = pd.Series(raw), None
    else:
        inputs, raw, _, _, label_col = read_raw(DataConfig(spec=spec))
    labels = _run_labels(raw, label_col, predictor.class_names)
    report = classification_report(labels, predictor.predict_proba(list(inputs)), predictor.class_names)
    return {"run": predictor.run_id, "report": report,
            "metrics": {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "rows": len(labels)}}


def _run_labels(raw: pd.Series, column: str | None, class_names: Sequence[str]) -> np.ndarray:
    """The dataset's labels as indices into the run's classes; a plain error for labels it never learned."""
    ids, names = encode_labels(raw.reset_index(drop=True), column, min_classes=1)
    unknown = sorted(set(names) - set(class_names))
    if unknown:
        raise DataError(f"This dataset has labels the model never learned: {', '.join(unknown[:10])}.",
                        "The model knows only: " + ", ".join(class_names) + ". Use data with those labels.")
    index = {c: i for i, c in enumerate(class_names)}
    return np.array([index[names[i]] for i in ids], dtype=np.int64)
