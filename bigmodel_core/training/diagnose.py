"""Plain sentences about a run's history: over-fitting, a loss that stopped moving, a loss that exploded.

Pure functions over the events a run reports (History.rows, a job's log, history.jsonl): each returns a
Msg (what happened, what it means, what to try) or None. The thresholds are relative (to the run's own
start, its own usual gradient size, the last epochs), so they hold for any dataset, model and loss scale.
The Trainer's own refusal of a loss that is not a number or went far past its start is here too.
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Optional

from ..errors import Msg, TrainingError, msg

EXPLODED = 100.0  # a loss this many times its start (or chance level): the Trainer stops the run
LOSS_GROWN = 10.0  # a loss this many times its start: a warning, before the Trainer has to stop it
GRAD_SPIKE = 100.0  # a gradient this many times its recent usual size
STILL = 0.01  # a loss that changed by less than this share has stopped moving
STILL_EPOCHS = 3  # ... over this many epochs (epoch to epoch)
STILL_STEPS = 50  # ... or, before there are enough epochs, between two windows of this many batches
FALLING = 2  # epochs in a row of falling validation accuracy (with rising training accuracy): over-fitting
LEARNED = 0.05  # a loss below this share of its start has learned nearly all it can: not "stalled"


def refuse_loss(value: float, step: int, first: Optional[float], classes: int) -> None:
    """The Trainer's check: a loss that is not a number, or EXPLODED times its start (or chance), ends the run."""
    if not math.isfinite(value):
        raise TrainingError(msg("errors.trainer.nan", "The loss became {value} at step {step}, so the model "
                                "stopped learning.", value=str(value), step=step),
                            msg("errors.trainer.nan.hint",
                                "Lower the learning rate, or turn on gradient clipping, and train again."))
    if first is not None and value > EXPLODED * max(first, math.log(max(classes, 2))):
        raise TrainingError(msg("errors.trainer.exploded", "The loss exploded to {value} at step {step} (it started "
                                "at {start}), so the model is no longer learning.", value=f"{value:.3g}", step=step,
                                start=f"{first:.3g}"),
                            msg("errors.trainer.exploded.hint", "Lower the learning rate (for example by 10x), or "
                                "turn on gradient clipping, and train again."))


# --- reading the history ----------------------------------------------------------------------------
def _batches(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("kind") == "batch_end" and isinstance(e.get("metrics"), dict)]


def epoch_table(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"epoch": e.get("epoch"), **(e.get("metrics") or {})} for e in events if e.get("kind") == "epoch_end"]


def layer_norms(events: Iterable[dict[str, Any]]) -> tuple[list[int], dict[str, list[Optional[float]]]]:
    """(steps, {layer: its gradient norm at each of those steps, None where it had none}) of the measured batches."""
    rows = [(e.get("step", 0), e["metrics"]["grad_norms"]) for e in _batches(events)
            if isinstance(e["metrics"].get("grad_norms"), dict)]
    names: dict[str, None] = {}
    for _, norms in rows:
        names.update(dict.fromkeys(norms))
    return [s for s, _ in rows], {n: [norms.get(n) for _, norms in rows] for n in names}


def _num(x: float) -> str:
    return f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{x:.1%}"


# --- the findings ---------------------------------------------------------------------------------------
def overfitting(epochs: list[dict[str, Any]]) -> Optional[Msg]:
    """Validation accuracy fell for FALLING or more epochs in a row while training accuracy rose."""
    rows = [r for r in epochs if isinstance(r.get("val_accuracy"), (int, float))
            and isinstance(r.get("train_accuracy"), (int, float))]
    falls = 0
    while falls + 1 < len(rows) and rows[-falls - 1]["val_accuracy"] < rows[-falls - 2]["val_accuracy"]:
        falls += 1
    if falls < FALLING:
        return None
    before, now = rows[-falls - 1], rows[-1]
    if now["train_accuracy"] <= before["train_accuracy"]:
        return None  # both fell: not memorising, something else (a rate too high)
    return msg("engine.diagnose.overfitting",
               "Over-fitting: validation accuracy fell for {epochs} epochs in a row ({val_before} → {val_now}) while "
               "training accuracy rose ({train_before} → {train_now}). The model is memorising its training examples "
               "instead of learning what carries over to new ones. Try fewer epochs (early stopping keeps the best "
               "epoch), more training data, more weight decay, or a smaller model.",
               epochs=falls, val_before=_pct(before["val_accuracy"]), val_now=_pct(now["val_accuracy"]),
               train_before=_pct(before["train_accuracy"]), train_now=_pct(now["train_accuracy"]))


def _start(losses: list[float]) -> Optional[float]:
    head = [v for v in losses[:5] if math.isfinite(v)]
    return statistics.fmean(head) if head else None


def _quiet_on_purpose(lrs: list[float], loss: float, start: Optional[float]) -> bool:
    """Over these batches' rates `lrs`: still warming up, or the schedule brought the rate near zero to settle
    a model that learned (one still near its starting loss is stuck whatever the rate)."""
    if len(lrs) >= 2 and lrs[-1] > lrs[0] * 1.0001:
        return True  # warm-up: the first steps are gentle by design
    settled = start is not None and loss < 0.9 * start
    return bool(lrs) and lrs[-1] < 0.1 * max(lrs) and settled


def stalled(losses: list[float], epochs: list[dict[str, Any]], lrs: Optional[list[float]] = None,
            epoch_of_batch: Optional[list[int]] = None) -> Optional[Msg]:
    """The loss moved by less than STILL over the last STILL_EPOCHS epochs (or, earlier, between two windows
    of STILL_STEPS batches). `lrs`: each batch's learning rate (a warm-up or the end of a decay is left alone)."""
    lrs = list(lrs or [])
    start = _start(losses)
    rows = [r for r in epochs if isinstance(r.get("train_loss"), (int, float)) and math.isfinite(r["train_loss"])]
    if len(rows) > STILL_EPOCHS:
        last = [r["train_loss"] for r in rows[-STILL_EPOCHS - 1:]]
        since = rows[-STILL_EPOCHS - 1]["epoch"]
        window = [lr for lr, ep in zip(lrs, epoch_of_batch or []) if ep > since] if epoch_of_batch else lrs
        count, now = STILL_EPOCHS, last[-1]
    elif len(losses) >= 2 * STILL_STEPS and all(math.isfinite(v) for v in losses[-2 * STILL_STEPS:]):
        last = [statistics.fmean(losses[-2 * STILL_STEPS:-STILL_STEPS]), statistics.fmean(losses[-STILL_STEPS:])]
        window, count, now = lrs[-2 * STILL_STEPS:], None, last[-1]
    else:
        return None
    if start is None and rows:
        start = rows[0]["train_loss"]
    mean = statistics.fmean(last)
    if mean <= 0 or (max(last) - min(last)) / mean >= STILL:
        return None
    if (start is not None and now < LEARNED * start) or _quiet_on_purpose(window, now, start):
        return None
    advice = msg("engine.diagnose.stalled.advice",
                 "The model has stopped learning. If its accuracy is still low, try a higher learning rate, a bigger "
                 "model, or check the data; if it is good, more epochs will not help.")
    if count is not None:
        return msg("engine.diagnose.stalled.epochs", "The training loss has hardly moved over the last {epochs} epochs "
                   "(by less than {share}; it is now {loss}). {advice}", epochs=count, share=f"{STILL:.0%}",
                   loss=_num(now), advice=advice)
    return msg("engine.diagnose.stalled.steps", "The training loss has hardly moved over the last {steps} batches "
               "(by less than {share}; it is now {loss}). {advice}", steps=2 * STILL_STEPS,
               share=f"{STILL:.0%}", loss=_num(now), advice=advice)


def exploded(losses: list[float], norms: Optional[dict[str, list[Optional[float]]]] = None) -> Optional[Msg]:
    """A loss that is not a number or grew past LOSS_GROWN times its start; or a layer's gradient that jumped
    to GRAD_SPIKE times its recent usual size (or to inf/NaN)."""
    hint = msg("engine.diagnose.exploded.hint", "The steps are too big: lower the learning rate (for example by 10x), "
               "or turn on gradient clipping, and train again.")
    if losses and not math.isfinite(losses[-1]):
        return msg("engine.diagnose.exploded.nan", "The loss is no longer a number ({value}): training has broken "
                   "down. {hint}", value=str(losses[-1]), hint=hint)
    start = _start(losses)
    if start is not None and start > 0 and len(losses) >= 10:
        now = statistics.fmean(losses[-5:])
        if now > LOSS_GROWN * start:
            return msg("engine.diagnose.exploded.loss", "The loss has grown to {now}, more than {times} times where it "
                       "started ({start}): training is going the wrong way. {hint}", now=_num(now),
                       times=f"{LOSS_GROWN:g}", start=_num(start), hint=hint)
    worst = None
    for layer, series in (norms or {}).items():
        values = [v for v in series if v is not None]
        if not values:
            continue
        if not math.isfinite(values[-1]):
            return msg("engine.diagnose.exploded.grad_nan", "The gradient of the layer {layer} is no longer a number: "
                       "training has broken down. {hint}", layer=layer, hint=hint)
        before = [v for v in values[-21:-1] if math.isfinite(v)]
        if len(before) < 10 or (usual := statistics.median(before)) <= 0:
            continue
        ratio = values[-1] / usual
        if ratio > GRAD_SPIKE and (worst is None or ratio > worst[0]):
            worst = (ratio, layer, values[-1], usual)
    if worst is not None:
        _, layer, now, usual = worst
        return msg("engine.diagnose.exploded.grad", "The gradient of the layer {layer} jumped to {now}, over {times} "
                   "times its usual size ({usual}): one step could throw away what the model has learned. {hint}",
                   layer=layer, now=_num(now), times=f"{GRAD_SPIKE:g}", usual=_num(usual), hint=hint)
    return None


def run_findings(events: Iterable[dict[str, Any]]) -> list[Msg]:
    """Every finding about a run's events so far, the most urgent first."""
    events = list(events)
    batches = _batches(events)
    losses = [float(b["metrics"]["loss"]) for b in batches if isinstance(b["metrics"].get("loss"), (int, float))]
    lrs = [float(b["metrics"].get("lr") or 0.0) for b in batches] if all("lr" in b["metrics"] for b in batches) else []
    epochs = epoch_table(events)
    found = [exploded(losses, layer_norms(events)[1]), overfitting(epochs),
             stalled(losses, epochs, lrs, [int(b.get("epoch") or 0) for b in batches])]
    return [m for m in found if m is not None]


def is_urgent(finding: Msg) -> bool:
    """A finding the page shows as a warning (the run is breaking down), not a note."""
    return finding.key.startswith("engine.diagnose.exploded")
