"""Errors a user can cause, each with one plain sentence of what happened and one of what to do."""
from __future__ import annotations

import difflib
import string
from typing import Any, Iterable


class Alternatives(tuple):
    """Names offered as alternatives in a message: 'a' or 'b' in English; each language joins them its own way."""

    def __str__(self) -> str:
        return " or ".join(self)


class Msg(str):
    """A user-facing sentence that is also a message key and its parameters, so the app can show it in the
    user's language. It *is* its English text (a str), so the CLI, logs and tests read it unchanged.

        raise DataError(msg("errors.tables.empty", "The file '{name}' is empty.", name=path.name),
                        msg("errors.tables.empty.hint", "Choose a file with a header row."))

    The English template lives at the raise site; other languages' templates are found by `key` in
    assets/locales/<lang>/*.json (tests/unit/test_locales.py checks every key has one, with the same fields).
    A parameter may itself be a Msg (translated too) or Alternatives.
    """

    key: str
    template: str
    params: dict[str, Any]

    def __new__(cls, key: str, template: str, **params: Any) -> "Msg":
        self = super().__new__(cls, template.format(**params))
        self.key, self.template, self.params = key, template, params
        return self

    def __reduce__(self):  # a Msg crossing a process boundary (a training job) stays a Msg
        return (_rebuild_msg, (self.key, self.template, self.params))

    def fields(self) -> set[str]:
        return template_fields(self.template)


def _rebuild_msg(key: str, template: str, params: dict[str, Any]) -> Msg:
    return Msg(key, template, **params)


def msg(key: str, template: str, **params: Any) -> Msg:
    """A translatable sentence: `key` names it in the locale files, `template` is its English text."""
    return Msg(key, template, **params)


def template_fields(template: str) -> set[str]:
    """The {names} a format template uses."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


class BigModelError(Exception):
    """Base error: `message` says what happened, `hint` says what to do about it."""

    exit_code = 2  # CLI exit status: 2 = bad input from the user

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class DataError(BigModelError):
    """A dataset, file or column could not be used."""


class DownloadError(DataError):
    """A download failed, was refused, or did not match its checksum."""


class ModelError(BigModelError):
    """A model name or setting is not valid."""


class ConfigError(BigModelError):
    """A configuration key or value is not valid."""


class TrainingError(BigModelError):
    """Training could not start or went wrong (e.g. the loss became NaN)."""

    exit_code = 1


class TrainingCancelled(TrainingError):
    """Stop was pressed before the first batch: there is nothing to keep."""


class RunError(BigModelError):
    """A saved run is missing or damaged."""


class DeviceError(BigModelError):
    """The requested device (GPU) is not available here."""


class InputError(BigModelError):
    """An input to predict or explain is not usable (empty text, unknown words only, ...)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest valid choices, or listing them all when none is close."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    if close:
        return msg("errors.did_you_mean", "Did you mean {names}?", names=Alternatives(f"'{c}'" for c in close))
    return msg("errors.valid_choices", "Valid choices: {names}.", names=", ".join(choices))


def _plain(value: Any) -> Any:
    if isinstance(value, Msg):
        return {"$msg": msg_to_json(value)}
    if isinstance(value, Alternatives):
        return {"$alternatives": list(value)}
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


def msg_to_json(text: str) -> dict[str, Any] | None:
    """A Msg as JSON-able data (for a run's record or a job crossing processes); None for a plain str."""
    if not isinstance(text, Msg):
        return None
    return {"key": text.key, "template": text.template, "params": {k: _plain(v) for k, v in text.params.items()}}


def msg_from_json(data: dict[str, Any] | None, fallback: str = "") -> str:
    """The Msg `msg_to_json` wrote (or `fallback` when there is none or it no longer formats)."""
    if not isinstance(data, dict):
        return fallback
    params = {}
    for k, v in dict(data.get("params") or {}).items():
        if isinstance(v, dict) and "$msg" in v:
            v = msg_from_json(v["$msg"], "")
        elif isinstance(v, dict) and "$alternatives" in v:
            v = Alternatives(v["$alternatives"])
        params[k] = v
    try:
        return Msg(str(data["key"]), str(data["template"]), **params)
    except (KeyError, IndexError, ValueError, TypeError):
        return fallback


def error_to_dict(exc: BigModelError, **more: Any) -> dict[str, Any]:
    """An error as JSON-able data that keeps its message keys: {"type", "message", "hint", "message_msg", "hint_msg"}."""
    out = {"type": type(exc).__name__, "message": str(exc.message), "hint": str(exc.hint or "")}
    for name, text in (("message_msg", exc.message), ("hint_msg", exc.hint)):
        if (data := msg_to_json(text)) is not None:
            out[name] = data
    return {**out, **more}


def error_texts(error: dict[str, Any]) -> tuple[str, str]:
    """(message, hint) of an error dict, as Msgs again where it kept their keys."""
    message = str(error.get("message") or "")
    hint = str(error.get("hint") or "")
    return msg_from_json(error.get("message_msg"), message), msg_from_json(error.get("hint_msg"), hint)


def error_from_dict(error: dict[str, Any]) -> BigModelError:
    """The BigModelError subclass an error dict names, with its message and hint (keys kept)."""
    cls = globals().get(str(error.get("type")), BigModelError)
    if not (isinstance(cls, type) and issubclass(cls, BigModelError)):
        cls = BigModelError
    return cls(*error_texts(error))
