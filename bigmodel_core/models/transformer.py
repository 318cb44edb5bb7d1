"""Transformer encoder classifier that keeps each layer's attention weights for inspection."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError, msg
from ._registry import register_model
from ._text import make_embedding, padding_mask


class PositionalEncoding(nn.Module):
    """Sinusoidal positions (Vaswani et al. 2017): tells the model where each word stands."""

    def __init__(self, dim: int, max_len: int = 2048) -> None:
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.size(1)].unsqueeze(0)


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + feed-forward block; stores its attention when asked."""

    def __init__(self, dim: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor, keep_attention: bool):
        h = self.norm1(x)
        out, attn = self.attn(h, h, h, key_padding_mask=pad, need_weights=keep_attention,
                              average_attn_weights=False)  # attn: (batch, heads, query, key)
        x = x + self.dropout(out)
        x = x + self.dropout(self.ff(self.norm2(x)))
        return x, attn


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, dim: int, heads: int, layers: int,
                 ff: int, dropout: float) -> None:
        super().__init__()
        self.embedding = make_embedding(vocab_size, dim)
        self.scale = math.sqrt(dim)
        self.positions = PositionalEncoding(dim)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self._classify(ids, keep_attention=False)[0]

    def _classify(self, ids: torch.Tensor, keep_attention: bool) -> tuple[torch.Tensor, list]:
        """(logits, attention per layer or Nones): nothing is kept on the model, so a model shared by
        several app sessions can be asked for attention while others predict with it."""
        real = padding_mask(ids)  # (batch, seq)
        x = self.positions(self.embedding(ids) * self.scale)
        attentions = []
        for layer in self.layers:
            x, attn = layer(x, ~real, keep_attention)
            attentions.append(attn)
        x = self.norm(x)
        mask = real.unsqueeze(-1).float()
        pooled = (x * mask).sum(1) / mask.sum(1).clamp(min=1)  # mean over real words
        return self.fc(pooled), attentions

    @torch.no_grad()
    def attention(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Attention of every layer and head: list of (batch, heads, seq, seq); rows sum to one.

        Dropout is not applied (attention as the model uses it to predict), whatever the mode.
        """
        was_training = self.training
        self.eval()
        try:
            return self._classify(ids, keep_attention=True)[1]
        finally:
            self.train(was_training)


@register_model("text", "Transformer", msg("engine.models.transformer.description",
                    "Transformer encoder: every word attends to every other word."))
def transformer(vocab_size: int, num_classes: int, dim: int = 64, heads: int = 4, layers: int = 2,
                ff: int = 128, dropout: float = 0.1) -> nn.Module:
    if heads < 1 or dim % heads:
        raise ConfigError(msg("errors.transformer.heads",
                              "The width dim={dim} cannot be split evenly into {heads} attention heads.",
                              dim=dim, heads=heads),
                          msg("errors.transformer.heads.hint", "Choose a number of heads that divides it: {choices}.",
                              choices=", ".join(str(h) for h in range(1, min(dim, 16) + 1) if dim % h == 0)))
    return TransformerClassifier(vocab_size, num_classes, dim, heads, layers, ff, dropout)
