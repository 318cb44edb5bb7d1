"""Evaluate a saved run on another dataset with the run's own pipeline and classes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .config import DataConfig
from .data.dataset import encode_labels, read_raw
from .errors import DataError
from .serve.bundle import load_bundle
from .training.metrics import classification_report


def evaluate_run(run: str | Path, spec: str, home: str | Path | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix of a saved run on every row of dataset `spec`."""
    predictor = load_bundle(run, home=home)
    texts, raw, _, _, label_col = read_raw(DataConfig(spec=spec))
    ids, names = encode_labels(raw.reset_index(drop=True), label_col, min_classes=1)
    unknown = sorted(set(names) - set(predictor.class_names))
    if unknown:
        raise DataError(f"This file has labels the model never learned: {', '.join(unknown[:10])}.",
                        "The model knows only: " + ", ".join(predictor.class_names) + ". Use a file with those labels.")
    index = {c: i for i, c in enumerate(predictor.class_names)}
    labels = np.array([index[names[i]] for i in ids], dtype=np.int64)
    report = classification_report(labels, predictor.predict_proba(texts), predictor.class_names)
    return {"run": predictor.run_id, "report": report,
            "metrics": {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "rows": len(texts)}}
