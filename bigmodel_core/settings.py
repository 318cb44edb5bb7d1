"""Settings: each one's type and valid range, declared beside its definition, parsed and checked in one place.

The CLI (`--set key=value`), the model registry (a preset's overrides), the config dataclasses
(`__post_init__`) and the pages all go through `Setting.parse` / `Setting.check`, so a value is
refused with the same plain sentence wherever it comes from, and a range is written down once.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .errors import ConfigError, Msg, msg

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class Setting:
    """The type and valid values of one setting.

    `kind` is int, float, bool, str or list (a list of ints, e.g. filter widths); `low`/`high`
    bound numbers (and each item of a list); `low_open` excludes `low` itself (a learning rate of
    0 learns nothing); `optional` allows None ("off" / "automatic"); `choices` lists valid strings.
    """

    kind: type
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    optional: bool = False
    choices: Optional[tuple[str, ...]] = None
    max_items: int = 8  # lists only
    help: str = ""

    def describe(self) -> str:
        """The valid values in words, for hints: 'a whole number from 1 to 64' (a Msg: it is translated too)."""
        if self.choices:
            text = msg("engine.settings.one_of", "one of {choices}", choices=", ".join(self.choices))
        elif self.kind is bool:
            text = msg("engine.settings.true_or_false", "true or false")
        elif self.kind is list:
            text = self._describe_list()
        elif self.kind in (int, float):
            text = self._describe_number()
        else:
            text = msg("engine.settings.some_text", "some text")
        return msg("engine.settings.or_none", "{text}, or none (off)", text=text) if self.optional else text

    def _describe_number(self) -> Msg:
        noun = (msg("engine.settings.whole_number", "whole number") if self.kind is int
                else msg("engine.settings.number", "number"))
        if self.low is not None and self.high is not None:
            if self.low_open:
                return msg("engine.settings.range_open", "a {noun} above {low} and at most {high}",
                           noun=noun, low=_fmt(self.low), high=_fmt(self.high))
            return msg("engine.settings.range", "a {noun} from {low} to {high}",
                       noun=noun, low=_fmt(self.low), high=_fmt(self.high))
        if self.low is not None:
            if self.low_open:
                return msg("engine.settings.above", "a {noun} above {low}", noun=noun, low=_fmt(self.low))
            return msg("engine.settings.at_least", "a {noun} of at least {low}", noun=noun, low=_fmt(self.low))
        return msg("engine.settings.any_number", "a {noun}", noun=noun)

    def _describe_list(self) -> Msg:
        n = self.max_items
        if self.low is not None and self.high is not None:
            if self.low_open:
                return msg("engine.settings.list_range_open", "1 to {n} comma-separated whole numbers, each above "
                           "{low} and at most {high}", n=n, low=_fmt(self.low), high=_fmt(self.high))
            return msg("engine.settings.list_range", "1 to {n} comma-separated whole numbers, each from {low} to "
                       "{high}", n=n, low=_fmt(self.low), high=_fmt(self.high))
        if self.low is not None:
            if self.low_open:
                return msg("engine.settings.list_above", "1 to {n} comma-separated whole numbers, each above {low}",
                           n=n, low=_fmt(self.low))
            return msg("engine.settings.list_at_least", "1 to {n} comma-separated whole numbers, each of at least "
                       "{low}", n=n, low=_fmt(self.low))
        return msg("engine.settings.list_any", "1 to {n} comma-separated whole numbers, each a whole number", n=n)

    def parse(self, name: str, text: Any) -> Any:
        """A value typed as text (CLI, a text box) -> the checked typed value."""
        if not isinstance(text, str):
            return self.check(name, text)
        raw = text.strip()
        if self.optional and raw.lower() in ("none", "null", "off", ""):
            return None
        if self.kind is bool:
            if raw.lower() not in _TRUE + _FALSE:
                raise self._error(name, text)
            return raw.lower() in _TRUE
        if self.kind is list:
            items = [p.strip() for p in raw.split(",") if p.strip()]
            try:
                return self.check(name, [int(p) for p in items])
            except ValueError:
                raise self._error(name, text) from None
        if self.kind in (int, float):
            try:
                number = float(raw) if self.kind is float else _int(raw)
            except ValueError:
                raise self._error(name, text) from None
            return self.check(name, number)
        return self.check(name, raw)

    def check(self, name: str, value: Any) -> Any:
        """A typed value -> the same value (ints given as 3.0 become 3); ConfigError when out of range."""
        if value is None:
            if self.optional:
                return None
            raise self._error(name, value)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise self._error(name, value)
            return value
        if self.kind is list:
            if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= self.max_items:
                raise self._error(name, value)
            return [self._number(name, v, int, whole=value) for v in value]
        if self.kind in (int, float):
            return self._number(name, value, self.kind)
        if not isinstance(value, str):
            raise self._error(name, value)
        if self.choices and value not in self.choices:
            from .errors import did_you_mean

            raise ConfigError(_cannot_be(name, value), did_you_mean(value, self.choices))
        return value

    def _number(self, name: str, value: Any, kind: type, whole: Any = None) -> Any:
        shown = value if whole is None else whole
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):  # numpy numbers welcome
            raise self._error(name, shown)
        if not math.isfinite(value):
            raise self._error(name, shown)
        if kind is int:
            if not float(value).is_integer():
                raise self._error(name, shown)
            value = int(value)
        else:
            value = float(value)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise self._error(name, shown)
        return value

    def _error(self, name: str, value: Any) -> ConfigError:
        return ConfigError(_cannot_be(name, value), msg("errors.settings.invalid.hint", "Give {valid}.",
                                                         valid=self.describe()))


def setting(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING,
            **spec: Any) -> Any:
    """A dataclass field whose valid values are declared beside it: `lr: float = setting(5e-3, kind=float, ...)`."""
    kind = spec.pop("kind")
    meta = {"setting": Setting(kind, **spec)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def field_setting(cls: type, name: str) -> Optional[Setting]:
    """The declared Setting of dataclass `cls`'s field `name` (None when it has none)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("setting")
    return None


def check_fields(obj: Any) -> None:
    """Check (and normalise) every declared field of a dataclass instance; called by `__post_init__`."""
    for f in dataclasses.fields(obj):
        spec = f.metadata.get("setting")
        if spec is not None:
            object.__setattr__(obj, f.name, spec.check(f.name, getattr(obj, f.name)))


def parse_field(cls: type, name: str, text: str) -> Any:
    """A CLI string for field `name` of dataclass `cls` -> its checked typed value."""
    spec = field_setting(cls, name)
    if spec is None:
        return text
    return spec.parse(name, text)


def inferred(default: Any) -> Setting:
    """A Setting for a value with no declared range: just its type (a string is any text)."""
    if isinstance(default, bool):
        return Setting(bool)
    if isinstance(default, int):
        return Setting(int)
    if isinstance(default, float):
        return Setting(float)
    if isinstance(default, (list, tuple)):
        return Setting(list)
    return Setting(str, optional=default is None)


def _int(raw: str) -> int:
    number = float(raw)
    if not number.is_integer():
        raise ValueError(raw)
    return int(number)


_LABELS = {"lr": msg("engine.settings.label.lr", "learning rate"),
           "max_rows": msg("engine.settings.label.max_rows", "number of rows"),
           "epochs": msg("engine.settings.label.epochs", "number of epochs"),
           "num_threads": msg("engine.settings.label.num_threads", "number of CPU threads"),
           "grad_clip": msg("engine.settings.label.grad_clip", "gradient clipping norm")}


def _label(name: str) -> str:
    if name in _LABELS:
        return msg("engine.settings.label", "{label} ({name})", label=_LABELS[name], name=name)
    return name


def _cannot_be(name: str, value: Any) -> Msg:
    return msg("errors.settings.invalid", "The setting {name} cannot be {value}.", name=_label(name),
               value=_show(value))


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else text[:37] + "..."


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else f"{x:,}"
