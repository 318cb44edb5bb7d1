"""Shared by the tests of a model used from two threads at once (the app shares one predictor per run)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def repeated_in_another_thread(check: Callable[[], None]) -> Iterator[None]:
    """Run `check` over and over in a second thread while the block runs; fail if it ever failed."""
    stop, failures = threading.Event(), []

    def loop() -> None:
        try:
            while not stop.is_set():
                check()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
    assert not failures, failures
