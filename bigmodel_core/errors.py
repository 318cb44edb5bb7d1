"""Errors a user can cause, each with one plain sentence of what happened and one of what to do."""
from __future__ import annotations

import difflib
from typing import Iterable


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
        return "Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "Valid choices: " + ", ".join(choices) + "."
