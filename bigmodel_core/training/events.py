"""Training events and the Callback base: the Trainer emits, callbacks consume."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional


class StopTraining(Exception):
    """Raised (by a callback or a Stop request) at a batch boundary; the loop ends cleanly."""


@dataclass
class TrainEvent:
    """One JSON-able event: kind is fit_start | epoch_start | batch_end | epoch_end | fit_end."""

    kind: str
    epoch: int = 0
    step: int = 0  # global batch count
    total_steps: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Callback:
    """No-op hooks; subclasses override what they need. `trainer` gives access to the model."""

    def on_fit_start(self, trainer, event: TrainEvent) -> None: ...
    def on_epoch_start(self, trainer, event: TrainEvent) -> None: ...
    def on_batch_end(self, trainer, event: TrainEvent) -> None: ...
    def on_epoch_end(self, trainer, event: TrainEvent) -> None: ...
    def on_fit_end(self, trainer, event: TrainEvent) -> None: ...


HOOKS = {"fit_start": "on_fit_start", "epoch_start": "on_epoch_start", "batch_end": "on_batch_end",
         "epoch_end": "on_epoch_end", "fit_end": "on_fit_end"}


def dispatch(callbacks: Iterable[Callback], event: TrainEvent, trainer: Optional[Any] = None) -> None:
    """Hand `event` to each callback's hook for its kind: the one place events are dispatched.

    `trainer` is None when the events come from elsewhere (a training child process, Word2Vec):
    callbacks that need the model (checkpoints, early stopping) run where the Trainer is.
    Every callback gets the event even after one asks to stop (early stopping raises on the epoch the
    UI and CLI must still show); the StopTraining is raised once all have had it.
    """
    hook = HOOKS[event.kind]
    stop: Optional[StopTraining] = None
    for cb in callbacks:
        try:
            getattr(cb, hook)(trainer, event)
        except StopTraining as exc:
            stop = stop or exc
    if stop is not None:
        raise stop


def epoch_rows(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The epoch_end events of a log (event dicts) as rows {"epoch", **metrics}: what epoch charts draw."""
    return [{"epoch": e["epoch"], **e["metrics"]} for e in events if e.get("kind") == "epoch_end"]
