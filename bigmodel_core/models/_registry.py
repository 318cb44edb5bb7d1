"""Model registry (timm-style): `@register_model` variants, `create_model`, `list_models`."""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..config import DEFAULT_MODELS
from ..errors import ConfigError, ModelError, did_you_mean, msg
from ..settings import Setting, inferred

# Arguments the engine fills from the data; the rest of a variant's signature is user-settable.
# "encoder": a pretrained model's config, recorded in the run so that loading it needs no original folder.
DATA_ARGS = ("vocab_size", "num_classes", "in_channels", "image_size", "encoder")

# The valid values of the settings the variants share; a variant overrides one with `settings=`.
# Bounds keep a typo (layers=10000) from building a model no classroom machine can hold.
SETTINGS: dict[str, Setting] = {
    "embed_dim": Setting(int, 1, 2048), "hidden": Setting(int, 1, 4096), "layers": Setting(int, 1, 16),
    "bidirectional": Setting(bool), "dropout": Setting(float, 0.0, 0.9), "cell": Setting(str, choices=("rnn", "lstm", "gru")),
    "widths": Setting(list, 1, 20, max_items=6), "filters": Setting(int, 1, 2048), "dim": Setting(int, 2, 2048),
    "heads": Setting(int, 1, 64), "ff": Setting(int, 1, 16384), "bigram_buckets": Setting(int, 0, 5_000_000),
    "block_channels": Setting(list, 1, 1024, max_items=6), "width": Setting(int, 1, 512), "stages": Setting(int, 1, 6),
    "blocks_per_stage": Setting(int, 1, 8),
}
DEFAULT_MAX_PARAMETERS = 200_000_000  # a BERT-base (110 M) fits; override with BIGMODEL_MAX_PARAMS
TRAIN_BYTES_PER_PARAMETER = 16  # fp32 weights + gradients + Adam's two moments


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str  # "text" | "image"
    family: str
    description: str
    fn: Callable[..., Any]
    overrides: dict[str, Setting] = field(default_factory=dict)
    legacy: dict[str, Any] = field(default_factory=dict)  # what a setting was before it existed (old runs)
    # how text becomes ids for this model, pipeline(data_cfg, params); None: the word vocabulary
    pipeline: Optional[Callable[..., Any]] = None
    # a step after building a new model, init(model, params): loading pretrained weights; None: none
    init: Optional[Callable[..., None]] = None
    # data and training settings this model should start from, {"data": {...}, "train": {...}}
    preset: dict[str, dict[str, Any]] = field(default_factory=dict)

    def setting(self, key: str) -> Setting:
        """The valid values of setting `key` of this variant."""
        return self.overrides.get(key) or SETTINGS.get(key) or inferred(self.defaults[key])

    @property
    def defaults(self) -> dict[str, Any]:
        """The classroom preset: the variant's keyword defaults."""
        sig = inspect.signature(self.fn)
        return {k: p.default for k, p in sig.parameters.items()
                if k not in DATA_ARGS and p.default is not inspect.Parameter.empty}


_REGISTRY: dict[str, ModelEntry] = {}


def default_model(task: str) -> str:
    """The model chosen for data of kind `task` when the user picks none (the app's default too)."""
    if task not in DEFAULT_MODELS:
        raise ModelError(msg("errors.registry.no_task", "There is no kind of data called '{task}'.", task=task),
                         did_you_mean(task, DEFAULT_MODELS))
    return DEFAULT_MODELS[task]


def register_model(task: str, family: str, description: str, settings: Optional[dict[str, Setting]] = None,
                   legacy: Optional[dict[str, Any]] = None, pipeline: Optional[Callable[..., Any]] = None,
                   init: Optional[Callable[..., None]] = None,
                   preset: Optional[dict[str, dict[str, Any]]] = None) -> Callable:
    """Register a variant function `fn(vocab_size|..., num_classes, **settings) -> nn.Module`.

    `settings` declares valid values for settings that differ from the shared SETTINGS table;
    `legacy` gives the value a setting added later had in effect before it existed, so that a run
    saved then (whose record lacks it) is rebuilt as it was trained. `pipeline`, `init` and
    `preset`: see ModelEntry (a pretrained model brings its tokenizer, weights and fine-tuning settings).
    """
    def wrap(fn: Callable) -> Callable:
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, task, family, description, fn, dict(settings or {}),
                                            dict(legacy or {}), pipeline, init, dict(preset or {}))
        return fn
    return wrap


def list_models(task: str | None = None) -> list[str]:
    return [n for n, e in _REGISTRY.items() if task is None or e.task == task]


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ModelError(msg("errors.registry.no_model", "There is no model called '{name}'.", name=name),
                         did_you_mean(name, _REGISTRY))
    return _REGISTRY[name]


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Preset defaults overlaid with `params`; unknown settings are refused with a hint."""
    entry = model_entry(name)
    defaults = entry.defaults
    for key in params:
        if key not in defaults:
            raise ConfigError(msg("errors.registry.no_setting", "'{setting}' is not a setting of the {name} model.",
                                  setting=key, name=name), did_you_mean(key, defaults))
    out = dict(defaults)
    for key, value in params.items():
        out[key] = entry.setting(key).parse(key, value)
    return out


def saved_params(name: str, recorded: dict[str, Any]) -> dict[str, Any]:
    """A saved run's model settings, with the legacy value of every setting its record predates."""
    entry = model_entry(name)
    return {**{k: v for k, v in entry.legacy.items() if k not in recorded}, **recorded}


def rebuild_model(name: str, data_info: dict[str, Any], recorded: dict[str, Any]):
    """A saved run's model as it was trained: its recorded settings are not re-checked against today's
    ranges (an older version may have allowed more), only its size is."""
    entry = model_entry(name)
    params = {**entry.defaults, **saved_params(name, recorded)}
    check_size(name, data_info, params)
    return entry.fn(**_data_args(entry, data_info), **params)


def _data_args(entry: ModelEntry, data_info: dict[str, Any]) -> dict[str, Any]:
    """The facts about the data that variant `entry` is built from (those it takes and the data gives)."""
    return {k: data_info[k] for k in inspect.signature(entry.fn).parameters if k in DATA_ARGS and k in data_info}


def model_preset(name: str) -> dict[str, dict[str, Any]]:
    """The data and training settings model `name` starts from ({"data": {...}, "train": {...}}): a
    pretrained model fine-tunes with a small learning rate; the small models use the defaults."""
    entry = model_entry(name)
    return {"data": dict(entry.preset.get("data", {})), "train": dict(entry.preset.get("train", {}))}


def switch_preset(data: Any, train: Any, old: str, new: str) -> tuple[Any, Any]:
    """The data and training settings (dataclasses) after choosing model `new` instead of `old`: the
    settings `old`'s preset set go back to their defaults, then `new`'s preset is applied."""
    import dataclasses

    out = []
    for part, cfg in (("data", data), ("train", train)):
        before, after = model_preset(old)[part], model_preset(new)[part]
        fields = {f.name: f for f in dataclasses.fields(cfg)}
        reset = {k: fields[k].default for k in before if k not in after and k in fields}
        out.append(dataclasses.replace(cfg, **reset, **{k: v for k, v in after.items() if k in fields}))
    return out[0], out[1]


def max_parameters() -> int:
    """The largest model the engine builds: BIGMODEL_MAX_PARAMS, else DEFAULT_MAX_PARAMETERS."""
    raw = os.environ.get("BIGMODEL_MAX_PARAMS", "")
    try:
        return max(1, int(float(raw))) if raw.strip() else DEFAULT_MAX_PARAMETERS
    except ValueError:
        return DEFAULT_MAX_PARAMETERS


def available_memory() -> Optional[int]:
    """Bytes of memory free for a new model (MemAvailable on Linux), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def count_parameters(name: str, data_info: dict[str, Any], **params: Any) -> int:
    """Parameters model `name` would have, counted on torch's meta device: nothing is allocated."""
    import torch

    entry = model_entry(name)
    with torch.device("meta"):
        model = entry.fn(**_data_args(entry, data_info), **params)
    return sum(p.numel() for p in model.parameters())


def check_size(name: str, data_info: dict[str, Any], params: dict[str, Any]) -> int:
    """The parameter count, after refusing a model beyond the cap or the memory present (with the numbers)."""
    n = count_parameters(name, data_info, **params)
    need = n * TRAIN_BYTES_PER_PARAMETER
    cap, free = max_parameters(), available_memory()
    if n > cap:
        raise ModelError(msg("errors.registry.too_big", "The {name} model with these settings would have {n:,} "
                             "parameters (about {need} to train), more than the limit of {cap:,}.",
                             name=name, n=n, need=_size(need), cap=cap),
                         msg("errors.registry.too_big.hint",
                             "Make it smaller (fewer layers, a smaller hidden size or vocabulary), or raise the limit "
                             "with the BIGMODEL_MAX_PARAMS environment variable if this computer has the memory."))
    if free is not None and need > free // 2:
        raise ModelError(msg("errors.registry.no_memory", "The {name} model with these settings needs about {need} "
                             "of memory to train ({n:,} parameters), but only {free} is free here.",
                             name=name, need=_size(need), n=n, free=_size(free)),
                         msg("errors.registry.no_memory.hint",
                             "Make it smaller (fewer layers or a smaller hidden size), or close other programs."))
    return n


def create_model(name: str, data_info: dict[str, Any], *, load_weights: bool = True, **params: Any):
    """Build model `name` for data described by `data_info` (vocab_size, num_classes, ...).

    A pretrained model gets its pretrained weights (`load_weights=False`: the bare architecture,
    for describing its layers).
    """
    entry = model_entry(name)
    settings = resolve_params(name, params)
    check_size(name, data_info, settings)
    model = entry.fn(**_data_args(entry, data_info), **settings)
    if load_weights and entry.init is not None:
        entry.init(model, settings)
    return model
