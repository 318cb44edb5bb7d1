"""Run `train_run` in a child process: the web server's threads then never share a GIL with training.

Training in a thread of the Streamlit server ran well below its headless speed while the Train
page redrew once a second (the redraw holds the GIL; figures in BENCHMARKS.md section 8). In a
spawned process the trainer has the interpreter to itself. Events come back over a queue and are
handed to the same callbacks, so callers cannot tell the difference (same signature as train_run).
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import traceback
from pathlib import Path
from typing import Iterable, Optional

from .. import errors
from ..config import RunConfig
from ..runs.info import RunInfo
from .events import Callback, TrainEvent, dispatch

class _Forward(Callback):
    """In the child: every event goes onto the queue as a plain dict."""

    def __init__(self, q) -> None:
        self.q = q

    def _put(self, trainer, event: TrainEvent) -> None:
        self.q.put(("event", event.to_dict()))

    on_fit_start = on_epoch_start = on_batch_end = on_epoch_end = on_fit_end = _put


def _child(cfg: Optional[dict], home: Optional[str], q, stop, running_jobs: int, resume: Optional[str] = None,
           epochs: Optional[int] = None) -> None:
    from ..config import from_dict
    from ..signals import handle_sigterm
    from .run import train_run

    handle_sigterm()  # terminate() sends SIGTERM: unwind, so the run is kept as interrupted (or removed)
    _watch_parent(q)
    try:
        result = train_run(from_dict(RunConfig, cfg) if cfg is not None else None, [_Forward(q)], home=home,
                           stop_event=stop, running_jobs=running_jobs, resume=resume, epochs=epochs)
        q.put(("result", {**result.to_dict(), "path": result.path}))  # plain JSON-able data across processes
    except errors.BigModelError as exc:
        q.put(("error", errors.error_to_dict(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it there
        q.put(("crash", {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}))


def _watch_parent(q, every_s: float = 1.0) -> None:
    """If the app dies (kill -9, a crash), SIGTERM ourselves: the run ends as interrupted, resumable.

    Without this an orphaned child would go on training for nobody, or block forever on a full
    queue that no one reads, and its run would stay "running" with a live owner.
    """
    import os
    import signal
    import time

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                q.cancel_join_thread()  # nobody reads the queue any more: do not wait for it at exit
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="bigmodel-parent-watch", daemon=True).start()


def run_in_process(cfg: Optional[RunConfig], callbacks: Iterable[Callback] = (), home: str | Path | None = None,
                   stop_event: Optional[threading.Event] = None, running_jobs: int = 1,
                   resume: Optional[str] = None, epochs: Optional[int] = None) -> RunInfo:
    """Like `train_run`, but the training happens in a spawned child process."""
    from dataclasses import asdict

    ctx = mp.get_context("spawn")  # fork would copy the server's threads and locks
    q, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_child, args=(None if cfg is None else asdict(cfg), None if home is None else str(home), q, stop,
                             running_jobs, resume, epochs),
                       name="bigmodel-train", daemon=True)
    proc.start()
    callbacks = list(callbacks)
    try:
        while True:
            if stop_event is not None and stop_event.is_set():
                stop.set()
            try:
                kind, payload = q.get(timeout=0.2)
            except queue.Empty:
                if not proc.is_alive():
                    raise errors.TrainingError(
                        errors.msg("errors.process_runner.no_result", "The training process ended without a result "
                                   "(it may have run out of memory)."),
                        errors.msg("errors.process_runner.no_result.hint", "Its run is kept as interrupted if an "
                                   "epoch had finished: resume it on the Runs page, or try a smaller model or batch "
                                   "size.")) from None
                continue
            if kind == "event":
                dispatch(callbacks, TrainEvent(**payload))
            elif kind == "result":
                return RunInfo.from_dict(payload, path=payload.get("path"))
            elif kind == "error":
                raise errors.error_from_dict(payload)
            else:
                raise RuntimeError(f"{payload['type']}: {payload['message']}\n{payload['traceback']}")
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=10)
        if not proc.is_alive() and proc.pid is not None and proc.exitcode not in (0, None):
            # killed (OOM killer, kill -9): its run shows as interrupted now (resumable from its last
            # checkpoint, or removed at once if it had none), and any temp folder it held goes
            from ..runs.store import runs_dir, scan_runs
            from ..runs.workspace import remove_owned_by

            remove_owned_by(runs_dir(home), proc.pid)
            try:
                scan_runs(home)
            except errors.BigModelError:
                pass
