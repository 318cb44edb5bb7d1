"""Training events and the Callback base: the Trainer emits, callbacks consume."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
