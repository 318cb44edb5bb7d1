"""Recurrent classifiers (RNN / LSTM / GRU) over packed sequences, uni- or bidirectional."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..errors import ConfigError, did_you_mean, msg
from ._registry import register_model
from ._text import make_embedding

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNClassifier(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, cell: str, embed_dim: int, hidden: int,
                 layers: int, bidirectional: bool, dropout: float) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(msg("errors.rnn.cell", "'{cell}' is not a recurrent cell.", cell=cell),
                              did_you_mean(cell, CELLS))
        self.cell = cell
        self.embedding = make_embedding(vocab_size, embed_dim)
        self.rnn = CELLS[cell](embed_dim, hidden, num_layers=layers, batch_first=True,
                               bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(ids))  # (batch, seq, emb)
        lengths = lengths.cpu().clamp(min=1)
        if int(lengths.min()) == ids.size(1):  # no padding in this batch: the fused kernel, no packing (BENCHMARKS.md section 8)
            _, h = self.rnn(x)
        else:  # packing skips the padding, so the final state is the one after the last real word
            _, h = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        h = h[0] if self.cell == "lstm" else h  # (layers * dirs, batch, hidden)
        if self.rnn.bidirectional:
            last = torch.cat([h[-2], h[-1]], dim=1)  # forward and backward states of the top layer
        else:
            last = h[-1]
        return self.fc(self.dropout(last))


def _make(vocab_size, num_classes, cell, embed_dim, hidden, layers, bidirectional, dropout):
    return RNNClassifier(vocab_size, num_classes, cell, embed_dim, hidden, layers, bidirectional, dropout)


@register_model("text", "RNN", msg("engine.models.rnn.description",
                    "Recurrent network: reads word by word; set cell to rnn, lstm or gru."))
def rnn(vocab_size: int, num_classes: int, cell: str = "rnn", embed_dim: int = 64, hidden: int = 64,
        layers: int = 1, bidirectional: bool = False, dropout: float = 0.2) -> nn.Module:
    return _make(vocab_size, num_classes, cell, embed_dim, hidden, layers, bidirectional, dropout)


# Dropout 0.5 for the LSTM (better on 8,000 SST-2 rows, BENCHMARKS.md "Small-data SST-2"); the plain RNN and
# the GRU keep 0.2: no gain measured, and at 0.5 the plain RNN never leaves chance on the built-in reviews.
@register_model("text", "RNN", msg("engine.models.lstm.description",
                    "LSTM: a recurrent network with gates that remember across long texts."))
def lstm(vocab_size: int, num_classes: int, cell: str = "lstm", embed_dim: int = 64, hidden: int = 64,
         layers: int = 1, bidirectional: bool = True, dropout: float = 0.5) -> nn.Module:
    return _make(vocab_size, num_classes, cell, embed_dim, hidden, layers, bidirectional, dropout)


@register_model("text", "RNN", msg("engine.models.gru.description",
                    "GRU: a lighter gated recurrent network, often as good as an LSTM."))
def gru(vocab_size: int, num_classes: int, cell: str = "gru", embed_dim: int = 64, hidden: int = 64,
        layers: int = 1, bidirectional: bool = True, dropout: float = 0.2) -> nn.Module:
    return _make(vocab_size, num_classes, cell, embed_dim, hidden, layers, bidirectional, dropout)
