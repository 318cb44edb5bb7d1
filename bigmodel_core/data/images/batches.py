"""Image batches: scale and normalise pixels, augment training batches on the fly."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class ImagePreprocess:
    """How raw uint8 images (N, H, W, C) become model input; saved as preprocess.json in a run."""

    size: int
    channels: int
    mean: list[float]  # per channel, of the training images in [0, 1]
    std: list[float]

    @classmethod
    def fit(cls, images: np.ndarray) -> "ImagePreprocess":
        x = images.astype(np.float32) / 255.0
        mean = x.mean(axis=(0, 1, 2))
        std = np.maximum(x.std(axis=(0, 1, 2)), 1e-3)
        return cls(int(images.shape[1]), int(images.shape[3]), mean.tolist(), std.tolist())

    def to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """(N, H, W, C) uint8 -> (N, C, H, W) float32, normalised."""
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x - mean) / std

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Augment:
    shift: int = 0
    flip: bool = False
    rotate: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.shift or self.flip or self.rotate)


def augment_batch(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    """Random shift, flip and rotation of a (N, C, H, W) batch, as one affine warp per image."""
    n, _, h, w = x.shape
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(aug.rotate)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * aug.shift
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0) if aug.flip else torch.ones(n)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, 0, 2] = shift[:, 0] * 2 / w  # pixels -> [-1, 1] grid units
    theta[:, 1, 2] = shift[:, 1] * 2 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # padding with the image's own minimum keeps the background after normalisation
    low = x.amin(dim=(2, 3), keepdim=True)
    return F.grid_sample(x - low, grid, align_corners=False, padding_mode="zeros") + low


class ImageBatches:
    """Iterable of `((images,), labels)` batches, same interface as TextBatches."""

    def __init__(self, images: torch.Tensor, labels: np.ndarray, batch_size: int, shuffle: bool = False,
                 seed: int = 0, augment: Optional[Augment] = None) -> None:
        self.images = images  # (N, C, H, W) float32, already normalised
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        self.batch_size = max(1, int(batch_size))
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.augment = augment if augment is not None and augment.active else None

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    @property
    def num_examples(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batch_indices(self) -> list[np.ndarray]:
        n = len(self.labels)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        return [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor], torch.Tensor]]:
        return self.iter_batches(self.batch_indices())

    def iter_batches(self, indices: Sequence[np.ndarray], stream: int = 0) -> Iterator[tuple[tuple[torch.Tensor], torch.Tensor]]:
        """The batches of these index lists (one rank's shard of the epoch: training.distributed);
        each `stream` (rank) draws its own augmentations, stream 0 those of a one-process run."""
        gen = torch.Generator().manual_seed(self.seed * 1000 + self.epoch + stream * 1_000_003)
        for idx in indices:
            t = torch.from_numpy(idx)
            x = self.images[t]
            if self.augment is not None:
                x = augment_batch(x, self.augment, gen)
            yield (x,), self.labels[t]
