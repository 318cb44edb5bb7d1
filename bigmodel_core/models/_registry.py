"""Model registry (timm-style): `@register_model` variants, `create_model`, `list_models`."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ConfigError, ModelError, did_you_mean

# Arguments the engine fills from the data; the rest of a variant's signature is user-settable.
DATA_ARGS = ("vocab_size", "num_classes", "in_channels", "image_size")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str  # "text" | "image"
    family: str
    description: str
    fn: Callable[..., Any]

    @property
    def defaults(self) -> dict[str, Any]:
        """The classroom preset: the variant's keyword defaults."""
        sig = inspect.signature(self.fn)
        return {k: p.default for k, p in sig.parameters.items()
                if k not in DATA_ARGS and p.default is not inspect.Parameter.empty}


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(task: str, family: str, description: str) -> Callable:
    """Register a variant function `fn(vocab_size|..., num_classes, **settings) -> nn.Module`."""
    def wrap(fn: Callable) -> Callable:
        _REGISTRY[fn.__name__] = ModelEntry(fn.__name__, task, family, description, fn)
        return fn
    return wrap


def list_models(task: str | None = None) -> list[str]:
    return [n for n, e in _REGISTRY.items() if task is None or e.task == task]


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ModelError(f"There is no model called '{name}'.", did_you_mean(name, _REGISTRY))
    return _REGISTRY[name]


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Preset defaults overlaid with `params`; unknown settings are refused with a hint."""
    entry = model_entry(name)
    defaults = entry.defaults
    for key in params:
        if key not in defaults:
            raise ConfigError(f"'{key}' is not a setting of the {name} model.", did_you_mean(key, defaults))
    out = dict(defaults)
    for key, value in params.items():
        out[key] = _coerce(value, defaults[key], key)
    return out


def _coerce(value: Any, default: Any, key: str) -> Any:
    """Bring a CLI string ('3', 'true', '3,4,5') to the type of the preset's default."""
    if not isinstance(value, str) or isinstance(default, str):
        return list(value) if isinstance(default, tuple) and isinstance(value, (list, tuple)) else value
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, (tuple, list)):
            return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"'{value}' is not a valid value for {key}.",
                          f"Give a value like the default, {default!r}.") from None
    return value


def create_model(name: str, data_info: dict[str, Any], **params: Any):
    """Build model `name` for data described by `data_info` (vocab_size, num_classes, ...)."""
    entry = model_entry(name)
    settings = resolve_params(name, params)
    needed = {k: data_info[k] for k in inspect.signature(entry.fn).parameters if k in DATA_ARGS}
    return entry.fn(**needed, **settings)
