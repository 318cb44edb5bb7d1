"""Knowledge distillation (Hinton et al. 2015): a small student learns from a big teacher's soft predictions.

The teacher is any usable run (the headline case: a fine-tuned pretrained Transformer); the student
is any model of the same kind of input, with its own pipeline (an LSTM has a word vocabulary, the
Transformer word pieces): so the teacher is asked once, on the raw training texts, before the
student trains. Its probabilities at temperature T (softmax(log p / T)) travel with each batch, and
the student's loss is

    alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy(student, label)

(the T^2 keeps the soft term's gradients at the size of the hard one's). Validation and test stay
plain accuracy on the true labels, so a distilled run compares with any other.
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, msg


def check(temperature: float, alpha: float) -> tuple[float, float]:
    if not 0.5 <= float(temperature) <= 20:
        raise ConfigError(msg("errors.distil.temperature", "A temperature of {temperature:g} cannot be used for "
                              "distillation.", temperature=float(temperature)),
                          msg("errors.distil.temperature.hint",
                              "Use 1 to 10 (2 to 4 is usual): higher spreads the teacher's probabilities more."))
    if not 0.0 <= float(alpha) <= 1.0:
        raise ConfigError(msg("errors.distil.alpha", "An alpha of {alpha:g} cannot be used: it is the share of the "
                              "teacher's soft answers in the loss.", alpha=float(alpha)),
                          msg("errors.distil.alpha.hint",
                              "Use a number from 0 (labels only) to 1 (teacher only), for example 0.7."))
    return float(temperature), float(alpha)


def soft_targets(teacher, inputs: Sequence[Any], temperature: float, batch_size: int = 256,
                 progress=None) -> np.ndarray:
    """The teacher's probabilities for `inputs` at `temperature`, (n, classes) float32."""
    out = []
    for i in range(0, len(inputs), batch_size):
        out.append(teacher.predict_proba(list(inputs[i:i + batch_size])))
        if progress is not None:
            progress(min(i + batch_size, len(inputs)), len(inputs))
    probs = np.concatenate(out) if out else np.zeros((0, len(teacher.class_names)), dtype=np.float32)
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(1, keepdims=True)
    soft = np.exp(logits)
    return (soft / soft.sum(1, keepdims=True)).astype(np.float32)


class SoftTargetBatches:
    """A training split's batches whose labels carry the teacher's soft targets: (n, 1 + classes) float,
    column 0 the true label. Everything else (order, epochs, lengths) is the inner batches'."""

    def __init__(self, inner, soft: np.ndarray) -> None:
        self.inner, self.soft = inner, np.asarray(soft, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.inner)

    @property
    def num_examples(self) -> int:
        return self.inner.num_examples

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def __getattr__(self, name: str):  # lengths, encoded, labels, ... for code that looks at the batches
        return getattr(self.inner, name)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        for idx in self.inner.batch_indices():
            inputs, y = self.inner.collate(idx)
            yield inputs, torch.cat([y.float().unsqueeze(1), torch.from_numpy(self.soft[idx])], dim=1)


class Distillation:
    """The Trainer's objective for a student: the loss above, and the true labels for its accuracy."""

    def __init__(self, temperature: float, alpha: float) -> None:
        self.temperature, self.alpha = check(temperature, alpha)

    def labels(self, y: torch.Tensor) -> torch.Tensor:
        return y[:, 0].long()

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t, a = self.temperature, self.alpha
        hard = F.cross_entropy(logits, y[:, 0].long())
        soft = F.kl_div(F.log_softmax(logits / t, dim=1), y[:, 1:], reduction="batchmean") * t * t
        return a * soft + (1 - a) * hard
