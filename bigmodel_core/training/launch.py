"""Launching a data-parallel run with torchrun: the CLI's `train --processes N` and the app's jobs.

Both start `python -m torch.distributed.run --standalone --nproc-per-node N -m ...` as a child in a
session of its own (a Ctrl-C reaches the launcher, which passes it on once), with OMP_NUM_THREADS set
to the threads each rank gets (so torchrun prints no banner) and a shared folder (training.worker).
Only rank 0 is heard: its stdout streams through, its stderr is copied through as it comes, torchrun's
own log is kept aside. When another rank fails, its error (torchrun's error file, which @record and
training.worker write) is what the user is told.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..errors import ConfigError, TrainingError, msg
from .worker import ENV_DIR, ENV_LAUNCHER, EVENTS_FILE, EXIT_FILE, JOB_FILE, STOP_FILE

POLL_S = 0.2
STOP_GRACE_S = 60.0  # after a Stop, this long for the ranks to end on their own; then SIGTERM, then SIGKILL
KILL_GRACE_S = 30.0


def check_processes(processes: int, device: str = "auto") -> None:
    """Refuse a process count this machine cannot give: one core, or one GPU, per process."""
    from .devices import resolve_device
    from .distributed import max_processes

    limit = max_processes(device)
    if processes > limit:
        each = (msg("engine.launch.each.gpu", "GPU") if resolve_device(device).type == "cuda"
                else msg("engine.launch.each.core", "core"))
        raise ConfigError(msg("errors.launch.too_many", "This computer can train in at most {limit} processes "
                              "(one per {each}), not {processes}.", limit=limit, each=each, processes=processes),
                          msg("errors.launch.too_many.hint", "Choose from 1 to {limit} processes.", limit=limit))


def torchrun_command(processes: int, module_args: list[str], log_dir: Path, app: bool = False) -> list[str]:
    """The torchrun command line: rank 0's stdout to the console, its stderr to a log the launcher tails
    (the app's job: everything to logs), the other ranks' output nowhere (their errors go to error files)."""
    redirects = "3" if app else "0:2"
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
            "--local-ranks-filter=0", f"--redirects={redirects}", f"--log-dir={log_dir}", "-m", *module_args]


def _env(folder: Path, processes: int, running_jobs: int = 1, requested_threads: Optional[int] = None) -> dict:
    from .devices import choose_threads

    env = dict(os.environ)
    # the threads each rank gets; set here, torchrun neither chooses 1 itself nor prints its banner about it
    env["OMP_NUM_THREADS"] = str(choose_threads(running_jobs, requested_threads, processes=processes))
    env[ENV_DIR], env[ENV_LAUNCHER] = str(folder), str(os.getpid())
    root = str(Path(__file__).resolve().parents[2])  # the ranks import this very bigmodel_core
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


@dataclass
class Failure:
    """What a rank's torchrun error file says."""

    rank: int
    message: str
    traceback: str


def root_cause(log_dir: Path) -> Optional[Failure]:
    """The failure of the lowest rank other than 0 that left an error file (rank 0 speaks for itself)."""
    found = []
    for path in log_dir.glob("*/attempt_*/*/error.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))["message"]
            found.append(Failure(int(path.parent.name), data["message"], data.get("extraInfo", {}).get("py_callstack", "")))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    others = sorted((f for f in found if f.rank != 0), key=lambda f: f.rank)
    return others[0] if others else next(iter(found), None)


def _read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class _Copier(threading.Thread):
    """Copies rank 0's stderr log (once torchrun has made it) to our stderr as it grows."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(name="bigmodel-rank0-stderr", daemon=True)
        self.log_dir, self.done, self.offset = log_dir, threading.Event(), 0

    def run(self) -> None:
        while not self.done.is_set():
            self.copy()
            self.done.wait(POLL_S)
        self.copy()

    def copy(self) -> None:
        for path in self.log_dir.glob("*/attempt_*/0/stderr.log"):
            with open(path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
            if data:
                self.offset += len(data)
                sys.stderr.write(data.decode("utf-8", errors="replace"))
                sys.stderr.flush()


def _wait(proc: subprocess.Popen) -> int:
    """Wait for torchrun; a Ctrl-C or SIGTERM here is passed on to it (it passes it to every rank):
    the first asks for a Stop, the second interrupts, a third kills them all."""
    signals = 0
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt as stop:  # signals.Terminated is one too
            signals += 1
            sig = getattr(stop, "signal_number", signal.SIGINT)
            try:
                if signals < 3:
                    os.kill(proc.pid, sig)
                else:
                    os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def launch_cli(argv: list[str], processes: int) -> int:
    """`python -m bigmodel_core <argv>` in `processes` ranks under torchrun; rank 0's exit code.

    Rank 0 prints (its lines stream through as they come); when another rank fails, its error is
    printed after rank 0's (the traceback with BIGMODEL_DEBUG=1).
    """
    folder = Path(tempfile.mkdtemp(prefix="bigmodel-launch-"))
    try:
        logs = folder / "logs"
        with open(folder / "torchrun.log", "wb") as log:
            proc = subprocess.Popen(torchrun_command(processes, ["bigmodel_core", *argv], logs),
                                    env=_env(folder, processes), stderr=log, start_new_session=True)
            copier = _Copier(logs)
            copier.start()
            try:
                code = _wait(proc)
            finally:
                copier.done.set()
                copier.join(timeout=5)
        return _cli_outcome(folder, code, processes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _cli_outcome(folder: Path, code: int, processes: int) -> int:
    report = _read_json(folder / EXIT_FILE)
    if report is not None and not report.get("peer_lost"):
        return int(report["code"])  # rank 0 ended on its own and has said why
    cause = root_cause(folder / "logs")
    if cause is not None:
        print(f"Error: Training process {cause.rank + 1} of {processes} failed: {cause.message}", file=sys.stderr)
        if os.environ.get("BIGMODEL_DEBUG"):
            print(cause.traceback, file=sys.stderr)
        else:
            print("Hint: Run again with BIGMODEL_DEBUG=1 to see its traceback.", file=sys.stderr)
    elif report is None:
        print("Error: The training processes ended without a result (one may have run out of memory).\n"
              "Hint: Try fewer processes, a smaller model or batch size; run again with BIGMODEL_DEBUG=1 "
              "to see torchrun's log.", file=sys.stderr)
        if os.environ.get("BIGMODEL_DEBUG"):
            print((folder / "torchrun.log").read_text(encoding="utf-8", errors="replace"), file=sys.stderr)
    return int(report["code"]) if report is not None else (code if code > 0 else 1)


def run_distributed(cfg, callbacks: Iterable = (), home: str | Path | None = None,
                    stop_event: Optional[threading.Event] = None, running_jobs: int = 1,
                    resume: Optional[str] = None, epochs: Optional[int] = None,
                    processes: Optional[int] = None):
    """Like `train_run` (and process_runner.run_in_process), in `processes` ranks under torchrun.

    Rank 0's events come back through the shared folder and go to `callbacks`, so the same live charts
    follow the job; a set `stop_event` asks every rank to stop at the next batch boundary (the run is
    saved as stopped, resumable); one that does not end within STOP_GRACE_S is terminated, then killed.
    """
    if cfg is not None:
        settings = cfg.train
    else:  # a resume: the run's own settings (by default as many processes as it asked for at first)
        from ..runs.store import read_run

        settings = read_run(resume, home).config.train
    n = int(processes or settings.processes)
    check_processes(n, settings.device)
    folder = Path(tempfile.mkdtemp(prefix="bigmodel-ddp-"))
    try:
        job = {"config": None if cfg is None else asdict(cfg), "home": None if home is None else str(home),
               "resume": resume, "epochs": epochs, "running_jobs": running_jobs}
        (folder / JOB_FILE).write_text(json.dumps(job), encoding="utf-8")
        (folder / EVENTS_FILE).touch()
        threads = cfg.train.num_threads if cfg is not None else None
        with open(folder / "torchrun.log", "wb") as log:
            proc = subprocess.Popen(torchrun_command(n, ["bigmodel_core.training.worker", str(folder)], folder / "logs",
                                                     app=True),
                                    env=_env(folder, n, running_jobs, threads), stdout=subprocess.DEVNULL,
                                    stderr=log, start_new_session=True)
            try:
                outcome = _follow(proc, folder, list(callbacks), stop_event)
            finally:
                _end(proc)
        return _app_outcome(outcome, folder, n, proc.returncode, home)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _follow(proc: subprocess.Popen, folder: Path, callbacks: list, stop_event) -> Optional[dict]:
    """Hand rank 0's events to `callbacks` until torchrun ends; the outcome record, if rank 0 wrote one."""
    from .events import HOOKS, TrainEvent, dispatch

    outcome, offset, stopped_at, signalled = None, 0, None, False
    while True:
        if stop_event is not None and stop_event.is_set() and stopped_at is None:
            (folder / STOP_FILE).touch()
            stopped_at = time.monotonic()
        ended = proc.poll() is not None
        with open(folder / EVENTS_FILE, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
        complete = data[:data.rfind(b"\n") + 1]  # a line still being written waits for the next look
        offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            row = json.loads(line)
            if row.get("kind") in HOOKS:
                dispatch(callbacks, TrainEvent(**row))
            else:
                outcome = row
        if ended:
            return outcome
        if stopped_at is not None and not signalled and time.monotonic() - stopped_at > STOP_GRACE_S:
            proc.send_signal(signal.SIGTERM)  # torchrun passes it on: the ranks are told once more
            signalled = True
        time.sleep(POLL_S)


def _end(proc: subprocess.Popen) -> None:
    """Make sure torchrun and its ranks are gone (this thread may be unwinding from an error)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _app_outcome(outcome: Optional[dict], folder: Path, processes: int, code: Optional[int], home):
    from .. import errors
    from ..runs.info import RunInfo

    kind = (outcome or {}).get("kind")
    if kind == "result":
        return RunInfo.from_dict(outcome["info"], path=outcome["info"].get("path"))
    _mark_dead_runs(home)
    lost = kind is None or (kind == "error" and outcome.get("peer_lost"))
    cause = root_cause(folder / "logs") if lost else None
    if cause is not None:  # another rank failed first: its error is the one to tell
        name, _, rest = cause.message.partition(": ")
        if isinstance(getattr(errors, name, None), type) and issubclass(getattr(errors, name), errors.BigModelError):
            raise TrainingError(msg("errors.launch.rank_failed", "Training process {rank} of {processes} failed: "
                                    "{error}", rank=cause.rank + 1, processes=processes, error=rest),
                                msg("errors.launch.rank_failed.hint", "Deal with it, then resume the run on the Runs "
                                    "page."))
        raise RuntimeError(f"Training process {cause.rank + 1} of {processes} failed: {cause.message}\n{cause.traceback}")
    if kind == "error":
        raise errors.error_from_dict(outcome)
    if kind == "crash":
        raise RuntimeError(f"{outcome['type']}: {outcome['message']}\n{outcome['traceback']}")
    raise TrainingError(msg("errors.launch.no_result", "The {processes} training processes ended without a result "
                            "(exit code {code}; one may have run out of memory).", processes=processes, code=code),
                        msg("errors.launch.no_result.hint", "Its run is kept as interrupted if an epoch had finished: "
                            "resume it on the Runs page, or try fewer processes, a smaller model or batch size."))


def _mark_dead_runs(home) -> None:
    """A rank killed outright leaves its run "running": the listing shows it as interrupted (or removes it)."""
    from .. import errors
    from ..runs.store import scan_runs

    try:
        scan_runs(home)
    except errors.BigModelError:
        pass
