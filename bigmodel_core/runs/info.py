"""RunInfo: the typed record of one run (its run.json), with a schema version and a JSON round trip.

run.json files written before the schema had a version (no "schema") are read unchanged: their
`stopped` flag becomes the status, and every field they lack takes its default. Keys this
version does not know are kept in `extra` and written back, so an older app never drops what a
newer one recorded.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from ..config import RunConfig, from_dict
from ..errors import ConfigError, Msg, msg, msg_from_json, msg_to_json

# 1: the unversioned run.json of the first releases; 2: status, parent, files; 3: the run store's
# fields (tags, label, parameters, examples seen, epochs done, the owning process, the error);
# 4: the measurement of a run on the Optimize page (`measure`), and derived runs (config.derive)
SCHEMA_VERSION = 4
STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")


@dataclass
class RunInfo:
    """Everything known about a run: what it was (config), what it learned (metrics), where it lives."""

    id: str
    task: str  # "text" | "image": how raw inputs become model inputs
    config: RunConfig
    data_info: dict[str, Any]  # class_names, num_classes, split sizes, vocab_size or image_size, ...
    model_params: dict[str, Any]  # the preset's settings as resolved for this run
    metrics: dict[str, Any] = field(default_factory=dict)  # val_accuracy, test_accuracy, ... (JSON numbers)
    status: str = "finished"
    stop_reason: Optional[str] = None
    best_epoch: Optional[int] = None
    created: str = ""  # local time, "YYYY-mm-dd HH:MM:SS"
    seconds: Optional[float] = None
    device: str = "cpu"
    threads: Optional[int] = None
    # processes that trained it together in its last session (torchrun's WORLD_SIZE; 1 without
    # torchrun): optional, so a run.json written before it existed reads as one process
    world_size: int = 1
    parent: Optional[str] = None  # the run this one was derived from (resumed, pruned, distilled, ...)
    embeddings: Optional[dict[str, Any]] = None  # the word vectors the model started from, with coverage
    val_report: dict[str, Any] = field(default_factory=dict)
    test_report: dict[str, Any] = field(default_factory=dict)
    misclassified: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # the bundle's files, as written
    label: Optional[str] = None  # a name given on the Runs page (the id and folder stay as they are)
    tags: list[str] = field(default_factory=list)
    parameters: Optional[int] = None  # the model's parameter count
    flops_per_example: Optional[int] = None  # forward FLOPs for one training example (compute = 3 x this x examples)
    examples_seen: int = 0  # training examples the model has been shown, over all epochs and resumes
    epochs_done: int = 0  # whole epochs trained (a resume continues after them)
    owner: Optional[dict[str, Any]] = None  # the process training it while status is "running"
    error: Optional[dict[str, Any]] = None  # {"message", "hint"} of a failed run
    # what the run costs and scores, measured alike for every run compared on the Optimize page
    # (optimize.measure: parameters, non-zero ones, file and zipped size, latency, accuracy)
    measure: Optional[dict[str, Any]] = None
    path: Optional[str] = None  # the run's folder; not stored in run.json (it moves with the folder)
    extra: dict[str, Any] = field(default_factory=dict)  # keys of a newer schema, kept as they were
    schema: int = SCHEMA_VERSION

    @property
    def name(self) -> str:
        return self.label or self.config.name or self.id

    @property
    def model_name(self) -> str:
        return self.config.model.name

    @property
    def class_names(self) -> list[str]:
        return list(self.data_info["class_names"])

    @property
    def stopped(self) -> bool:
        return self.status == "stopped"

    @property
    def usable(self) -> bool:
        """Has final weights to predict with (a finished or stopped run)."""
        return self.status in ("finished", "stopped")

    @property
    def resumable(self) -> bool:
        """Can continue training from its last checkpoint."""
        return self.status in ("interrupted", "stopped", "failed")

    def to_dict(self) -> dict[str, Any]:
        """run.json's content (without the folder path)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("path", "extra")}
        out["config"] = dataclasses.asdict(self.config)
        out["stopped"] = self.stopped  # for readers of schema 1
        if (kept := msg_to_json(self.stop_reason)) is not None:  # a translatable reason keeps its message key
            out["stop_reason_msg"] = kept
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Optional[str] = None) -> "RunInfo":
        """A RunInfo from run.json's content, of this schema or of schema 1; ConfigError when it does not fit."""
        problem = record_problem(data)
        if problem:
            raise record_error(problem, msg("errors.info.damaged.hint", "The run's run.json is damaged."))
        data = dict(data)
        schema = data.pop("schema", 1)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION + 100:
            raise record_error(msg("errors.info.schema", "the run record has an unknown schema version {schema!r}",
                                   schema=schema),
                               msg("errors.info.schema.hint", "Update BigModel Lab to read it."))
        stopped = data.pop("stopped", False)
        reason = data.pop("stop_reason_msg", None)
        if reason is not None and isinstance(data.get("stop_reason"), str):
            data["stop_reason"] = msg_from_json(reason, data["stop_reason"])
        data.setdefault("status", "stopped" if stopped else "finished")
        data.pop("path", None)
        if data["status"] not in STATUSES:
            raise record_error(msg("errors.info.status", "the run record has an unknown status {status!r}",
                                   status=data["status"]),
                               msg("errors.info.status.hint", "Valid statuses: {statuses}.",
                                   statuses=", ".join(STATUSES)))
        names = {f.name for f in dataclasses.fields(cls)} - {"path", "extra", "schema"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        known["config"] = _config(known.get("config"))
        known.setdefault("task", known["data_info"].get("task", "text") if isinstance(known.get("data_info"), dict) else "text")
        return cls(**known, path=path, extra=extra)


def record_problem(info: Any) -> Optional[Msg]:
    """What is wrong with a run.json's content (a clause: "its run.json ..."), or None when every part the
    app reads is there."""
    if not isinstance(info, dict):
        return msg("errors.info.problem.not_dict", "its run.json holds {what} instead of the run's details",
                   what=type(info).__name__ if info is not None else "null")
    for key, kind in (("id", str), ("config", dict), ("data_info", dict), ("model_params", dict)):
        if not isinstance(info.get(key), kind):
            return msg("errors.info.problem.no_key", "its run.json has no valid '{part}'", part=key)
    model = info["config"].get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        return msg("errors.info.problem.no_model", "its run.json does not say which model it is")
    names = info["data_info"].get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return msg("errors.info.problem.no_classes", "its run.json does not list the classes")
    if info.get("task", "text") not in ("text", "image"):
        return msg("errors.info.problem.task", "its run.json names an unknown kind of data")
    if not isinstance(info.get("metrics", {}), dict):
        return msg("errors.info.problem.no_key", "its run.json has no valid '{part}'", part="metrics")
    return None


def record_error(clause: Msg, hint: Msg) -> ConfigError:
    """A ConfigError whose message is `clause` as a sentence ("Its run.json ... ."), keeping the clause (the
    part after "The run 'x' is damaged: ") as `.clause`. The sentence keeps the clause's key: in languages
    without capitals the clause's own translation is the sentence."""
    template = clause.template[:1].upper() + clause.template[1:] + "."
    exc = ConfigError(Msg(clause.key, template, **clause.params), hint)
    exc.clause = clause
    return exc


# What a training setting was in effect before it existed: a run recorded without it trained so.
TRAIN_LEGACY = {"schedule": "constant", "warmup_fraction": 0.0}


def _config(raw: Any) -> RunConfig:
    """The run's RunConfig, read leniently: a value outside today's ranges stays as it was recorded."""
    if not isinstance(raw, dict):
        raise record_error(msg("errors.info.no_settings", "the run record has no settings"),
                           msg("errors.info.no_settings.hint", "Its run.json is incomplete."))
    if isinstance(raw.get("train"), dict):
        raw = {**raw, "train": {**{k: v for k, v in TRAIN_LEGACY.items() if k not in raw["train"]}, **raw["train"]}}
    try:
        return from_dict(RunConfig, raw)
    except ConfigError:
        # recorded by an older version with looser checks (say batch_size 0): keep it as recorded
        parts = {}
        for key, kind in (("data", "DataConfig"), ("model", "ModelConfig"), ("train", "TrainConfig")):
            if not isinstance(raw.get(key) or {}, dict):
                raise record_error(msg("errors.info.bad_part", "the run record's '{part}' settings are not valid",
                                       part=key),
                                   msg("errors.info.bad_part.hint", "Its run.json is damaged.")) from None
            parts[key] = _unchecked(kind, raw.get(key) or {})
        cfg = object.__new__(RunConfig)
        cfg.data, cfg.model, cfg.train, cfg.name = parts["data"], parts["model"], parts["train"], raw.get("name")
        return cfg


def _unchecked(kind: str, values: dict[str, Any]) -> Any:
    from .. import config

    cls = getattr(config, kind)
    obj = object.__new__(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        setattr(obj, f.name, values.get(f.name, getattr(defaults, f.name)))
    return obj
