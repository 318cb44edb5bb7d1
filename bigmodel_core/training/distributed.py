"""Data-parallel training on PyTorch's own engine: torchrun's world, the process group, shards and sums.

torchrun starts one process per rank and tells each who it is (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR/PORT); outside torchrun this is a world of one and nothing here does
anything. The rules that make N processes train the run one process would:

- `batch_size` is the global batch. Each global batch of the epoch (the one-process order: shuffled
  with the seed and the epoch, bucketed by length) is cut into N contiguous slices, rank r taking
  slice r (`ShardedBatches`); so step t trains on the same examples on 1 or N processes, and length
  bucketing holds inside every shard. Slices may differ by one example (a batch size that does not
  divide, the epoch's short last batch): each rank weighs its loss by its share of the batch, so the
  gradient DistributedDataParallel averages is exactly the global batch's mean gradient. A rank
  whose slice is empty (a last batch smaller than N) trains on a stand-in example weighed 0.
- Every step the ranks add up their loss, right answers and examples (one small all-reduce), so every
  rank reports the same figures and takes the same decisions: a loss that is not a number, a Stop
  request, the time budget (on rank 0's clock). Validation is sharded the same way and summed.
- Random draws inside the model (dropout) come from a generator seeded per rank and per step, so a
  resume continues them exactly without storing every rank's state; such runs match one process's
  statistically, not number for number. Runs without them match within floating-point rounding.
- Rank 0 alone writes: the run folder, its history, its checkpoints, the run index.

torch is imported inside the functions: the CLI reads `world()` before it knows it needs torch.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from ..errors import ConfigError, DeviceError, TrainingError, msg

# how long a rank waits in a collective for the others: rank 0 writing a big checkpoint is the longest
# legitimate wait; a rank that vanished is noticed at once (its connection closes), not after this
TIMEOUT_S = 600
# what a collective says when another rank has died or hung (gloo, NCCL, the TCP store)
_PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "timed out", "Timed out",
              "NCCL error", "connection refused", "Connection refused")


class PeerLost(TrainingError):
    """Another process of a data-parallel run died or stopped answering, so this one cannot go on."""


@dataclass(frozen=True)
class World:
    """Who this process is among the processes training one run together."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # index on this machine (its GPU, under CUDA)
    local_size: int = 1  # processes on this machine: they share its cores
    launched: bool = False  # started by torchrun (even as a world of one)

    @property
    def lead(self) -> bool:
        """Rank 0: the process that writes the run and speaks to the user."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world(env: Optional[dict] = None) -> World:
    """This process's World from torchrun's environment; a world of one outside torchrun."""
    env = os.environ if env is None else env
    try:
        size = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local_rank = int(env.get("LOCAL_RANK", "0"))
        local_size = int(env.get("LOCAL_WORLD_SIZE", str(size)))
    except ValueError:
        raise ConfigError(msg("errors.distributed.bad_env", "torchrun's RANK, WORLD_SIZE or LOCAL_RANK is not a whole "
                              "number."),
                          msg("errors.distributed.bad_env.hint", "Start the training with torchrun (or train "
                              "--processes N), not by setting them by hand.")) from None
    launched = "TORCHELASTIC_RUN_ID" in env or "LOCAL_RANK" in env
    return World(rank, max(1, size), local_rank, max(1, local_size), launched)


def max_processes(device: str = "auto") -> int:
    """How many processes can train one run on this machine: its GPUs when it trains on CUDA, else its cores."""
    import torch

    from .devices import available_cores, resolve_device

    if resolve_device(device).type == "cuda":
        return max(1, torch.cuda.device_count())
    return available_cores()


def device_for(name: str, w: World):
    """The torch.device rank `w` trains on: cuda:LOCAL_RANK for a CUDA run (one GPU per process), else the CPU."""
    from .devices import resolve_device

    device = resolve_device(name)
    if not w.distributed or device.type == "cpu":
        return device
    if device.type == "cuda":
        return resolve_device(f"cuda:{w.local_rank}")
    if (name or "auto").strip().lower() == "auto":  # Apple's GPU has no process-group backend: the CPUs do it
        return resolve_device("cpu")
    raise DeviceError(msg("errors.distributed.mps", "Apple GPUs (MPS) cannot train in several processes."),
                      msg("errors.distributed.mps.hint", "Choose the device cpu (or auto), or train in one process."))


def start() -> None:
    """Join torchrun's process group (gloo for CPU tensors, and NCCL for CUDA ones where there is CUDA),
    once per process: a no-op outside torchrun, for a world of one, or when it is joined already.

    The group stays for the process's life (a script may train several runs in it: tearing down and
    joining again between runs let a quick rank meet a slow one's old connection) and is left at exit.
    """
    w = world()
    if not w.distributed:
        return
    import atexit

    import torch
    import torch.distributed as dist

    if not dist.is_available():
        raise ConfigError(msg("errors.distributed.unavailable", "This build of PyTorch cannot train in several "
                              "processes."),
                          msg("errors.distributed.unavailable.hint",
                              "Train in one process, or install a PyTorch with distributed support."))
    if dist.is_initialized():
        return
    backend = "gloo"
    if torch.cuda.is_available() and dist.is_nccl_available() and w.local_rank < torch.cuda.device_count():
        torch.cuda.set_device(w.local_rank)
        backend = "cpu:gloo,cuda:nccl"  # the device a tensor is on picks the backend
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=TIMEOUT_S))
    atexit.register(teardown)


def teardown() -> None:
    """Leave the process group (a no-op when there is none); at exit, while the interpreter still runs.

    What still refers to it goes first: a DistributedDataParallel left to the interpreter's final
    clean-up holds gloo work whose release then aborts the process (SIGABRT) now and then.
    """
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def all_reduce_sum(values: list[float]) -> list[float]:
    """The sum over every rank of each of `values` (float64 on the CPU: gloo, whatever the device)."""
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is True on any (a collective: every rank must call it)."""
    return all_reduce_sum([float(bool(flag))])[0] > 0


def wrap(model, device):
    """`model` in DistributedDataParallel: gradients are averaged over the ranks during backward.

    Frozen weights (requires_grad False: a pretrained encoder's pooler, frozen word vectors) are not
    DDP's business; every trainable weight of the registered models takes part in every forward, so
    no search for unused parameters (and its cost every step) is needed.
    """
    import warnings

    from torch.nn.parallel import DistributedDataParallel

    # a one-channel convolution's weight gradient comes with another stride on its size-1 dimension:
    # DDP copies it into its bucket all the same, and says so once per process in words meant for developers
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides", category=UserWarning)
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def step_seed(seed: int, rank: int, step: int) -> int:
    """The torch seed of `rank` before global step `step`: reproducible draws per rank, exact across a resume."""
    return int(np.random.SeedSequence([int(seed), int(rank), int(step)]).generate_state(1, np.uint64)[0] >> 1)


def peer_lost(exc: BaseException, w: World) -> Optional[PeerLost]:
    """`exc` as a PeerLost when it is a collective's report that another rank died or hung, else None."""
    if not w.distributed or isinstance(exc, PeerLost):
        return None
    try:
        from torch.distributed import DistError
    except ImportError:  # a PyTorch without distributed support never gets here
        DistError = RuntimeError
    if isinstance(exc, DistError) or (isinstance(exc, RuntimeError) and any(s in str(exc) for s in _PEER_LOST)):
        return PeerLost(msg("errors.distributed.peer_lost", "Another of the {n} training processes stopped or "
                            "stopped answering, so the run could not go on.", n=w.size),
                        msg("errors.distributed.peer_lost.hint",
                            "Its own error is reported with this one; deal with it, then resume the run."))
    return None


class ShardedBatches:
    """This rank's slice of every batch of `inner` (TextBatches, ImageBatches: anything with
    `batch_indices()`, `iter_batches(indices, stream)` and an `epoch`).

    `train=True`: exactly one batch per global batch, so every rank takes the same number of steps
    (an empty slice becomes a stand-in example that `share` weighs 0). `train=False` (validation):
    empty slices are skipped and nothing is weighed.
    """

    def __init__(self, inner: Any, w: World, train: bool = True) -> None:
        self.inner, self.rank, self.size, self.train = inner, w.rank, w.size, train
        self._key: Optional[tuple] = None
        self._global: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.inner)

    @property
    def num_examples(self) -> int:
        return self.inner.num_examples  # the whole training split: what the run trains on

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def __getattr__(self, name: str) -> Any:  # lengths, labels, batch_size, ... of the whole split
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def global_batches(self) -> list[np.ndarray]:
        """The epoch's global batches (the one-process order), computed once per epoch."""
        key = (getattr(self.inner, "epoch", None),)
        if self._key != key:
            self._global, self._key = self.inner.batch_indices(), key
        return self._global

    def _slice(self, batch: np.ndarray) -> np.ndarray:
        return np.array_split(batch, self.size)[self.rank]  # contiguous; the first len % size get one more

    def batch_indices(self) -> list[np.ndarray]:
        out = []
        for batch in self.global_batches():
            part = self._slice(batch)
            if len(part):
                out.append(part)
            elif self.train:
                out.append(batch[:1])  # a stand-in: DDP needs every rank in every step
        return out

    def share(self, i: int) -> tuple[float, int]:
        """(loss weight, real examples) of this rank's slice of global batch `i`: the weight is
        size x slice / batch, so the ranks' averaged gradients are the whole batch's mean gradient."""
        batch = self.global_batches()[i]
        n = len(self._slice(batch))
        return self.size * n / len(batch), n

    def __iter__(self) -> Iterator[Any]:
        return iter(self.inner.iter_batches(self.batch_indices(), stream=self.rank))
