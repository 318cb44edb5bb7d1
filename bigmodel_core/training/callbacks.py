"""Callbacks: history, best checkpoint, early stopping, an event log for the UI, and a CLI printer."""
from __future__ import annotations

import copy
import json
import sys
import time
from typing import Any, Optional, TextIO

from ..errors import msg
from .events import Callback, StopTraining, TrainEvent, epoch_rows


class History(Callback):
    """Every event as a JSON dict, in order: a chart slices it directly (skorch-style)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def _add(self, event: TrainEvent) -> None:
        self.rows.append(event.to_dict())

    on_fit_start = on_batch_end = on_epoch_end = on_fit_end = lambda self, trainer, event: self._add(event)

    def epochs(self) -> list[dict[str, Any]]:
        """One row per epoch, {"epoch", **metrics}: the same view the Train and Embeddings pages draw."""
        return epoch_rows(self.rows)


class BestCheckpoint(Callback):
    """Keeps a CPU copy of the weights at the best `monitor` value; restores them at the end."""

    checkpoint_key = "best"

    def __init__(self, monitor: str = "val_accuracy") -> None:
        self.monitor = monitor
        self.best: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.best_loss = float("inf")
        self.state: Optional[dict] = None

    def on_epoch_end(self, trainer, event: TrainEvent) -> None:
        value = event.metrics.get(self.monitor)
        if value is None:
            value = event.metrics.get("train_accuracy" if trainer.higher_is_better() else "train_loss")
        loss = event.metrics.get("val_loss", event.metrics.get("train_loss", 0.0))
        if self.best is None:
            better = True
        elif value == self.best:  # a tie on accuracy: the lower loss is the surer model
            better = loss < self.best_loss
        else:
            better = value > self.best if trainer.higher_is_better() else value < self.best
        if better:
            self.best, self.best_epoch, self.best_loss = value, event.epoch, loss
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in trainer.model.state_dict().items()}

    def on_fit_end(self, trainer, event: TrainEvent) -> None:
        if self.state is not None:
            trainer.model.load_state_dict(self.state)
        event.metrics["best_epoch"] = self.best_epoch

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({"best": self.best, "best_epoch": self.best_epoch, "best_loss": self.best_loss},
                dict(self.state or {}))

    def load_state_dict(self, values: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.best_loss = values["best"], values["best_epoch"], values["best_loss"]
        self.state = dict(tensors) or None


class EarlyStopping(Callback):
    """Stops when `monitor` has not improved for `patience` epochs."""

    checkpoint_key = "early_stopping"

    def __init__(self, monitor: str, patience: int) -> None:
        self.monitor, self.patience = monitor, patience
        self.best: Optional[float] = None
        self.waited = 0

    def on_epoch_end(self, trainer, event: TrainEvent) -> None:
        value = event.metrics.get(self.monitor)
        if value is None:
            return
        if self.best is None or (value > self.best if trainer.higher_is_better() else value < self.best):
            self.best, self.waited = value, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            trainer.stop_reason = msg("engine.callbacks.early_stopping",
                                      "early stopping: {monitor} did not improve for {patience} epochs",
                                      monitor=self.monitor, patience=self.patience)
            trainer.planned_stop = True  # the plan working: the run is finished, not stopped
            raise StopTraining(trainer.stop_reason)

    def state_dict(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"best": self.best, "waited": self.waited}, {}

    def load_state_dict(self, values: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.best, self.waited = values["best"], values["waited"]


class LogCallback(Callback):
    """Appends JSON-able event dicts to a list that a UI reads; never touches the UI itself."""

    def __init__(self, log: list) -> None:
        self.log = log

    def _put(self, trainer, event: TrainEvent) -> None:
        self.log.append(copy.deepcopy(event.to_dict()))

    on_fit_start = on_epoch_start = on_batch_end = on_epoch_end = on_fit_end = _put


def _duration(seconds: float) -> str:
    """12 s, 3 min 20 s, 1 h 05 min: how long, in words a reader takes in at a glance."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class Printer(Callback):
    """CLI output: one JSON object per line with `json_lines`, else short human lines (~1/s)."""

    def __init__(self, json_lines: bool = False, stream: Optional[TextIO] = None, every_s: float = 1.0) -> None:
        self.json_lines, self.stream, self.every_s = json_lines, stream, every_s
        self._last = 0.0
        self._timed = False

    def _write(self, payload: dict[str, Any], text: str) -> None:
        stream = self.stream or sys.stdout  # looked up now: stdout may have been redirected since
        stream.write((json.dumps(payload) if self.json_lines else text) + "\n")
        stream.flush()

    def on_fit_start(self, trainer, event: TrainEvent) -> None:
        m = event.metrics
        where = f"{m['device']} ({m['threads']} threads)" if m.get("processes", 1) == 1 else \
            f"{m['device']} in {m['processes']} processes ({m['threads']} threads each)"
        self._write({"event": "fit_start", **m, "total_steps": event.total_steps},
                    f"Training on {where}, {m['train_examples']} examples, "
                    f"{m['parameters']:,} parameters, {event.total_steps} steps")

    def on_batch_end(self, trainer, event: TrainEvent) -> None:
        now = time.perf_counter()
        if not self._timed and event.metrics.get("eta_s") is not None:  # the estimate from the timed first batch
            self._timed = True
            self._write({"event": "estimate", "eta_s": event.metrics["eta_s"], "step": event.step},
                        f"  about {_duration(event.metrics['eta_s'])} to go (timed on the first batch)")
        if now - self._last < self.every_s:
            return
        self._last = now
        m = event.metrics
        self._write({"event": "batch_end", "epoch": event.epoch, "step": event.step, **m},
                    f"  epoch {event.epoch} step {event.step}/{event.total_steps} loss {m['loss']:.4f} "
                    + (f"lr {m['lr']:.2g} " if "lr" in m else "") + f"{m['samples_per_s']:.0f} samples/s")

    def on_epoch_end(self, trainer, event: TrainEvent) -> None:
        m = event.metrics
        text = f"epoch {event.epoch}: " + " ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float))
        self._write({"event": "epoch_end", "epoch": event.epoch, **m}, text)
