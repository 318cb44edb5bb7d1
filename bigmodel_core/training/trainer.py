"""The Trainer: the one training loop, emitting TrainEvents to callbacks."""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterable, Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..config import OPTIMIZERS, SCHEDULES, TrainConfig
from ..errors import ConfigError, TrainingError, did_you_mean, msg
from . import distributed
from .devices import autocast, choose_threads, compile_errors_as_plain, precision_problem
from .diagnose import refuse_loss
from .events import Callback, StopTraining, TrainEvent, dispatch
from .grad_norms import GradNorms
from .metrics import predict_batches, to_device

BY_USER, STOPPED = msg("engine.trainer.by_user", "stopped by the user"), msg("engine.trainer.stopped", "stopped")
_HIGHER_IS_BETTER = ("accuracy", "f1")
# adam/sgd add weight decay to the gradient: at adamw's default (0.5) an LSTM stays at chance
COUPLED_DECAY_LIMIT = 0.1
# besides every epoch's end, a checkpoint this often inside a long epoch (a big dataset, a pretrained
# model on a CPU): a crash then loses at most this much training
CHECKPOINT_EVERY_S = 120.0


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
        where = msg("errors.trainer.oom.gpu", "GPU") if device.type in ("cuda", "mps") else \
            msg("errors.trainer.oom.computer", "computer")
        raise TrainingError(msg("errors.trainer.oom", "The {where} ran out of memory while training on a batch of "
                                "{batch_size}.", where=where, batch_size=batch_size),
                            msg("errors.trainer.oom.hint", "Use a smaller batch size (for example {half}), a smaller "
                                "model, or shorter texts (max_len), and train again.",
                                half=max(1, batch_size // 2))) from None


def make_optimizer(cfg: TrainConfig, params, device: torch.device | None = None) -> torch.optim.Optimizer:
    """The optimizer `cfg` names. Adam/AdamW use torch's fused kernels on CPU and CUDA: the same result,
    several times faster on a large embedding (BENCHMARKS.md section 8)."""
    if cfg.optimizer in ("adam", "sgd") and cfg.weight_decay > COUPLED_DECAY_LIMIT:
        raise ConfigError(msg("errors.trainer.decay", "A weight decay of {decay} is too strong for {optimizer}: it "
                              "adds the decay to the gradient, so the model would not learn.",
                              decay=f"{cfg.weight_decay:g}", optimizer=cfg.optimizer),
                          msg("errors.trainer.decay.hint", "Use adamw (which decays the weights directly) with it, or "
                              "a weight decay of at most {limit} (for example 0.0001) with {optimizer}.",
                              limit=f"{COUPLED_DECAY_LIMIT:g}", optimizer=cfg.optimizer))
    fused = True if device is not None and device.type in ("cpu", "cuda") else None
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    raise ConfigError(msg("errors.trainer.optimizer", "'{name}' is not an optimizer.", name=cfg.optimizer),
                      did_you_mean(cfg.optimizer, OPTIMIZERS))


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int,
                   clock=None) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning-rate schedule `cfg` names, stepped once per batch over `total_steps` batches.

    warmup_*: the rate climbs linearly to cfg.lr over the first warmup_fraction of the steps (the
    first batch already trains, at lr / warm-up steps), then falls towards zero over the remaining
    steps, along a straight line or a half cosine. constant: cfg.lr throughout. With a time budget
    (cfg.time_budget_s) and a `clock` (training seconds so far), the same shape is laid over the
    budget's seconds instead, since the number of steps it allows is not known in advance.
    """
    if cfg.schedule not in SCHEDULES:
        raise ConfigError(msg("errors.trainer.schedule", "'{name}' is not a learning-rate schedule.", name=cfg.schedule),
                          did_you_mean(cfg.schedule, SCHEDULES))
    warm = max(1, round(cfg.warmup_fraction * total_steps)) if cfg.warmup_fraction else 0
    decay_steps = max(1, total_steps - warm) + 1  # + 1: the last batch still learns a little
    budget = cfg.time_budget_s

    def by_time() -> float:  # a time budget: the same shape over the seconds instead of the steps
        frac = min(1.0, clock() / budget)
        if frac < cfg.warmup_fraction:
            return max(frac / cfg.warmup_fraction, 1e-3)
        progress = (frac - cfg.warmup_fraction) / max(1e-9, 1.0 - cfg.warmup_fraction)
        return max(1e-3, 1.0 - progress if cfg.schedule == "warmup_linear" else 0.5 * (1.0 + math.cos(math.pi * progress)))

    def factor(step: int) -> float:  # step = batches already taken; the factor is for the next one
        if cfg.schedule == "constant":
            return 1.0
        if budget is not None and clock is not None:
            return by_time()
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
                 stop_event: Optional[threading.Event] = None, checkpoint_to: Optional[Path] = None,
                 objective=None) -> None:
        """`checkpoint_to`: a file the whole training state is written to after every epoch and
        at a Stop (training.checkpoint), so the run can be resumed exactly. `objective`: what the
        loss is, `loss(logits, targets)` and `labels(targets)` (default: cross-entropy on the labels;
        a distilled student's also weighs its teacher's soft answers: optimize.distil)."""
        self.cfg = cfg
        self.objective = objective
        self.checkpoint_to = checkpoint_to
        self.callbacks = list(callbacks)
        # under torchrun: this process's rank among those training the run together (training.distributed)
        self.world = distributed.world()
        self.device = distributed.device_for(cfg.device, self.world)
        self.threads = choose_threads(running_jobs, cfg.num_threads, processes=self.world.local_size)
        self._net: Optional[nn.Module] = None  # the model in DistributedDataParallel, with several processes
        self._compiled = None  # the training forward under torch.compile (TrainConfig.compile)
        self._agreed = {"stop": False, "elapsed": 0.0}  # what the ranks agreed at the last step
        self._stop = stop_event or threading.Event()
        self.stopped_early = False
        self.stop_reason: Optional[str] = None
        self.model: Optional[nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.scheduler: Optional[torch.optim.lr_scheduler.LambdaLR] = None
        self.first_loss: Optional[float] = None
        self.scaler: Optional[torch.amp.GradScaler] = None  # fp16 on CUDA only
        self.grad_norms: Optional[GradNorms] = None  # each layer's gradient norm (rank 0), for the charts
        self._norms: Optional[dict[str, float]] = None  # measured at this batch's optimizer step
        # where the run is, for checkpoints: the epoch in progress, batches done in it, global step
        self.position = {"epoch": 1, "batch": 0, "step": 0}
        self.partial = {"loss_sum": 0.0, "correct": 0.0, "seen": 0.0, "secs": 0.0}  # the epoch in progress
        self.examples_seen = 0  # over every epoch and every resume
        self.elapsed_before = 0.0  # training seconds of the sessions before a resume
        self.total_steps = 0
        self.planned_stop = False  # early stopping or the time budget: the run is finished, not stopped
        self._fit_start = time.perf_counter()
        self._last_checkpoint = time.perf_counter()

    def elapsed(self) -> float:
        """Training seconds so far, counting the sessions before a resume."""
        return self.elapsed_before + time.perf_counter() - self._fit_start

    def request_stop(self, reason: str = BY_USER) -> None:
        self.stop_reason = reason
        self._stop.set()

    def _clock(self) -> float:
        """Training seconds for decisions every rank must take alike (the time budget): rank 0's."""
        return self._agreed["elapsed"] if self.world.distributed else self.elapsed()

    def _stopping(self) -> bool:
        """A Stop to act on now; with several processes only once every rank knows of it (at the last step)."""
        return self._agreed["stop"] if self.world.distributed else self._stop.is_set()

    def higher_is_better(self) -> bool:
        return any(k in self.cfg.monitor for k in _HIGHER_IS_BETTER)

    def _emit(self, event: TrainEvent) -> None:
        dispatch(self.callbacks, event, self)

    def fit(self, model: nn.Module, train_batches, val_batches=None,
            resume: Optional[tuple[dict, dict]] = None, epochs: Optional[int] = None) -> nn.Module:
        """Train `model`; batches yield ((inputs...), labels). Returns the model (on self.device).

        `resume` is a checkpoint's (tensors, meta) (training.checkpoint.load): the model, optimizer,
        schedule, callbacks and random generators are put back and training continues at the batch
        where it was saved, in the same data order, as if it had never stopped.
        """
        cfg = self.cfg
        if self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        problem = precision_problem(cfg.precision, self.device)
        if problem:
            raise ConfigError(msg("errors.trainer.precision", "Training in {precision} is not possible on {device}: "
                                  "{problem}", precision=cfg.precision, device=self.device.type, problem=problem),
                              msg("errors.trainer.precision.hint",
                                  "Choose precision fp32 (or bf16 on a CPU), or another device."))
        # fp16's small range needs the loss scaled up so gradients do not underflow (bf16 does not)
        self.scaler = torch.amp.GradScaler(self.device.type) if cfg.precision == "fp16" and \
            self.device.type == "cuda" else None
        self.model = model.to(self.device)
        if self.world.distributed:
            train_batches, val_batches = self._shard(train_batches, val_batches)
        # `epochs`: this many instead of the settings' (0: no training at all, for a pruned or quantized model
        # kept as it is: it is still validated, tested and saved like any run)
        epochs = epochs if epochs is not None else 1 if cfg.dry_run else cfg.epochs
        per_epoch = min(2, len(train_batches)) if cfg.dry_run else len(train_batches)
        total = self.total_steps = epochs * per_epoch
        trainable = [p for p in model.parameters() if p.requires_grad]
        if epochs or trainable:  # a quantized model may have no float weights left, and trains no epoch
            self.optimizer = make_optimizer(cfg, trainable, self.device)
            # the schedule counts optimizer steps: one per `grad_accumulation` batches
            updates = epochs * math.ceil(per_epoch / cfg.grad_accumulation)
            self.scheduler = make_scheduler(cfg, self.optimizer, updates, clock=self._clock)
            self.grad_norms = GradNorms(model, updates) if trainable and self.world.lead else None
        self._fit_start = time.perf_counter()
        if resume is not None:
            from . import checkpoint

            checkpoint.restore(self, *resume)
            self.position, self.partial = dict(resume[1]["position"]), dict(resume[1]["partial"])
        self._agreed = {"stop": False, "elapsed": self.elapsed_before}
        if self.world.distributed and trainable:
            self._net = distributed.wrap(self.model, self.device)  # rank 0's weights go to every rank
        self._compiled = self._compile(self._net or self.model) if cfg.compile and epochs else None
        self._emit(TrainEvent("fit_start", self.position["epoch"], self.position["step"], total, metrics={
            "device": str(self.device), "threads": self.threads, "processes": self.world.size,
            "train_examples": train_batches.num_examples,
            "parameters": sum(p.numel() for p in model.parameters()),
            **({"resumed_at_step": self.position["step"]} if resume is not None else {})}))
        step, epoch, last = self.position["step"], self.position["epoch"], {}
        try:
            for epoch in range(self.position["epoch"], epochs + 1):
                train_batches.set_epoch(epoch)
                skip = self.position["batch"] if epoch == self.position["epoch"] else 0
                if not skip:
                    self.partial = {"loss_sum": 0.0, "correct": 0.0, "seen": 0.0, "secs": 0.0}
                    self._emit(TrainEvent("epoch_start", epoch, step, total))
                step, train_metrics = self._train_epoch(epoch, step, total, per_epoch, train_batches, skip)
                last = {**train_metrics, **self._validate(val_batches), "elapsed": self.elapsed()}
                self.position = {"epoch": epoch + 1, "batch": 0, "step": step}
                self._emit(TrainEvent("epoch_end", epoch, step, total, last))
                self._checkpoint()
                if self.planned_stop:
                    raise StopTraining(self.stop_reason)
        except StopTraining as stop:
            self.stopped_early = True
            self.stop_reason = self.stop_reason or (stop.args[0] if stop.args else None) or STOPPED
            if not self.planned_stop:
                self._checkpoint()  # a Stop: keep exactly where it was, so a resume goes on from here
        finally:
            self._net = self._compiled = None  # DDP's hooks and pending work go before the process group
        self._emit(TrainEvent("fit_end", epoch, step, total, {
            **last, "stopped": self.stopped_early, "stop_reason": self.stop_reason,
            "seconds": self.elapsed()}))
        return self.model

    def _train_epoch(self, epoch, step, total, per_epoch, batches, skip=0):
        cfg, part = self.cfg, self.partial
        (self._net or self.model).train()
        t0 = time.perf_counter() - part["secs"]
        budget = cfg.time_budget_s
        last = min(per_epoch, len(batches)) - 1
        for i, (inputs, y) in enumerate(batches):
            if i >= per_epoch:
                break
            if i < skip:  # resumed inside this epoch: these batches were trained before the checkpoint
                continue
            accum = cfg.grad_accumulation
            if self._stopping() and i % accum == 0:  # between optimizer steps: a resume is then exact
                raise StopTraining(self.stop_reason or BY_USER)
            lr = self.optimizer.param_groups[0]["lr"]  # the rate this batch trains at
            value, correct, n, classes = self._step(i, step, inputs, y, batches, (i + 1) % accum == 0 or i >= last)
            self._check_loss(value, step + 1, classes)
            step += 1
            part["loss_sum"] += value * n
            part["correct"] += correct
            part["seen"] += n
            part["secs"] = time.perf_counter() - t0
            self.examples_seen += n
            self.position = {"epoch": epoch, "batch": i + 1, "step": step}
            rate = part["seen"] / max(part["secs"], 1e-9)
            done_frac = step / max(total, 1)
            since = self._clock()
            eta = since * (1 - done_frac) / max(done_frac, 1e-9)
            norms, self._norms = self._norms, None
            self._emit(TrainEvent("batch_end", epoch, step, total, {
                "loss": value, "lr": lr, "samples_per_s": rate, "elapsed": since,
                "eta_s": min(eta, max(0.0, budget - since)) if budget is not None else eta,
                **({"grad_norms": norms} if norms else {})}))
            if self.checkpoint_to is not None and (i + 1) % accum == 0 and \
                    time.perf_counter() - self._last_checkpoint >= CHECKPOINT_EVERY_S:
                self._checkpoint()
            if budget is not None and since >= budget and not self.planned_stop:
                self.planned_stop = True  # this epoch ends here and is validated; then the run is finished
                self.stop_reason = msg("engine.trainer.budget", "time budget of {seconds:g} s reached", seconds=budget)
                break
        seen, secs = max(part["seen"], 1), time.perf_counter() - t0
        return step, {"train_loss": part["loss_sum"] / seen, "train_accuracy": part["correct"] / seen,
                      "samples_per_s": part["seen"] / max(secs, 1e-9), "epoch_seconds": secs}

    def _step(self, i: int, step: int, inputs, y, batches, update: bool) -> tuple[float, float, int, int]:
        """Forward and backward of batch `i`, then the optimizer step when `update` (the last batch of an
        accumulation): (loss, right answers, examples, classes), over every rank's slice together."""
        cfg, opt, accum, ddp = self.cfg, self.optimizer, self.cfg.grad_accumulation, self.world.distributed
        inputs, y = to_device(inputs, self.device), y.to(self.device, non_blocking=True)
        weight, n = batches.share(i) if ddp else (1.0, y.size(0))
        if ddp:  # each rank's own dropout draws, the same after a resume
            torch.manual_seed(distributed.step_seed(cfg.seed, self.world.rank, step))
        net = self._net or self.model
        forward = net if self._compiled is None else self._compiled
        with out_of_memory_as_error(self.device, y.size(0)), compile_errors_as_plain(self._compiled is not None):
            if i % accum == 0:
                opt.zero_grad(set_to_none=True)
            # inside an accumulation DDP only adds up locally; the last batch's backward averages the sum
            with net.no_sync() if ddp and self._net is not None and not update else nullcontext():
                with autocast(cfg.precision, self.device):
                    logits = forward(*inputs)
                loss = self.objective.loss(logits.float(), y) if self.objective else F.cross_entropy(logits.float(), y)
                scaled = loss * weight if ddp else loss
                scaled = scaled / accum if accum > 1 else scaled
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            labels = self.objective.labels(y) if self.objective else y
            value, correct = loss.item(), (logits.argmax(1) == labels).sum().item()
            if ddp:  # before the optimizer step: a time-budget schedule reads the agreed clock
                value, correct, n = self._agree(value, correct, n)
            if update:
                self._optimizer_step()
                self.scheduler.step()
        return value, correct, n, logits.size(1)

    def _agree(self, value: float, correct: float, n: int) -> tuple[float, float, int]:
        """This step's loss, right answers and examples summed over the ranks, with any rank's Stop request
        and rank 0's clock: one all-reduce, so every rank reports and decides alike."""
        loss_sum, correct, n, stops, clock = distributed.all_reduce_sum([
            value * n if n else 0.0, float(correct) if n else 0.0, float(n), float(self._stop.is_set()),
            self.elapsed() if self.world.lead else 0.0])
        self._agreed = {"stop": stops > 0, "elapsed": clock}
        return loss_sum / max(n, 1.0), correct, int(n)

    def _shard(self, train_batches, val_batches):
        """This rank's slices of the training and validation batches (joining torchrun's process group)."""
        size = self.world.size
        if self.cfg.batch_size < size:
            raise ConfigError(msg("errors.trainer.shard", "A batch of {batch_size} cannot be shared between {size} "
                                  "processes.", batch_size=self.cfg.batch_size, size=size),
                              msg("errors.trainer.shard.hint", "Use a batch size of at least {size} (it is the global "
                                  "batch, split between the processes), or fewer processes.", size=size))
        distributed.start()
        val = distributed.ShardedBatches(val_batches, self.world, train=False) if val_batches is not None else None
        return distributed.ShardedBatches(train_batches, self.world), val

    def _compile(self, net: nn.Module):
        """The training forward compiled by torch.compile (the module itself, and so its weights and
        checkpoints, stay as they are); a plain ConfigError when this device cannot compile."""
        import os

        from .devices import compile_problem

        problem = compile_problem(self.device)
        if problem:
            raise ConfigError(msg("errors.trainer.compile", "torch.compile cannot be used here: {problem}", problem=problem),
                              msg("errors.trainer.compile.hint", "Train without compile (compile=false)."))
        backend = os.environ.get("BIGMODEL_COMPILE_BACKEND", "inductor")  # tests: aot_eager, no C++ build
        return torch.compile(net, backend=backend, dynamic=True)

    def _optimizer_step(self) -> None:
        """One optimizer step on the gradients added up so far (clipped; unscaled first under fp16)."""
        opt, cfg = self.optimizer, self.cfg
        if self.scaler is not None:
            self.scaler.unscale_(opt)
        if self.grad_norms is not None and self.grad_norms.due(self.scheduler.last_epoch):  # before clipping
            self._norms = self.grad_norms.measure(skip_non_finite=self.scaler is not None)
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    def _checkpoint(self) -> None:
        if self.checkpoint_to is not None and self.position["step"]:
            from . import checkpoint

            checkpoint.save(self.checkpoint_to, self)
            self._last_checkpoint = time.perf_counter()

    def _check_loss(self, value: float, step: int, classes: int) -> None:
        """Refuse a loss that is not a number or has exploded far past where it started (diagnose.refuse_loss)."""
        refuse_loss(value, step, self.first_loss, classes)
        if self.first_loss is None:
            self.first_loss = value

    def _validate(self, val_batches) -> dict:
        if val_batches is None or val_batches.num_examples == 0:
            return {}
        out = predict_batches(self.model, val_batches, self.device)
        if not self.world.distributed:
            return {"val_loss": out["loss"], "val_accuracy": float((out["probs"].argmax(1) == out["labels"]).mean())}
        n = len(out["labels"])  # this rank's shard, then the sums over every rank
        right = float((out["probs"].argmax(1) == out["labels"]).sum()) if n else 0.0
        loss_sum, right, n = distributed.all_reduce_sum([out["loss"] * n, right, float(n)])
        return {"val_loss": loss_sum / max(n, 1.0), "val_accuracy": right / max(n, 1.0)}
