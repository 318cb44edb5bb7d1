"""Bag of embeddings (fastText-style): average word (and optional bigram) vectors, then an MLP."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import msg
from ..settings import Setting
from ._registry import register_model
from ._text import make_embedding, padding_mask

HIDDEN_OR_NONE = Setting(int, 0, 4096)  # 0: no hidden layer, the averaged vector goes straight to the classes


class BagOfEmbeddings(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int, hidden: int,
                 bigram_buckets: int, dropout: float) -> None:
        super().__init__()
        self.embedding = make_embedding(vocab_size, embed_dim)
        self.vocab_size = vocab_size
        # Word bigrams hashed into buckets (fastText's trick): order-aware at the cost of one lookup.
        self.bigrams = nn.Embedding(bigram_buckets, embed_dim) if bigram_buckets else None
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden:
            layers += [nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(hidden or embed_dim, num_classes))
        self.head = nn.Sequential(*layers)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = padding_mask(ids).unsqueeze(-1).float()  # (batch, seq, 1)
        summed = (self.embedding(ids) * mask).sum(1)  # (batch, emb)
        count = mask.sum(1).clamp(min=1)
        if self.bigrams is not None and ids.size(1) > 1:
            # Knuth's multiplicative hash of the pair: (a * 1_000_003 + b) % 50_000 collapsed to
            # (3a + b) % 50_000 and crowded common bigrams into the same buckets.
            pair = ((ids[:, :-1] * self.vocab_size + ids[:, 1:]) * 2654435761) % (2 ** 32) % self.bigrams.num_embeddings
            pmask = mask[:, 1:] * mask[:, :-1]
            summed = summed + (self.bigrams(pair) * pmask).sum(1)
            count = count + pmask.sum(1)
        return self.head(summed / count)


# Dropout 0.5 in both presets: many vectors (50,000 bigram buckets) learnt from few rows overfit
# at 0.2 (BENCHMARKS.md "Small-data SST-2").
@register_model("text", "Bag of embeddings", msg("engine.models.bag_of_embeddings.description",
                    "Averages word vectors (fastText-style); fast, ignores word order."),
                settings={"hidden": HIDDEN_OR_NONE})
def bag_of_embeddings(vocab_size: int, num_classes: int, embed_dim: int = 64, hidden: int = 64,
                      bigram_buckets: int = 0, dropout: float = 0.5) -> nn.Module:
    return BagOfEmbeddings(vocab_size, num_classes, embed_dim, hidden, bigram_buckets, dropout)


@register_model("text", "Bag of embeddings", msg("engine.models.fasttext_bigrams.description",
                    "fastText with hashed word bigrams: sees pairs like 'not good'."),
                settings={"hidden": HIDDEN_OR_NONE})
def fasttext_bigrams(vocab_size: int, num_classes: int, embed_dim: int = 64, hidden: int = 0,
                     bigram_buckets: int = 50000, dropout: float = 0.5) -> nn.Module:
    return BagOfEmbeddings(vocab_size, num_classes, embed_dim, hidden, bigram_buckets, dropout)
