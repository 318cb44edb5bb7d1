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
from ..errors import ConfigError

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
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Optional[str] = None) -> "RunInfo":
        """A RunInfo from run.json's content, of this schema or of schema 1; ConfigError when it does not fit."""
        problem = record_problem(data)
        if problem:
            raise ConfigError(problem[:1].upper() + problem[1:] + ".", "The run's run.json is damaged.")
        data = dict(data)
        schema = data.pop("schema", 1)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION + 100:
            raise ConfigError(f"The run record has an unknown schema version {schema!r}.",
                              "Update BigModel Lab to read it.")
        stopped = data.pop("stopped", False)
        data.setdefault("status", "stopped" if stopped else "finished")
        data.pop("path", None)
        if data["status"] not in STATUSES:
            raise ConfigError(f"The run record has an unknown status {data['status']!r}.",
                              "Valid statuses: " + ", ".join(STATUSES) + ".")
        names = {f.name for f in dataclasses.fields(cls)} - {"path", "extra", "schema"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        known["config"] = _config(known.get("config"))
        known.setdefault("task", known["data_info"].get("task", "text") if isinstance(known.get("data_info"), dict) else "text")
        return cls(**known, path=path, extra=extra)


def record_problem(info: Any) -> Optional[str]:
    """What is wrong with a run.json's content, or None when every part the app reads is there."""
    if not isinstance(info, dict):
        return f"its run.json holds {type(info).__name__ if info is not None else 'null'} instead of the run's details"
    for key, kind in (("id", str), ("config", dict), ("data_info", dict), ("model_params", dict)):
        if not isinstance(info.get(key), kind):
            return f"its run.json has no valid '{key}'"
    model = info["config"].get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        return "its run.json does not say which model it is"
    names = info["data_info"].get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return "its run.json does not list the classes"
    if info.get("task", "text") not in ("text", "image"):
        return "its run.json names an unknown kind of data"
    if not isinstance(info.get("metrics", {}), dict):
        return "its run.json has no valid 'metrics'"
    return None


# What a training setting was in effect before it existed: a run recorded without it trained so.
TRAIN_LEGACY = {"schedule": "constant", "warmup_fraction": 0.0}


def _config(raw: Any) -> RunConfig:
    """The run's RunConfig, read leniently: a value outside today's ranges stays as it was recorded."""
    if not isinstance(raw, dict):
        raise ConfigError("The run record has no settings.", "Its run.json is incomplete.")
    if isinstance(raw.get("train"), dict):
        raw = {**raw, "train": {**{k: v for k, v in TRAIN_LEGACY.items() if k not in raw["train"]}, **raw["train"]}}
    try:
        return from_dict(RunConfig, raw)
    except ConfigError:
        # recorded by an older version with looser checks (say batch_size 0): keep it as recorded
        parts = {}
        for key, kind in (("data", "DataConfig"), ("model", "ModelConfig"), ("train", "TrainConfig")):
            if not isinstance(raw.get(key) or {}, dict):
                raise ConfigError(f"The run record's '{key}' settings are not valid.", "Its run.json is damaged.") from None
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
