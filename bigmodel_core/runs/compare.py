"""Comparing runs: the Runs page's table, filters, curve overlays, settings diff and best-run badges."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterable, Optional

from .info import RunInfo

# metric -> (label, higher is better)
BADGE_METRICS = {"val_accuracy": ("best validation accuracy", True), "val_loss": ("lowest validation loss", False),
                 "test_accuracy": ("best test accuracy", True), "test_macro_f1": ("best test macro-F1", True),
                 "seconds": ("fastest", False), "parameters": ("smallest", False)}
CURVE_METRICS = {"val_loss": "validation loss", "train_loss": "training loss", "val_accuracy": "validation accuracy",
                 "train_accuracy": "training accuracy", "samples_per_s": "samples per second"}
X_AXES = {"epoch": "epoch", "step": "step (batches)", "wall": "training time (s)"}
MAX_COMPARED = 6


def table_rows(runs: Iterable[RunInfo]) -> list[dict[str, Any]]:
    """One row per run for the sortable table."""
    rows = []
    for r in runs:
        m = r.metrics or {}
        rows.append({"id": r.id, "name": r.name, "model": r.model_name, "data": r.config.data.spec,
                     "parameters": r.parameters, "val accuracy": m.get("val_accuracy"), "val loss": m.get("val_loss"),
                     "seconds": r.seconds, "epochs": r.epochs_done, "status": r.status, "tags": ", ".join(r.tags),
                     "sweep": (r.config.sweep or {}).get("id") or "", "created": r.created})
    return rows


def filter_runs(runs: Iterable[RunInfo], text: str = "", statuses: Optional[Iterable[str]] = None,
                models: Optional[Iterable[str]] = None, tags: Optional[Iterable[str]] = None) -> list[RunInfo]:
    """Runs whose id, name, model, data or tags contain `text` (any case), of the given statuses/models/tags."""
    needle = text.strip().lower()
    statuses, models, tags = set(statuses or ()), set(models or ()), set(tags or ())
    out = []
    for r in runs:
        hay = " ".join([r.id, r.name, r.model_name, r.config.data.spec, *r.tags]).lower()
        if needle and needle not in hay:
            continue
        if statuses and r.status not in statuses or models and r.model_name not in models:
            continue
        if tags and not tags & set(r.tags):
            continue
        out.append(r)
    return out


def flat_settings(info: RunInfo) -> dict[str, Any]:
    """A run's settings as "part.key" -> value (model settings as resolved, so defaults compare too)."""
    cfg = asdict(info.config)
    out: dict[str, Any] = {"model": info.model_name}
    for part in ("data", "train"):
        for key, value in (cfg.get(part) or {}).items():
            out[f"{part}.{key}"] = value
    for key, value in {**(cfg["model"].get("params") or {}), **(info.model_params or {})}.items():
        out[f"model.{key}"] = value
    if info.config.model.embeddings:
        out["model.embeddings"] = info.config.model.embeddings
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}


def settings_diff(runs: list[RunInfo]) -> list[dict[str, Any]]:
    """Only the settings that differ between the runs: [{"setting", <run name>: value, ...}]."""
    flats = [flat_settings(r) for r in runs]
    keys = sorted(set().union(*flats)) if flats else []
    rows = []
    for key in keys:
        values = [f.get(key, "—") for f in flats]
        if len({repr(v) for v in values}) > 1:
            rows.append({"setting": key, **{_column(r, i): _show(v) for i, (r, v) in enumerate(zip(runs, values))}})
    return rows


def _column(run: RunInfo, i: int) -> str:
    return f"{i + 1}. {run.name}"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "—" if value is None else str(value)


def best_badges(runs: list[RunInfo]) -> dict[str, list[str]]:
    """{run id: ["best validation accuracy", ...]}: which of the runs is best at each measure (ties share)."""
    out: dict[str, list[str]] = {r.id: [] for r in runs}
    for key, (label, higher) in BADGE_METRICS.items():
        values = {r.id: _measure(r, key) for r in runs}
        known = {k: v for k, v in values.items() if v is not None}
        if len(known) < 2:
            continue
        best = max(known.values()) if higher else min(known.values())
        if all(v == best for v in known.values()):
            continue  # every run ties: nobody is best at it
        for rid, v in known.items():
            if v == best:
                out[rid].append(label)
    return out


def _measure(run: RunInfo, key: str) -> Optional[float]:
    value = getattr(run, key) if key in ("seconds", "parameters") else (run.metrics or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def overlay(runs: list[RunInfo], metric: str, x: str = "epoch", home: Any = None) -> list[dict[str, Any]]:
    """The curves to overlay: [{"run", "name", "x": [...], "y": [...]}] of `metric` against `x`, per run."""
    from .store import run_epochs

    if x not in X_AXES:
        raise ValueError(x)
    out = []
    for r in runs:
        rows = [e for e in run_epochs(r.id, home) if isinstance(e.get(metric), (int, float)) and e.get(x) is not None]
        out.append({"run": r.id, "name": r.name, "x": [e[x] for e in rows], "y": [e[metric] for e in rows]})
    return out


def metrics_in(runs: list[RunInfo], home: Any = None) -> list[str]:
    """The curve metrics the runs have recorded, in CURVE_METRICS order."""
    from .store import run_epochs

    seen: set[str] = set()
    for r in runs:
        for e in run_epochs(r.id, home):
            seen |= {k for k, v in e.items() if isinstance(v, (int, float))}
    return [m for m in CURVE_METRICS if m in seen]
