"""A whole run: data -> pipeline -> model -> Trainer -> report -> saved bundle (or nothing on failure)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch

from ..config import RunConfig
from ..data.dataset import load_dataset
from ..errors import ModelError, TrainingCancelled
from ..models import create_model, list_models, model_entry, resolve_params
from ..runs.info import RunInfo
from ..runs.store import RunWriter, new_run_id
from ..tasks import task_named
from .callbacks import BestCheckpoint, EarlyStopping, History
from .events import Callback
from .metrics import classification_report, predict_batches
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


def prepare(cfg: RunConfig, dataset: Any = None, home: str | Path | None = None) -> Prepared:
    """Load data, fit the pipeline on the training split only, batch, and build the model.

    `home` is the workspace the run's word vectors (cfg.model.embeddings) are looked up in.
    """
    resolve_params(cfg.model.name, cfg.model.params)  # a bad model setting is refused before the data is read
    ds = dataset or load_dataset(cfg.data)
    pipeline, batches, info = task_named(ds.task).prepare(cfg, ds)
    data_info = {"task": ds.task, "num_classes": len(ds.class_names), "class_names": ds.class_names,
                 "spec": ds.spec, "description": ds.description,
                 "split": {k: int(len(v)) for k, v in ds.split.items()}, **info}
    entry = model_entry(cfg.model.name)
    if entry.task != ds.task:
        raise ModelError(f"The {cfg.model.name} model is for {entry.task}s, but this dataset holds {ds.task}s.",
                         f"Choose one of the {ds.task} models: " + ", ".join(list_models(ds.task)) + ".")
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
              stop_event: Optional[threading.Event] = None, running_jobs: int = 1) -> RunInfo:
    """Train and save one run; returns its record (id, path, metrics, ...).

    A failure leaves nothing in the workspace; a Stop saves the run with the best weights so far
    and status "stopped"; early stopping is part of the plan, so its run is "finished".
    """
    t0 = time.perf_counter()
    prep = prepare(cfg, home=home)
    if stop_event is not None and stop_event.is_set():  # Stop pressed while the data was being prepared
        raise TrainingCancelled("Training was stopped before it started.", "Press Train to start again.")
    history, best = History(), BestCheckpoint(cfg.train.monitor)
    extra: list[Callback] = [history, best]
    if cfg.train.early_stopping_patience:
        extra.append(EarlyStopping(cfg.train.monitor, cfg.train.early_stopping_patience))
    trainer = Trainer(cfg.train, [*extra, *callbacks], running_jobs=running_jobs, stop_event=stop_event)
    run_id = cfg.name or new_run_id(cfg.model.name)
    writer = RunWriter(run_id, home)
    try:
        model = trainer.fit(prep.model, prep.batches["train"], prep.batches["val"])
        val = predict_batches(model, prep.batches["val"], trainer.device)
        test = predict_batches(model, prep.batches["test"], trainer.device)
        val_report, test_report = _report(val, prep.dataset.class_names), _report(test, prep.dataset.class_names)
        final = history.rows[-1]["metrics"] if history.rows else {}
        early = (trainer.stop_reason or "").startswith("early stopping")  # the plan working, not a Stop
        info = RunInfo(
            id=run_id, created=time.strftime("%Y-%m-%d %H:%M:%S"), task=prep.data_info["task"], config=cfg,
            model_params=prep.model_params, data_info=prep.data_info, device=str(trainer.device),
            threads=trainer.threads, status="stopped" if trainer.stopped_early and not early else "finished",
            stop_reason=trainer.stop_reason, best_epoch=best.best_epoch, embeddings=prep.vectors,
            seconds=time.perf_counter() - t0,
            metrics={"val_accuracy": val_report["accuracy"], "val_macro_f1": val_report["macro_f1"],
                     "test_accuracy": test_report["accuracy"], "test_macro_f1": test_report["macro_f1"],
                     "val_loss": val["loss"], "test_loss": test["loss"],
                     "train_loss": final.get("train_loss"), "train_accuracy": final.get("train_accuracy"),
                     "samples_per_s": final.get("samples_per_s")},
            val_report=val_report, test_report=test_report, misclassified=_misclassified(prep.dataset, val))
        _save(writer, info, history, prep, model)
        path = writer.commit()
    except BaseException:
        writer.discard()
        raise
    info.path = str(path)
    return info


def _save(writer: RunWriter, info: RunInfo, history: History, prep: Prepared, model: torch.nn.Module) -> None:
    from safetensors.torch import save_file

    writer.write_json("run.json", info.to_dict())
    writer.write_jsonl("history.jsonl", history.rows)
    task_named(info.task).save(writer, prep.pipeline, prep.dataset, info.misclassified)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(writer.path("weights.safetensors")))
