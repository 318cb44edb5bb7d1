"""Comparing runs: the Runs page's table, filters, curve overlays, settings diff and best-run badges."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterable, Optional

from ..errors import msg
from .info import RunInfo

# metric -> (label, higher is better)
BADGE_METRICS = {
    "val_accuracy": (msg("engine.compare.badge.val_accuracy", "best validation accuracy"), True),
    "val_loss": (msg("engine.compare.badge.val_loss", "lowest validation loss"), False),
    "test_accuracy": (msg("engine.compare.badge.test_accuracy", "best test accuracy"), True),
    "test_macro_f1": (msg("engine.compare.badge.test_macro_f1", "best test macro-F1"), True),
    "seconds": (msg("engine.compare.badge.seconds", "fastest"), False),
    "parameters": (msg("engine.compare.badge.parameters", "smallest"), False),
}
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
                     "sweep": (r.config.sweep or {}).get("id") or "", "made from": made_from(r), "created": r.created})
    return rows


def made_from(run: RunInfo) -> str:
    """'pruned 50 % from X', 'int8 from X', 'distilled from X', or '' for a run trained from its settings."""
    d = run.config.derive or {}
    kind = d.get("kind")
    if kind == "prune":
        return msg("engine.compare.made_from.prune", "pruned {sparsity:.0%} from {parent}",
                   sparsity=d.get("sparsity", 0), parent=str(d.get("parent")))
    if kind == "quantize":
        return msg("engine.compare.made_from.quantize", "int8 from {parent}", parent=str(d.get("parent")))
    if kind == "distil":
        return msg("engine.compare.made_from.distil", "distilled from {teacher}", teacher=str(d.get("teacher")))
    return ""


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


LATENCY_SENTENCE = "the acting was not good at all, but the ending was a pleasant surprise"


def predict_latency_ms(run: RunInfo, home: Any = None, repeats: int = 7) -> Optional[float]:
    """Median milliseconds to predict one sentence with a text run (after one warm-up call); None for
    image runs or a run that does not load."""
    import statistics
    import time

    from ..errors import BigModelError
    from ..serve.bundle import load_bundle

    if run.task != "text" or not run.usable:
        return None
    try:
        predictor = load_bundle(run.id, home=home)
        predictor.predict_proba([LATENCY_SENTENCE])
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            predictor.predict_proba([LATENCY_SENTENCE])
            times.append((time.perf_counter() - t0) * 1000)
    except BigModelError:
        return None
    return statistics.median(times)


def small_vs_big(runs: list[RunInfo], latency: Optional[dict[str, Optional[float]]] = None) -> dict[str, Any]:
    """What a bigger model bought: one row per run (smallest first) and one plain sentence.

    {"rows": [{"name", "model", "parameters", "test accuracy", "test macro-F1", "training seconds",
    "examples seen", "ms per training example", "predict ms (one sentence)"}], "sentence", "same_data"}.
    The sentence compares the biggest run with the smallest: points of test accuracy gained, at how
    many times the parameters and the training time per example. `latency`: {run id: ms} measured
    by `predict_latency_ms` (slow: the caller caches it).
    """
    latency = latency or {}
    ordered = sorted(runs, key=lambda r: (r.parameters or 0, r.name))
    rows = []
    for r in ordered:
        m = r.metrics or {}
        per = (1000 * r.seconds / r.examples_seen) if r.seconds and r.examples_seen else None
        rows.append({"name": r.name, "model": r.model_name, "parameters": r.parameters,
                     "test accuracy": m.get("test_accuracy"), "test macro-F1": m.get("test_macro_f1"),
                     "training seconds": r.seconds, "examples seen": r.examples_seen,
                     "ms per training example": per, "predict ms (one sentence)": latency.get(r.id)})
    same = len({r.config.data.spec for r in runs}) == 1
    sentence = None
    small, big = (ordered[0], ordered[-1]) if len(ordered) >= 2 else (None, None)
    if small is not None and (small.parameters or 0) < (big.parameters or 0):
        a_small, a_big = (small.metrics or {}).get("test_accuracy"), (big.metrics or {}).get("test_accuracy")
        s_rows, b_rows = rows[0], rows[-1]
        times = (b_rows["ms per training example"] / s_rows["ms per training example"]
                 if s_rows["ms per training example"] and b_rows["ms per training example"] else None)
        ratio = _cost(big.parameters / small.parameters if small.parameters else None, times)
        if isinstance(a_small, (int, float)) and isinstance(a_big, (int, float)):
            gain = (a_big - a_small) * 100
            cost = msg("engine.compare.at_cost", ", at {ratio}", ratio=ratio) if ratio else ""
            names = {"big": big.name, "big_model": big.model_name, "small": small.name,
                     "small_model": small.model_name, "cost": cost}
            if gain >= 0.05:
                sentence = msg("engine.compare.gain", "{big} ({big_model}) gives {gain:+.1f} points of test accuracy "
                               "over {small} ({small_model}){cost}.", gain=gain, **names)
            elif gain > -0.05:  # the bigger model bought nothing here: say so plainly
                sentence = msg("engine.compare.level", "{big} ({big_model}) is level with {small} ({small_model}) "
                               "in test accuracy{cost}: on this data the smaller model is enough.", **names)
            else:
                sentence = msg("engine.compare.below", "{big} ({big_model}) is {points:.1f} points below {small} "
                               "({small_model}) in test accuracy{cost}: on this data the smaller model is enough.",
                               points=-gain, **names)
    if not same:
        sentence = (msg("engine.compare.unfair_after", "{sentence} These runs were trained on different data, so the "
                        "comparison is not a fair one.", sentence=sentence) if sentence
                    else msg("engine.compare.unfair", "These runs were trained on different data, so the comparison "
                             "is not a fair one."))
    return {"rows": rows, "sentence": sentence, "same_data": same}


def _cost(params: Optional[float], times: Optional[float]):
    """What the bigger model costs, as a phrase: "N× the parameters and M× the training time per example"."""
    if params is not None and times is not None:
        return msg("engine.compare.cost.both", "{params:,.0f}× the parameters and {times:,.1f}× the training time "
                   "per example", params=params, times=times)
    if params is not None:
        return msg("engine.compare.cost.params", "{params:,.0f}× the parameters", params=params)
    if times is not None:
        return msg("engine.compare.cost.times", "{times:,.1f}× the training time per example", times=times)
    return None
