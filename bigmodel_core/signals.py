"""SIGTERM handled like Ctrl-C: a `kill` or a stopping container unwinds the same cleanup paths."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception in the main thread (a KeyboardInterrupt, so cleanup runs)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number
        self.signal_name = signal.Signals(signal_number).name


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def handle_sigterm() -> None:
    """From now on SIGTERM raises Terminated in the main thread (a no-op outside the main thread)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """`handle_sigterm` for the duration of a block; the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
