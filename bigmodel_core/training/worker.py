"""Each rank's side of a torchrun job: quiet ranks, Stop on signals, telling the launcher how it ended.

A launcher (the CLI's `train --processes N`, the app's jobs: training.launch) and rank 0 share a
folder named by BIGMODEL_LAUNCH_DIR: rank 0 writes its exit there (and, for the app, its events and
its result), the launcher asks for a Stop by creating `stop` in it. Run as a module it is the app's
worker: `torchrun ... -m bigmodel_core.training.worker FOLDER` trains the job described in FOLDER/job.json.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import BigModelError, error_to_dict
from ..signals import Terminated
from .distributed import PeerLost, World, world
from .events import Callback, TrainEvent

ENV_DIR = "BIGMODEL_LAUNCH_DIR"  # the folder a launcher shares with rank 0
ENV_LAUNCHER = "BIGMODEL_LAUNCHER_PID"  # the launcher: when it is gone, the ranks stop (and keep the run)
EXIT_FILE, EVENTS_FILE, STOP_FILE, JOB_FILE = "rank0-exit.json", "events.jsonl", "stop", "job.json"
WATCH_EVERY_S = 0.2


def launch_dir() -> Optional[Path]:
    """The folder this rank shares with its launcher, when one started it."""
    value = os.environ.get(ENV_DIR)
    return Path(value) if value else None


def quiet_unless_lead(w: World) -> None:
    """Ranks other than 0 print nothing: rank 0 speaks for the run (and their errors reach torchrun's record)."""
    if w.launched and not w.lead:
        sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # for the process's life


class GracefulSignals:
    """SIGTERM or SIGINT asks for a Stop, which every rank takes at the same batch boundary (the run is
    saved as stopped, resumable exactly there); a second signal interrupts at once. torchrun passes a
    signal it gets on to every rank, so Ctrl-C on the launcher stops them all."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.signal: Optional[int] = None  # the first signal received

    def __call__(self, signum: int, frame: Any) -> None:
        if self.stop.is_set() and self.signal is not None:
            raise Terminated(signum)
        self.signal = signum
        self.stop.set()


@contextmanager
def graceful_signals(stop: threading.Event) -> Iterator[GracefulSignals]:
    """GracefulSignals for SIGTERM and SIGINT inside the block (main thread only), then the old handlers."""
    handler = GracefulSignals(stop)
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    before = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield handler
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def watch_launcher(stop: threading.Event, folder: Optional[Path]) -> None:
    """Set `stop` when the launcher asks (FOLDER/stop) or has died (a killed app must not leave its
    ranks training for nobody): a daemon thread, checking every WATCH_EVERY_S."""
    pid = int(os.environ.get(ENV_LAUNCHER) or 0)
    if folder is None and not pid:
        return

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def watch() -> None:
        while not stop.is_set():
            if (folder is not None and (folder / STOP_FILE).exists()) or (pid and gone()):
                stop.set()
                return
            time.sleep(WATCH_EVERY_S)

    threading.Thread(target=watch, name="bigmodel-launcher-watch", daemon=True).start()


def record_error(exc: BaseException) -> None:
    """Write `exc` to torchrun's error file for this rank, as @record does for an exception that escapes
    (same format): torchrun's summary shows it, and a launcher reads it to name the process that failed.
    The CLI catches its errors to print them plainly, so @record alone would never see them."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path or isinstance(exc, (PeerLost, KeyboardInterrupt)):
        return  # another rank's failure, or a signal: not a root cause
    data = {"message": {"message": f"{type(exc).__name__}: {exc}", "extraInfo": {
        "py_callstack": "".join(traceback.format_exception(exc)), "timestamp": str(int(time.time()))}}}
    try:
        Path(path).write_text(json.dumps(data), encoding="utf-8")
    except OSError:
        pass


def report_exit(w: World, code: int, exc: Optional[BaseException] = None) -> None:
    """Rank 0 tells its launcher how it ended: its exit code, and whether another rank's failure ended it."""
    folder = launch_dir()
    if folder is None or not w.lead:
        return
    payload = {"code": int(code), "peer_lost": isinstance(exc, PeerLost)}
    try:
        (folder / EXIT_FILE).write_text(json.dumps(payload), encoding="utf-8")
    except OSError:
        pass  # the launcher is gone with its folder: nobody to tell


class AppendEvents(Callback):
    """Rank 0 of an app job: every event as one JSON line in the shared folder (the launcher tails it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def put(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def _event(self, trainer, event: TrainEvent) -> None:
        self.put(event.to_dict())

    on_fit_start = on_epoch_start = on_batch_end = on_epoch_end = on_fit_end = _event


def main(argv: Optional[list[str]] = None) -> int:
    """One rank of an app job: train FOLDER/job.json's run, rank 0 writing its events and the outcome."""
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(_job)(Path((argv if argv is not None else sys.argv[1:])[0]))


def _job(folder: Path) -> int:
    from ..config import RunConfig, from_dict
    from .run import train_run

    w = world()
    quiet_unless_lead(w)
    job = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    out = AppendEvents(folder / EVENTS_FILE)
    stop = threading.Event()
    watch_launcher(stop, folder)
    code, failure = 0, None
    with graceful_signals(stop):
        try:
            cfg = from_dict(RunConfig, job["config"]) if job.get("config") is not None else None
            info = train_run(cfg, [out] if w.lead else [], home=job.get("home"), stop_event=stop,
                             running_jobs=int(job.get("running_jobs") or 1), resume=job.get("resume"),
                             epochs=job.get("epochs"))
            outcome = {"kind": "result", "info": {**info.to_dict(), "path": info.path}}
        except BigModelError as exc:
            code, failure = exc.exit_code, exc
            outcome = {"kind": "error", **error_to_dict(exc), "peer_lost": isinstance(exc, PeerLost)}
        except BaseException as exc:  # noqa: BLE001 - reported to the launcher, which raises it in the app
            code, failure = 1, exc
            outcome = {"kind": "crash", "type": type(exc).__name__, "message": str(exc),
                       "traceback": traceback.format_exc()}
    if w.lead:
        out.put(outcome)
    if failure is not None:
        record_error(failure)
    report_exit(w, code, failure)
    return code


if __name__ == "__main__":
    sys.exit(main())
