"""Runs derived from other runs: pruned, quantized, distilled. Each is an ordinary run (trained, if at all,
by the one Trainer through `train_run`) whose record names its parent and how it was made
(`RunConfig.derive`), so comparisons survive a restart and show on the Runs page.

- prune:    the parent's model and pipeline, its smallest weights zeroed (global or per layer), then
            fine-tuned for `finetune_epochs` (0: kept as it is) at a tenth of the parent's learning rate
            with the zeros held by masks; the masks are folded in before saving.
- quantize: the parent's model with its Linear/LSTM/GRU layers in int8 (dynamic quantization, CPU);
            no training; stored as its recipe plus int8 values (quantize.py: never pickled).
- distil:   a new student model trained on the teacher's data and split, with the teacher's soft
            answers in its loss (distil.py).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from ..config import ModelConfig, RunConfig
from ..errors import ConfigError, RunError, msg
from ..runs.info import RunInfo

KINDS = ("prune", "quantize", "distil")
# words inside the sentences below, translated with them (a Msg may be a parameter of another)
WHAT = {"teach with": msg("engine.derive.what.teach", "teach with"), "prune": msg("engine.derive.what.prune", "prune"),
        "quantize": msg("engine.derive.what.quantize", "quantize")}
STATUS = {"queued": msg("engine.derive.status.queued", "queued"),
          "running": msg("engine.derive.status.running", "running"),
          "failed": msg("engine.derive.status.failed", "failed"),
          "interrupted": msg("engine.derive.status.interrupted", "interrupted")}
READS = {"text": msg("engine.derive.texts", "texts"), "image": msg("engine.derive.images", "images")}


def _reads(task: str) -> str:
    """'texts' / 'images' (what a model of `task` reads), as a translatable word."""
    return READS.get(task, f"{task}s")


def _usable_parent(run: str, home: Any, what: str) -> tuple[RunInfo, Any]:
    """(record, predictor) of a finished run to derive from, or a plain error."""
    from ..runs.store import read_run, resolve_run
    from ..serve.bundle import load_bundle

    info = read_run(resolve_run(run, home))
    if not info.usable:
        raise RunError(msg("errors.derive.unusable", "The run '{name}' is {status}, so it has no final weights to "
                           "{what}.", name=info.name, status=STATUS.get(info.status, info.status),
                           what=WHAT.get(what, what)),
                       msg("errors.derive.unusable.hint", "Choose a finished or stopped run."))
    return info, load_bundle(info.id, home=home)


def plan(kind: str, parent: str, home: Any = None, *, sparsity: float = 0.5, scope: str = "global",
         finetune_epochs: int = 0, student: str = "lstm", student_params: Optional[dict[str, Any]] = None,
         temperature: float = 4.0, alpha: float = 0.7, epochs: Optional[int] = None,
         name: Optional[str] = None, data: Any = None) -> RunConfig:
    """The RunConfig of a run derived from `parent` (a run id): give it to train_run (or the JobManager).

    distil: the student trains on the teacher's data and split, unless `data` (a DataConfig with the
    same classes) names other texts for it to learn the teacher's answers on.
    """
    from ..runs.store import read_run, resolve_run

    if kind not in KINDS:
        raise ConfigError(msg("errors.derive.kind", "'{kind}' is not a way to make a model smaller.", kind=kind),
                          msg("errors.derive.kind.hint", "Choose prune, quantize or distil."))
    info = read_run(resolve_run(parent, home))
    base = info.config
    if kind == "distil":
        from ..models import list_models, model_entry
        from .distil import check

        check(temperature, alpha)
        if model_entry(student).task != info.task:
            raise ConfigError(msg("errors.derive.student_task", "The {student} model is for {student_reads}, but the "
                                  "teacher '{teacher}' reads {teacher_reads}.", student=student,
                                  student_reads=_reads(model_entry(student).task), teacher=info.name,
                                  teacher_reads=_reads(info.task)),
                              msg("errors.derive.student_task.hint", "Choose a student for {reads}: {names}.",
                                  reads=_reads(info.task), names=", ".join(list_models(info.task))))
        if model_entry(student).pipeline is not None:
            raise ConfigError(msg("errors.derive.pretrained_student",
                                  "The {student} model is a pretrained one, not a small student.", student=student),
                              msg("errors.derive.pretrained_student.hint",
                                  "Choose a small model as the student, for example lstm or bag_of_embeddings."))
        train = dataclasses.replace(base.train, epochs=int(epochs or 8), lr=1e-2, schedule="warmup_cosine",
                                    weight_decay=0.5 if base.train.optimizer == "adamw" else base.train.weight_decay)
        data = data if data is not None else base.data
        return RunConfig(data, ModelConfig(student, dict(student_params or {})), train, name=name,
                         derive={"kind": "distil", "teacher": info.id, "temperature": float(temperature),
                                 "alpha": float(alpha)})
    if kind == "prune":
        from .prune import check_sparsity

        check_sparsity(sparsity, scope)
        ft = int(finetune_epochs)
        if ft < 0 or ft > 100:
            raise ConfigError(msg("errors.derive.finetune", "{epochs} fine-tuning epochs cannot be used.", epochs=ft),
                              msg("errors.derive.finetune.hint", "Use 0 (keep the pruned model as it is) to 10."))
        train = dataclasses.replace(base.train, epochs=max(ft, 1), lr=base.train.lr / 10, schedule="constant",
                                    early_stopping_patience=None)
        return dataclasses.replace(base, train=train, name=name, sweep=None,
                                   derive={"kind": "prune", "parent": info.id, "sparsity": float(sparsity),
                                           "scope": scope, "finetune_epochs": ft})
    train = dataclasses.replace(base.train, device="cpu", early_stopping_patience=None)
    return dataclasses.replace(base, train=train, name=name, sweep=None,
                               derive={"kind": "quantize", "parent": info.id})


def prepare_derived(cfg: RunConfig, home: Any):
    """train_run's `prepare` for a derived run (see the module docstring)."""
    from ..training.run import Prepared, prepare

    d = cfg.derive
    kind = d.get("kind")
    if kind == "distil":
        teacher_info, teacher = _usable_parent(d["teacher"], home, "teach with")
        plain = dataclasses.replace(cfg, derive=None)
        prep = prepare(plain, home=home)
        if prep.data_info["task"] != teacher_info.task:
            raise ConfigError(msg("errors.derive.teacher_task", "The teacher reads {teacher_reads} and the student "
                                  "{student_reads}.", teacher_reads=_reads(teacher_info.task),
                                  student_reads=_reads(prep.data_info["task"])),
                              msg("errors.derive.teacher_task.hint",
                                  "Choose a student model for the teacher's kind of data."))
        if list(prep.dataset.class_names) != teacher_info.class_names:
            raise ConfigError(msg("errors.derive.teacher_classes",
                                  "The teacher was trained on other classes than this data has."),
                              msg("errors.derive.teacher_classes.hint", "Distil on the teacher's own dataset."))
        from .distil import Distillation, SoftTargetBatches, soft_targets

        inputs, _ = prep.dataset.part("train")
        soft = soft_targets(teacher, list(inputs), d["temperature"])
        prep.batches["train"] = SoftTargetBatches(prep.batches["train"], soft)
        prep.objective, prep.parent = Distillation(d["temperature"], d["alpha"]), teacher_info.id
        return prep
    if kind not in ("prune", "quantize"):
        raise ConfigError(msg("errors.derive.derive_kind", "'{kind}' is not a way to derive a run.", kind=kind),
                          msg("errors.derive.kind.hint", "Choose prune, quantize or distil."))
    parent_info, parent = _usable_parent(d["parent"], home, kind)
    if (parent_info.config.derive or {}).get("kind") == "quantize":
        raise ConfigError(msg("errors.derive.quantized_parent", "The run '{name}' is quantized already.",
                              name=parent_info.name),
                          msg("errors.derive.quantized_parent.hint", "Prune or quantize the run it was made from instead."))
    from ..data.dataset import load_dataset
    from ..tasks import task_named

    ds = load_dataset(parent_info.config.data)
    task = task_named(parent_info.task)
    pipeline = parent.pipeline if parent_info.task == "text" else parent.preprocess
    batches = task.encode(cfg, ds, pipeline)
    model = parent.model
    prep = Prepared(ds, pipeline, model, dict(parent_info.model_params), dict(parent_info.data_info), batches,
                    parent=parent_info.id)
    if kind == "prune":
        from .prune import apply_pruning, make_permanent

        apply_pruning(model, d["sparsity"], d.get("scope", "global"))
        prep.epochs, prep.finalize = int(d.get("finetune_epochs", 0)), make_permanent
    else:
        from .quantize import has_convolutions, quantize_model, quantize_static_model, state_of

        if has_convolutions(model):  # static: the activations' ranges come from training images
            calibration = [x for (x,), _ in _first(batches["train"], 8)]
            q, recipe = quantize_static_model(model, calibration)
        else:
            q, recipe = quantize_model(model)
        d["recipe"] = recipe  # recorded in run.json: loading rebuilds from it
        prep.model, prep.epochs = q, 0
        prep.weights = lambda m: state_of(m, recipe)
    return prep


def derive_run(kind: str, parent: str, home: Any = None, callbacks=(), **settings: Any) -> RunInfo:
    """Make and save a derived run in one call (the CLI and tests); measures it (measure.py) as well."""
    from ..training.run import train_run
    from .measure import measure_run

    info = train_run(plan(kind, parent, home, **settings), list(callbacks), home=home)
    measure_run(info.id, home=home)
    from ..runs.store import read_run, resolve_run

    return read_run(resolve_run(info.id, home))



def _first(batches, n: int):
    """The first `n` batches of an epoch (calibration images for static quantization)."""
    out = []
    for i, batch in enumerate(batches):
        if i >= n:
            break
        out.append(batch)
    return out
