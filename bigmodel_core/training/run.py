"""A whole run: data -> pipeline -> model -> Trainer -> report -> saved bundle (or nothing on failure)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch

from ..config import RunConfig
from ..data.dataset import load_dataset
from ..errors import BigModelError, ConfigError, ModelError, TrainingCancelled, error_to_dict, msg, msg_to_json
from ..models import create_model, list_models, model_entry, resolve_params
from ..runs.info import RunInfo
from ..runs.store import CHECKPOINT, LiveRun, new_run_id
from ..tasks import task_named
from . import distributed
from .callbacks import BestCheckpoint, EarlyStopping, History
from .events import Callback, TrainEvent, dispatch, epoch_rows
from .metrics import classification_report, predict_batches
from .resume import plan_resume, prepare_for_resume, read_plan, release_resume
from .trainer import Trainer

MAX_MISCLASSIFIED = 50  # shown on the Train page; more would not be read


@dataclass
class Prepared:
    """Everything a run trains on, built from a RunConfig."""

    dataset: Any  # TextDataset | ImageDataset
    pipeline: Any  # TextPipeline | ImagePreprocess: how raw inputs become model inputs
    model: torch.nn.Module
    model_params: dict[str, Any]
    data_info: dict[str, Any]
    batches: dict[str, Any]  # train/val/test -> TextBatches | ImageBatches
    vectors: Optional[dict[str, Any]] = None  # the word vectors the embedding started from (text), with coverage
    # a derived run (optimize/): its loss (a distilled student's), its epochs (0: kept as it is), the step
    # that makes the model plain before saving (pruning's masks folded in), and how its weights are stored
    objective: Any = None
    epochs: Optional[int] = None
    finalize: Optional[Any] = None
    weights: Optional[Any] = None
    parent: Optional[str] = None


def prepare(cfg: RunConfig, dataset: Any = None, home: str | Path | None = None) -> Prepared:
    """Load data, fit the pipeline on the training split only, batch, and build the model.

    `home` is the workspace the run's word vectors (cfg.model.embeddings) are looked up in.
    """
    if cfg.derive is not None:  # pruned, quantized or distilled from another run
        from ..optimize.derive import prepare_derived

        return prepare_derived(cfg, home)
    resolve_params(cfg.model.name, cfg.model.params)  # a bad model setting is refused before the data is read
    ds = dataset or load_dataset(cfg.data)
    pipeline, batches, info = task_named(ds.task).prepare(cfg, ds)
    data_info = {"task": ds.task, "num_classes": len(ds.class_names), "class_names": ds.class_names,
                 "spec": ds.spec, "description": ds.description,
                 "split": {k: int(len(v)) for k, v in ds.split.items()}, **info}
    entry = model_entry(cfg.model.name)
    if entry.task != ds.task:
        plural = {"text": msg("engine.models.task_plural.text", "texts"),
                  "image": msg("engine.models.task_plural.image", "images")}
        raise ModelError(msg("errors.run.wrong_task", "The {model} model is for {kind}, but this dataset holds {data}.",
                             model=cfg.model.name, kind=plural.get(entry.task, f"{entry.task}s"),
                             data=plural.get(ds.task, f"{ds.task}s")),
                         msg("errors.run.wrong_task.hint", "Choose one of the {kind} models: {models}.",
                             kind={"text": msg("engine.models.task.text", "text"),
                                   "image": msg("engine.models.task.image", "image")}.get(ds.task, ds.task),
                             models=", ".join(list_models(ds.task))))
    kv, user_params = None, cfg.model.params
    if cfg.model.embeddings:
        from ..embeddings.coverage import params_for_vectors
        from ..embeddings.vectors import load_vectors

        kv = load_vectors(cfg.model.embeddings, home=home)
        user_params = params_for_vectors(cfg.model.name, user_params, kv.vector_size)
    params = resolve_params(cfg.model.name, user_params)
    torch.manual_seed(cfg.train.seed)
    model = create_model(cfg.model.name, data_info, **params)
    vectors = None
    if kv is not None:
        from ..embeddings.coverage import init_embedding, vectors_record

        coverage = init_embedding(model, kv, pipeline.itos, cfg.model.freeze_embeddings, cfg.train.seed)
        vectors = vectors_record(kv, cfg.model.embeddings, cfg.model.freeze_embeddings, coverage)
    return Prepared(ds, pipeline, model, params, data_info, batches, vectors)


def _misclassified(ds: Any, out: dict, limit: int = MAX_MISCLASSIFIED) -> list[dict]:
    """The most confident mistakes on the validation split (text, or index into the dataset for images)."""
    if not len(out["labels"]):  # no validation split (val_fraction 0): nothing to show
        return []
    val_idx = ds.split["val"]
    pred = out["probs"].argmax(1)
    wrong = np.flatnonzero(pred != out["labels"])
    wrong = wrong[np.argsort(-out["probs"][wrong].max(1))][:limit]
    rows = []
    for i in wrong:
        index = int(val_idx[out["order"][i]])
        rows.append({**task_named(ds.task).mistake(ds, index),
                     "true": ds.class_names[out["labels"][i]], "predicted": ds.class_names[pred[i]],
                     "confidence": float(out["probs"][i].max())})
    return rows


def _report(out: dict, class_names: list[str]) -> dict[str, Any]:
    """The classification report of one split; an empty split (a fraction of 0) has no figures."""
    if not len(out["labels"]):
        return {"accuracy": None, "macro_f1": None, "per_class": [], "confusion": []}
    return classification_report(out["labels"], out["probs"], class_names)


def train_run(cfg: RunConfig, callbacks: Iterable[Callback] = (), home: str | Path | None = None,
              stop_event: Optional[threading.Event] = None, running_jobs: int = 1,
              resume: Optional[str] = None, epochs: Optional[int] = None, record: bool = True) -> RunInfo:
    """Train and save one run; returns its record (id, path, metrics, ...).

    The run exists from its first batch: its folder, its entry in the run index (status running)
    and, after every epoch, its curves, best weights so far and a checkpoint (`record=False`
    writes only at the end: the benchmark's "logging off"). A failure before the first checkpoint
    leaves nothing; a plain training error after it (the loss exploded, out of memory) keeps the
    run as "failed" with its error; a Stop saves the run with the best weights so far and status
    "stopped"; early stopping and a time budget are part of the plan, so their run is "finished".
    Ctrl-C, SIGTERM or a killed process leave it "interrupted", resumable from its last checkpoint.

    `resume`: the id of an interrupted, stopped or failed run to continue (same id, curves go on);
    `cfg` is then ignored (the run's own settings are used), and `epochs` may raise its epoch count.

    Under torchrun every process calls this (training.distributed): they train together and rank 0
    alone writes the run; the other ranks return their unsaved record. A process of the group that
    dies ends the others with a PeerLost error, and rank 0 keeps or removes the run by the rules above.
    """
    world = distributed.world()
    distributed.start()  # several processes: join them first, so that a failure anywhere is noticed
    return _train_run(world, cfg, list(callbacks), home, stop_event, running_jobs, resume, epochs, record)


def _train_run(world: distributed.World, cfg: Optional[RunConfig], callbacks: list[Callback],
               home: str | Path | None, stop_event: Optional[threading.Event], running_jobs: int,
               resume: Optional[str], epochs: Optional[int], record: bool) -> RunInfo:
    plan, cfg, live, prep = _begin(world, cfg, home, stop_event, resume, epochs)
    lead = world.lead
    history, best = History(), BestCheckpoint(cfg.train.monitor)
    info = plan.info if plan else RunInfo(
        id=live.run_id if live else (cfg.name or "unsaved"), created=time.strftime("%Y-%m-%d %H:%M:%S"),
        task=prep.data_info["task"], config=cfg, model_params=prep.model_params, data_info=prep.data_info,
        embeddings=prep.vectors, status="running", parent=prep.parent)
    info.config, info.path = cfg, str(live.folder) if live else None
    if lead and info.flops_per_example is None:
        from ..models.summary import flops_per_example

        info.flops_per_example = flops_per_example(prep.model, prep.batches["train"])
    extra: list[Callback] = [history, best] if lead else [history]  # other ranks keep no weights
    if cfg.train.early_stopping_patience:  # on every rank: they all see the same (summed) figures
        extra.append(EarlyStopping(cfg.train.monitor, cfg.train.early_stopping_patience))
    if lead:
        extra.append(Recorder(live, info, prep, history, best, home, every_epoch=record))
    trainer = Trainer(cfg.train, [*extra, *callbacks], running_jobs=running_jobs, stop_event=stop_event,
                      checkpoint_to=live.path(CHECKPOINT) if record and lead else None, objective=prep.objective)
    if plan is not None:
        history.rows = plan.history
        for row in plan.history if lead else ():  # the curves so far, to the live chart and the printer
            if row.get("kind") == "epoch_end":
                dispatch(callbacks, TrainEvent(**row))
    try:
        model = trainer.fit(prep.model, prep.batches["train"], prep.batches["val"],
                            resume=plan.checkpoint if plan else None, epochs=prep.epochs)
        if not lead:
            return _unsaved(info, trainer)
        if prep.finalize is not None:
            model = prep.finalize(model)
        _finish(info, trainer, model, prep, history, best)
        _save(live, info, history, prep, model)
    except BaseException as exc:
        lost = distributed.peer_lost(exc, world)
        if lead:
            _failed(live, info, trainer, lost or exc, resumed=plan is not None, home=home)
        if lost is not None:
            raise lost from exc
        raise
    return info


def _begin(world: distributed.World, cfg: Optional[RunConfig], home: str | Path | None,
           stop_event: Optional[threading.Event], resume: Optional[str], epochs: Optional[int]):
    """(resume plan, settings, run folder, prepared data and model): rank 0 claims a resumed run and
    makes the folder; the other ranks only read. Every rank is ready (or the run cancelled) at the end."""
    if resume is not None:
        plan = (plan_resume if world.lead else read_plan)(resume, home, epochs)
        cfg = plan.config
    else:
        plan = None
        if epochs is not None:
            raise ConfigError(msg("errors.run.new_epochs", "A new run takes its epochs from its settings."),
                              msg("errors.run.new_epochs.hint", "Set train.epochs (--epochs) instead."))
    try:
        if world.distributed and cfg.derive is not None:
            raise ConfigError(msg("errors.run.derived_processes", "A pruned, quantized or distilled run trains in "
                                  "one process."),
                              msg("errors.run.derived_processes.hint", "Make it again with processes 1."))
        run_id = plan.info.id if plan else (cfg.name or new_run_id(cfg.model.name))
        live = LiveRun(run_id, home, resume=plan is not None) if world.lead else None
        prep = prepare(cfg, home=home) if plan is None else prepare_for_resume(cfg, plan, home)
        cancelled = stop_event is not None and stop_event.is_set()  # Stop pressed while the data was prepared
        if world.distributed:  # every rank has prepared (a rank that failed is noticed here), and agrees
            cancelled = distributed.any_rank(cancelled)
        if cancelled:
            raise TrainingCancelled(msg("errors.run.cancelled", "Training was stopped before it started."),
                                    msg("errors.run.cancelled.hint", "Press Train to start again."))
    except BaseException as exc:
        if plan is not None and world.lead:
            release_resume(plan.info, plan.previous, home)
        lost = distributed.peer_lost(exc, world)
        if lost is not None:
            raise lost from exc
        raise
    return plan, cfg, live, prep


def _unsaved(info: RunInfo, trainer: Trainer) -> RunInfo:
    """A rank other than 0 after training: the run as trained here, not written (rank 0 writes it)."""
    info.status = "stopped" if trainer.stopped_early and not trainer.planned_stop else "finished"
    info.stop_reason, info.world_size = trainer.stop_reason, trainer.world.size
    info.examples_seen, info.seconds, info.path = trainer.examples_seen, trainer.elapsed(), None
    return info


class Recorder(Callback):
    """Keeps the run's folder and its index entry current while it trains (the run store's writer).

    At the first batch: the folder, the pipeline files and run.json (status running, owner). After
    every epoch: the event log's new lines, the best weights so far (when this epoch is the best),
    run.json and the epoch's row in the index; the Trainer then writes the checkpoint. The index is only an
    index: if another process holds it locked, training goes on and the next listing catches up.
    """

    def __init__(self, live: LiveRun, info: RunInfo, prep: Prepared, history: History, best: BestCheckpoint,
                 home: str | Path | None, every_epoch: bool = True) -> None:
        self.live, self.info, self.prep, self.history, self.best = live, info, prep, history, best
        self.home, self.every_epoch = home, every_epoch
        self._written: Optional[int] = None  # rows of history.jsonl on disk

    def on_fit_start(self, trainer, event: TrainEvent) -> None:
        from ..runs.workspace import owner_stamp

        info = self.info
        info.parameters, info.device, info.threads = event.metrics["parameters"], str(trainer.device), trainer.threads
        info.world_size = trainer.world.size
        info.status, info.owner, info.error = "running", owner_stamp(), None
        if not self.live.created and not (self.live.folder / "run.json").exists():
            self.live.open()
            task_named(info.task).save(self.live, self.prep.pipeline, self.prep.dataset, [])
        self._write(trainer)

    def on_epoch_end(self, trainer, event: TrainEvent) -> None:
        if not self.every_epoch:
            return
        m = event.metrics
        self.info.epochs_done = event.epoch
        kept = next((r for r in epoch_rows(self.history.rows) if r["epoch"] == self.best.best_epoch), m)
        self.info.metrics = {k: kept.get(k) for k in ("val_accuracy", "val_loss", "train_loss", "train_accuracy",
                                                      "samples_per_s")}  # the best epoch so far: what is kept
        if self.best.best_epoch == event.epoch and self.best.state is not None:
            from safetensors.torch import save

            from ..runs.store import write_atomic

            write_atomic(self.live.path("weights.safetensors"),
                         save({k: v.contiguous() for k, v in self.best.state.items()}))
        self._write_history()
        self._write(trainer, {**m, "epoch": event.epoch, "step": event.step, "wall": m.get("elapsed")})

    def _write_history(self) -> None:
        """The event log: written whole once (a resumed run's file may run past its checkpoint), then
        appended epoch by epoch; a line cut short by a kill is dropped by the reader."""
        rows = self.history.rows
        if self._written is None:
            self.live.write_jsonl("history.jsonl", rows)
        else:
            with open(self.live.path("history.jsonl"), "a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(row) + "\n" for row in rows[self._written:]))
        self._written = len(rows)

    def _write(self, trainer, epoch_row: Optional[dict] = None) -> None:
        from ..runs.store import write_record

        self.info.examples_seen, self.info.seconds = trainer.examples_seen, trainer.elapsed()
        self.info.files = sorted(p.name for p in self.live.folder.iterdir() if not p.name.startswith("."))
        write_record(self.info, self.home, epoch=epoch_row, strict=False)  # keeps a rename made meanwhile


def _finish(info: RunInfo, trainer: Trainer, model: torch.nn.Module, prep: Prepared, history: History,
            best: BestCheckpoint) -> None:
    """Fill in the record of a run whose training ended (finished or stopped): final metrics and reports."""
    val = predict_batches(model, prep.batches["val"], trainer.device)
    test = predict_batches(model, prep.batches["test"], trainer.device)
    val_report, test_report = _report(val, prep.dataset.class_names), _report(test, prep.dataset.class_names)
    epochs = epoch_rows(history.rows)
    final = epochs[-1] if epochs else {}
    planned = trainer.planned_stop or not trainer.stopped_early  # early stopping or the time budget: finished
    info.status = "finished" if planned else "stopped"
    info.stop_reason, info.best_epoch, info.owner = trainer.stop_reason, best.best_epoch, None
    info.device, info.threads, info.world_size = str(trainer.device), trainer.threads, trainer.world.size
    info.epochs_done = final.get("epoch", 0)
    info.examples_seen, info.seconds = trainer.examples_seen, trainer.elapsed()
    info.metrics = {"val_accuracy": val_report["accuracy"], "val_macro_f1": val_report["macro_f1"],
                    "test_accuracy": test_report["accuracy"], "test_macro_f1": test_report["macro_f1"],
                    "val_loss": val["loss"], "test_loss": test["loss"],
                    "train_loss": final.get("train_loss"), "train_accuracy": final.get("train_accuracy"),
                    "samples_per_s": final.get("samples_per_s")}
    info.val_report, info.test_report = val_report, test_report
    info.misclassified = _misclassified(prep.dataset, val)


def _failed(live: LiveRun, info: RunInfo, trainer: Trainer, exc: BaseException, resumed: bool,
            home: str | Path | None) -> None:
    """Training did not end normally: keep what a resume can use, drop what it cannot."""
    from ..runs.store import write_record

    has_checkpoint = live.path(CHECKPOINT).exists()
    if not live.created and not resumed:
        return
    if not has_checkpoint and not resumed:
        live.discard()  # failed or stopped before its first checkpoint: nothing to keep or resume from
        return
    if isinstance(exc, BigModelError):  # the loss exploded, out of memory, ...: its epochs so far are kept
        info.status, info.error = "failed", error_to_dict(exc)
    elif isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
        info.status = "interrupted"
        info.stop_reason = msg("engine.run.interrupted", "interrupted ({what})", what=type(exc).__name__)
        exc.kept_run = info.id  # the CLI names it in its last line
    else:
        hint = msg("errors.run.failed.hint", "Resume it, or train it again.")
        info.status = "failed"
        info.error = {"message": f"{type(exc).__name__}: {exc}", "hint": hint, "hint_msg": msg_to_json(hint)}
    info.owner = None
    try:
        write_record(info, home, strict=False)
    except OSError:
        pass  # the folder's run.json stays "running": the next listing marks it interrupted


def _save(live: LiveRun, info: RunInfo, history: History, prep: Prepared, model: torch.nn.Module) -> None:
    """The run's final files; run.json last, so a run is "finished" only once everything else is there."""
    from safetensors.torch import save

    from ..runs.store import write_atomic, write_record

    if not live.created and not (live.folder / "run.json").exists():
        live.open()  # a run with no batch at all (an empty training split cannot happen; kept for safety)
    live.write_jsonl("history.jsonl", history.rows)
    task_named(info.task).save(live, prep.pipeline, prep.dataset, info.misclassified)
    state = prep.weights(model) if prep.weights is not None else \
        {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(live.path("weights.safetensors"), save(state))
    finished = info.status == "finished"
    info.files = sorted(p.name for p in live.folder.iterdir() if not p.name.startswith(".")
                        and p.name != "run.json" and not (finished and p.name == CHECKPOINT))
    info.files.append("run.json")
    write_record(info, live.home, [{**r, "wall": r.get("elapsed")} for r in _epoch_rows_with_step(history.rows)],
                 strict=False)
    if finished:  # only once run.json says so: a kill before this line leaves a resumable run
        live.path(CHECKPOINT).unlink(missing_ok=True)  # nothing left to resume: do not keep the optimizer state


def _epoch_rows_with_step(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e["metrics"], "epoch": e["epoch"], "step": e["step"]} for e in rows if e.get("kind") == "epoch_end"]
