"""Evaluate a saved run on another dataset (any SPEC, text or images) with the run's own pipeline and classes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import DataError
from .serve.bundle import load_bundle
from .tasks import task_for_spec
from .training.metrics import classification_report


def evaluate_run(run: str | Path, spec: str, home: str | Path | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix of a saved run on every row of dataset `spec`."""
    predictor = load_bundle(run, home=home)
    task = task_for_spec(spec)
    if task.name != predictor.task:
        raise DataError(f"The run '{predictor.run_id}' reads {predictor.task}s, but '{spec}' holds {task.name}s.",
                        f"Evaluate it on a dataset of {predictor.task}s, like the one it was trained on.")
    inputs, raw, label_col = task.read_labelled(spec, predictor)
    labels = predictor.check_labels(raw, label_col)
    report = classification_report(labels, predictor.predict_proba(list(inputs)), predictor.class_names)
    return {"run": predictor.run_id, "report": report,
            "metrics": {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "rows": len(labels)}}
