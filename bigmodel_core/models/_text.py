"""Pieces shared by the text models: masking and the padding-aware embedding."""
from __future__ import annotations

import torch
from torch import nn

from ..data.text.pipeline import PAD_ID


def padding_mask(ids: torch.Tensor) -> torch.Tensor:
    """(batch, seq) bool, True where the position is real (not padding)."""
    return ids != PAD_ID


def make_embedding(vocab_size: int, dim: int) -> nn.Embedding:
    return nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
