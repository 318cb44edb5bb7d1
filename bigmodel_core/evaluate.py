"""Evaluate a saved run on another dataset (any SPEC, text or images) with the run's own pipeline and classes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import DataError, msg
from .serve.bundle import load_bundle
from .tasks import task_for_spec
from .training.metrics import classification_report


def evaluate_run(run: str | Path, spec: str, home: str | Path | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix of a saved run on every row of dataset `spec`."""
    predictor = load_bundle(run, home=home)
    task = task_for_spec(spec)
    if task.name != predictor.task:
        raise DataError(msg("errors.evaluate.wrong_kind", "The run '{run}' reads {reads}, but '{spec}' holds {holds}.",
                            run=predictor.run_id, reads=_plural(predictor.task), spec=spec, holds=_plural(task.name)),
                        msg("errors.evaluate.wrong_kind.hint", "Evaluate it on a dataset of {reads}, like the one it "
                            "was trained on.", reads=_plural(predictor.task)))
    inputs, raw, label_col = task.read_labelled(spec, predictor)
    labels = predictor.check_labels(raw, label_col)
    report = classification_report(labels, predictor.predict_proba(list(inputs)), predictor.class_names)
    return {"run": predictor.run_id, "report": report,
            "metrics": {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "rows": len(labels)}}


_PLURALS = {"text": msg("engine.evaluate.texts", "texts"), "image": msg("engine.evaluate.images", "images")}


def _plural(task: str) -> str:
    """'texts' / 'images' (a Msg, translated inside its sentence)."""
    return _PLURALS.get(task) or f"{task}s"
