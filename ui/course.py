"""The course inside the app: a "What is happening?" expander per idea, tied to the live model (placeholder:
the course helper fills this in)."""
from __future__ import annotations

from typing import Any

TOPICS = ("data", "forward_loss_gd", "distributed", "rnn", "attention", "convolution", "pretraining",
          "embeddings", "explain", "scale", "pruning", "quantization", "distillation", "deployment")


def explain(topic: str, **live: Any) -> None:
    """Draw the expander for `topic` (one of TOPICS); `live` are values of the user's own model and data."""
    assert topic in TOPICS, topic
