"""TextCNN (Kim 2014): convolutions of several widths over word vectors, max over time."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import msg
from ._registry import register_model
from ._text import make_embedding, padding_mask


class TextCNN(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int, widths: list[int],
                 filters: int, dropout: float) -> None:
        super().__init__()
        self.embedding = make_embedding(vocab_size, embed_dim)
        self.widths = list(widths)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, filters, w) for w in self.widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(filters * len(self.widths), num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        extra = max(self.widths) - 1
        # Pad every text by (widest - 1) so its windows are the same whatever batch it is in.
        mask = F.pad(padding_mask(ids), (0, extra))  # (batch, seq + extra)
        x = F.pad(self.embedding(ids).transpose(1, 2), (0, extra))  # (batch, emb, seq + extra)
        pooled = []
        for w, conv in zip(self.widths, self.convs):
            h = F.relu(conv(x))  # (batch, filters, seq + extra - w + 1)
            # A window counts if it starts on a real word; so a text shorter than w still has one.
            valid = mask[:, : h.size(2)]
            pooled.append(h.masked_fill(~valid.unsqueeze(1), float("-inf")).amax(dim=2))
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


# Dropout 0.5 before the classifier, as in Kim (2014); better than 0.3 on small data (BENCHMARKS.md "Small-data SST-2").
@register_model("text", "TextCNN", msg("engine.models.textcnn.description",
                    "Kim (2014): filters of widths 3/4/5 spot key phrases anywhere in the text."))
def textcnn(vocab_size: int, num_classes: int, embed_dim: int = 64, widths: tuple = (3, 4, 5),
            filters: int = 64, dropout: float = 0.5) -> nn.Module:
    return TextCNN(vocab_size, num_classes, embed_dim, list(widths), filters, dropout)
