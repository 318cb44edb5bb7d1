"""The Trainer: the one training loop, emitting TrainEvents to callbacks."""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..config import OPTIMIZERS, SCHEDULES, TrainConfig
from ..errors import ConfigError, TrainingError, did_you_mean
from .devices import choose_threads, resolve_device
from .events import Callback, StopTraining, TrainEvent, dispatch
from .metrics import predict_batches, to_device

_HIGHER_IS_BETTER = ("accuracy", "f1")
EXPLODED = 100.0  # a loss this many times its start (or chance level) means training diverged
# adam/sgd add weight decay to the gradient: at adamw's default (0.5) an LSTM stays at chance
COUPLED_DECAY_LIMIT = 0.1


@contextmanager
def out_of_memory_as_error(device: torch.device, batch_size: int) -> Iterator[None]:
    """A GPU or CPU out-of-memory inside a step becomes a plain TrainingError suggesting a smaller batch."""
    try:
        yield
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and "out of memory" not in str(exc):  # MPS says it in a RuntimeError
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
        where = "GPU" if device.type in ("cuda", "mps") else "computer"
        raise TrainingError(f"The {where} ran out of memory while training on a batch of {batch_size}.",
                            f"Use a smaller batch size (for example {max(1, batch_size // 2)}), a smaller model, "
                            "or shorter texts (max_len), and train again.") from None


def make_optimizer(cfg: TrainConfig, params, device: torch.device | None = None) -> torch.optim.Optimizer:
    """The optimizer `cfg` names. Adam/AdamW use torch's fused kernels on CPU and CUDA: the same result,
    several times faster on a large embedding (BENCHMARKS.md section 8)."""
    if cfg.optimizer in ("adam", "sgd") and cfg.weight_decay > COUPLED_DECAY_LIMIT:
        raise ConfigError(f"A weight decay of {cfg.weight_decay:g} is too strong for {cfg.optimizer}: "
                          "it adds the decay to the gradient, so the model would not learn.",
                          f"Use adamw (which decays the weights directly) with it, or a weight decay of at most "
                          f"{COUPLED_DECAY_LIMIT:g} (for example 0.0001) with {cfg.optimizer}.")
    fused = True if device is not None and device.type in ("cpu", "cuda") else None
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    raise ConfigError(f"'{cfg.optimizer}' is not an optimizer.", did_you_mean(cfg.optimizer, OPTIMIZERS))


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer,
                   total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning-rate schedule `cfg` names, stepped once per batch over `total_steps` batches.

    warmup_*: the rate climbs linearly to cfg.lr over the first warmup_fraction of the steps (the
    first batch already trains, at lr / warm-up steps), then falls towards zero over the remaining
    steps, along a straight line or a half cosine. constant: cfg.lr throughout.
    """
    if cfg.schedule not in SCHEDULES:
        raise ConfigError(f"'{cfg.schedule}' is not a learning-rate schedule.", did_you_mean(cfg.schedule, SCHEDULES))
    warm = max(1, round(cfg.warmup_fraction * total_steps)) if cfg.warmup_fraction else 0
    decay_steps = max(1, total_steps - warm) + 1  # + 1: the last batch still learns a little

    def factor(step: int) -> float:  # step = batches already taken; the factor is for the next one
        if cfg.schedule == "constant":
            return 1.0
        if step < warm:
            return (step + 1) / warm  # the last warm-up batch trains at the full rate
        progress = min(1.0, (step - warm + 1) / decay_steps)
        return 1.0 - progress if cfg.schedule == "warmup_linear" else 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Trainer:
    """Owns the loop; history, checkpoints, early stopping, UI and CLI output are callbacks.

    `request_stop()` may be called from any thread: the loop raises StopTraining at the next
    batch boundary and still runs the end hooks, so nothing learned so far is lost.
    """

    def __init__(self, cfg: TrainConfig, callbacks: Iterable[Callback] = (), running_jobs: int = 1,
                 stop_event: Optional[threading.Event] = None) -> None:
        self.cfg = cfg
        self.callbacks = list(callbacks)
        self.device = resolve_device(cfg.device)
        self.threads = choose_threads(running_jobs, cfg.num_threads)
        self._stop = stop_event or threading.Event()
        self.stopped_early = False
        self.stop_reason: Optional[str] = None
        self.model: Optional[nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.scheduler: Optional[torch.optim.lr_scheduler.LambdaLR] = None
        self._first_loss: Optional[float] = None

    def request_stop(self, reason: str = "stopped by the user") -> None:
        self.stop_reason = reason
        self._stop.set()

    def higher_is_better(self) -> bool:
        return any(k in self.cfg.monitor for k in _HIGHER_IS_BETTER)

    def _emit(self, event: TrainEvent) -> None:
        dispatch(self.callbacks, event, self)

    def fit(self, model: nn.Module, train_batches, val_batches=None) -> nn.Module:
        """Train `model`; batches yield ((inputs...), labels). Returns the model (on self.device)."""
        cfg = self.cfg
        if self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        self.model = model.to(self.device)
        self.optimizer = make_optimizer(cfg, [p for p in model.parameters() if p.requires_grad], self.device)
        epochs = 1 if cfg.dry_run else cfg.epochs
        per_epoch = min(2, len(train_batches)) if cfg.dry_run else len(train_batches)
        total = epochs * per_epoch
        self.scheduler = make_scheduler(cfg, self.optimizer, total)
        start = time.perf_counter()
        self._emit(TrainEvent("fit_start", total_steps=total, metrics={
            "device": str(self.device), "threads": self.threads, "train_examples": train_batches.num_examples,
            "parameters": sum(p.numel() for p in model.parameters())}))
        step, epoch, last = 0, 0, {}
        try:
            for epoch in range(1, epochs + 1):
                train_batches.set_epoch(epoch)
                self._emit(TrainEvent("epoch_start", epoch, step, total))
                step, train_metrics = self._train_epoch(epoch, step, total, per_epoch, train_batches, start)
                secs = train_metrics.pop("_secs")
                last = {**train_metrics, **self._validate(val_batches), "epoch_seconds": secs}
                self._emit(TrainEvent("epoch_end", epoch, step, total, last))
        except StopTraining as stop:
            self.stopped_early = True
            self.stop_reason = self.stop_reason or str(stop) or "stopped"
        self._emit(TrainEvent("fit_end", epoch, step, total, {
            **last, "stopped": self.stopped_early, "stop_reason": self.stop_reason,
            "seconds": time.perf_counter() - start}))
        return self.model

    def _train_epoch(self, epoch, step, total, per_epoch, batches, fit_start):
        model, opt, cfg = self.model, self.optimizer, self.cfg
        model.train()
        t0 = time.perf_counter()
        loss_sum = correct = seen = 0.0
        for i, (inputs, y) in enumerate(batches):
            if i >= per_epoch:
                break
            if self._stop.is_set():
                raise StopTraining(self.stop_reason or "stopped by the user")
            inputs, y = to_device(inputs, self.device), y.to(self.device, non_blocking=True)
            lr = opt.param_groups[0]["lr"]  # the rate this batch trains at
            with out_of_memory_as_error(self.device, y.size(0)):
                logits = model(*inputs)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
            self.scheduler.step()
            value = loss.item()
            self._check_loss(value, step + 1, logits.size(1))
            step += 1
            n = y.size(0)
            loss_sum += value * n
            correct += (logits.argmax(1) == y).sum().item()
            seen += n
            elapsed = time.perf_counter() - t0
            rate = seen / max(elapsed, 1e-9)
            done_frac = step / max(total, 1)
            since = time.perf_counter() - fit_start
            self._emit(TrainEvent("batch_end", epoch, step, total, {
                "loss": value, "lr": lr, "samples_per_s": rate, "elapsed": since,
                "eta_s": since * (1 - done_frac) / max(done_frac, 1e-9)}))
        return step, {"train_loss": loss_sum / max(seen, 1), "train_accuracy": correct / max(seen, 1),
                      "samples_per_s": seen / max(time.perf_counter() - t0, 1e-9), "_secs": time.perf_counter() - t0}

    def _check_loss(self, value: float, step: int, classes: int) -> None:
        """Refuse a loss that is not a number or has exploded far past where it started."""
        if not math.isfinite(value):
            raise TrainingError(f"The loss became {value} at step {step}, so the model stopped learning.",
                                "Lower the learning rate, or turn on gradient clipping, and train again.")
        if self._first_loss is None:
            self._first_loss = value
        if value > EXPLODED * max(self._first_loss, math.log(max(classes, 2))):
            raise TrainingError(f"The loss exploded to {value:.3g} at step {step} (it started at {self._first_loss:.3g}), "
                                "so the model is no longer learning.",
                                "Lower the learning rate (for example by 10x), or turn on gradient clipping, and train again.")

    def _validate(self, val_batches) -> dict:
        if val_batches is None or val_batches.num_examples == 0:
            return {}
        out = predict_batches(self.model, val_batches, self.device)
        acc = float((out["probs"].argmax(1) == out["labels"]).mean())
        return {"val_loss": out["loss"], "val_accuracy": acc}
