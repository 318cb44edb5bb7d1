"""Background training jobs: a process-wide JobManager runs runs in worker threads and queues extras.

The worker never touches a UI. It appends JSON-able events to the job's log; pages read it.
torch is imported at the top here on purpose: a first torch import inside a worker thread raced
with plotly's numpy import in Streamlit's script thread.
"""
from __future__ import annotations

import itertools
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch  # noqa: F401  (see module docstring)

from ..config import RunConfig
from ..errors import BigModelError, TrainingCancelled
from .callbacks import LogCallback

_ids = itertools.count(1)


@dataclass
class Job:
    """One training job; any number of viewers read `log` from their own offset (appends are atomic)."""

    id: str
    config: RunConfig
    owner: str = ""  # browser session that started it
    status: str = "queued"  # queued | running | done | stopped | failed
    log: list[dict] = field(default_factory=list)  # every event so far; viewers keep their own offset
    stop_event: threading.Event = field(default_factory=threading.Event)
    result: Optional[dict] = None
    error: Optional[dict] = None  # {"message", "hint", "traceback"?}
    created: float = field(default_factory=time.time)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "failed")


class JobManager:
    """Runs at most `max_running` jobs at once; the rest wait in order (a classroom on one server)."""

    def __init__(self, max_running: int = 1, home: Optional[str] = None,
                 runner: Optional[Callable[..., dict]] = None, processes: bool = False) -> None:
        """`processes=True` trains each job in a child process (the app does: see process_runner)."""
        from .process_runner import run_in_process
        from .run import train_run

        self.max_running = max_running
        self.home = home
        self._runner = runner or (run_in_process if processes else train_run)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._waiting: list[str] = []

    def submit(self, cfg: RunConfig, owner: str = "") -> Job:
        job = Job(f"job-{next(_ids)}", cfg, owner)
        with self._lock:
            self._jobs[job.id] = job
            self._waiting.append(job.id)
        self._start_waiting()
        return job

    def get(self, job_id: Optional[str]) -> Optional[Job]:
        return self._jobs.get(job_id) if job_id else None

    def position(self, job_id: str) -> int:
        """1-based place in the queue, 0 when running or finished."""
        with self._lock:
            return self._waiting.index(job_id) + 1 if job_id in self._waiting else 0

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.status == "running"]

    def stop(self, job_id: str) -> None:
        """Stop at the next batch boundary; a queued job is simply cancelled."""
        job = self._jobs.get(job_id)
        if job is None or job.finished:
            return
        with self._lock:
            if job_id in self._waiting:
                self._waiting.remove(job_id)
                job.status = "stopped"
                job.log.append({"kind": "job_end", "status": "stopped"})
                return
        job.stop_event.set()

    def _start_waiting(self) -> None:
        with self._lock:
            while self._waiting and sum(j.status == "running" for j in self._jobs.values()) < self.max_running:
                job = self._jobs[self._waiting.pop(0)]
                job.status = "running"
                threading.Thread(target=self._work, args=(job,), name=job.id, daemon=True).start()

    def _work(self, job: Job) -> None:
        try:
            job.result = self._runner(job.config, [LogCallback(job.log)], home=self.home,
                                      stop_event=job.stop_event, running_jobs=len(self.running()))
            job.status = "stopped" if job.result.get("stopped") else "done"
        except TrainingCancelled:
            job.status = "stopped"
        except BigModelError as exc:
            job.error = {"message": exc.message, "hint": exc.hint}
            job.status = "failed"
        except Exception as exc:  # unexpected: keep the traceback for the collapsed details
            job.error = {"message": f"Training failed unexpectedly: {type(exc).__name__}: {exc}",
                         "hint": "Try again with other settings; if it keeps failing, report the details below.",
                         "traceback": traceback.format_exc()}
            job.status = "failed"
        finally:
            job.log.append({"kind": "job_end", "status": job.status})
            self._start_waiting()
