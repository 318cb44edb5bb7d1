"""Batches of token ids, bucketed by length so little compute goes to padding."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from .pipeline import PAD_ID

# How many batches' worth of examples are sorted together: large pools mean less padding,
# small pools mean more randomness between epochs. 50 keeps padding under a few percent.
_POOL_BATCHES = 50


class TextBatches:
    """Iterable of `((ids, lengths), labels)` batches over encoded texts.

    ids: (batch, max_len_in_batch) int64 padded with PAD_ID; lengths: (batch,); labels: (batch,).
    Training batches are shuffled per epoch (seed + epoch) and bucketed by length when
    `bucket` is True; evaluation batches are sorted by length and keep `order` to map back.
    """

    def __init__(self, encoded: Sequence[np.ndarray], labels: np.ndarray | None, batch_size: int,
                 shuffle: bool = False, bucket: bool = True, seed: int = 0) -> None:
        self.encoded = list(encoded)
        self.lengths = np.fromiter((len(x) for x in self.encoded), dtype=np.int64, count=len(self.encoded))
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.batch_size = max(1, int(batch_size))
        self.shuffle, self.bucket, self.seed = shuffle, bucket, seed
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.encoded) + self.batch_size - 1) // self.batch_size

    @property
    def num_examples(self) -> int:
        return len(self.encoded)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batch_indices(self) -> list[np.ndarray]:
        n, bs = len(self.encoded), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable") if self.bucket else np.arange(n)
            return [order[i:i + bs] for i in range(0, n, bs)]
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(n)
        if self.bucket:
            pool = bs * _POOL_BATCHES
            chunks = [order[i:i + pool] for i in range(0, n, pool)]
            order = np.concatenate([c[np.argsort(self.lengths[c], kind="stable")] for c in chunks])
        batches = [order[i:i + bs] for i in range(0, n, bs)]
        if self.bucket:  # sorted pools would otherwise always feed short batches first
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def collate(self, idx: np.ndarray) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        lens = self.lengths[idx]
        ids = np.full((len(idx), int(lens.max())), PAD_ID, dtype=np.int64)
        for row, i in enumerate(idx):
            seq = self.encoded[i]
            ids[row, : len(seq)] = seq
        labels = torch.from_numpy(self.labels[idx]) if self.labels is not None else torch.zeros(len(idx), dtype=torch.long)
        return (torch.from_numpy(ids), torch.from_numpy(lens)), labels

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]]:
        return self.iter_batches(self.batch_indices())

    def iter_batches(self, indices: Sequence[np.ndarray], stream: int = 0
                     ) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]]:
        """The batches of these index lists (one rank's shard of the epoch: training.distributed)."""
        for idx in indices:
            yield self.collate(idx)

    def padding_fraction(self) -> float:
        """Share of padded positions across an epoch of batches (0 = no padding at all)."""
        total = real = 0
        for idx in self.batch_indices():
            lens = self.lengths[idx]
            total += int(lens.max()) * len(idx)
            real += int(lens.sum())
        return 1 - real / max(total, 1)
