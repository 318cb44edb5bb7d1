"""Background training jobs: a process-wide JobManager runs runs in worker threads and queues extras.

The worker never touches a UI. It appends JSON-able events to the job's log; pages read it.
Jobs start strictly in the order they were submitted (first come, first served), and a submit of
a configuration identical to one already queued or running joins that job instead of training it
again: a classroom pressing "Run the demo" at once trains one run and everyone watches it.
torch is imported at the top here on purpose: a first torch import inside a worker thread raced
with plotly's numpy import in Streamlit's script thread.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import torch  # noqa: F401  (see module docstring)

from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ..errors import BigModelError, TrainingCancelled, error_to_dict, msg
from .callbacks import LogCallback

MAX_JOBS_ENV = "BIGMODEL_MAX_JOBS"
JOB_MEMORY_MB = 1024  # one spawned training child (torch, a classroom model, its data), with room to spare
SERVER_MEMORY_MB = 1024  # kept free for the web server and the browsers' sessions
VIEWER_GONE_S = 60.0  # a live Train page reruns every second; this long without a rerun: the tab is closed
KEEP_FINISHED = 200  # finished jobs remembered for their viewers; older ones are forgotten (runs stay on disk)

_ids = itertools.count(1)


def demo_config() -> RunConfig:
    """The one-click demo: a one-way LSTM on the built-in reviews, small enough for a classroom.

    A whole class may press "Run the demo" at once; identical submits share one run, but whoever
    comes after it finished trains a fresh one, so it must be short. One direction reads the
    reviews' negations and contrasts about as well as two here, at less of the cost. BENCHMARKS.md
    (section 10) has its time and accuracy against the earlier demo (bidirectional, 8 epochs, lr 5e-3).
    """
    return RunConfig(DataConfig(), ModelConfig("lstm", {"bidirectional": False}),
                     TrainConfig(epochs=5, batch_size=32, lr=1e-2))


def choose_max_running(cores: Optional[int] = None, memory_mb: Optional[float] = None,
                       env: Optional[dict] = None) -> int:
    """How many jobs train at once: from the cores and the free memory, or BIGMODEL_MAX_JOBS.

    Each job gets at least one core of its own (devices.choose_threads splits the spare cores
    between running jobs), and the web server keeps one core on machines of up to four, two on
    bigger ones: a server starved of CPU freezes every page, and two jobs sharing one core finish
    no sooner in total than one after the other. Each job is a child process that needs about
    JOB_MEMORY_MB, so free memory (MemAvailable, less SERVER_MEMORY_MB) caps the count too.
    A job on a GPU still drives its batches from a CPU core, so the same count holds there.
    BIGMODEL_MAX_JOBS (a whole number >= 1) overrides all this; anything else is ignored with a
    warning, so a typo in a server's environment cannot take the app down.
    """
    env = os.environ if env is None else env
    raw = env.get(MAX_JOBS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        warnings.warn(f"{MAX_JOBS_ENV}={raw!r} is not a whole number of at least 1; choosing from the cores and "
                      "memory instead.", RuntimeWarning, stacklevel=2)
    if cores is None:
        from .devices import available_cores

        cores = available_cores()
    by_cores = cores - 1 if cores <= 4 else cores - 2
    if memory_mb is None:
        memory_mb = available_memory_mb()
    by_memory = by_cores if memory_mb is None else int((memory_mb - SERVER_MEMORY_MB) // JOB_MEMORY_MB)
    return max(1, min(by_cores, by_memory))


def available_memory_mb() -> Optional[float]:
    """Memory the system can give without swapping (MemAvailable), in MiB; None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (AttributeError, OSError, ValueError):
        return None


@dataclass
class Job:
    """One training job; any number of viewers read `log` from their own offset (appends are atomic)."""

    id: str
    config: RunConfig
    owner: str = ""  # browser session that started it
    seq: int = 0  # submission number: the queue is ordered by it (first come, first served)
    viewers: set[str] = field(default_factory=set)  # sessions watching it: the owner and any that joined
    seen: dict[str, float] = field(default_factory=dict)  # viewer -> when its page last looked (see touch)
    status: str = "queued"  # queued | running | done | stopped | failed
    log: list[dict] = field(default_factory=list)  # every event so far; viewers keep their own offset
    stop_event: threading.Event = field(default_factory=threading.Event)
    result: Optional[dict] = None
    error: Optional[dict] = None  # {"message", "hint", "traceback"?}
    created: float = field(default_factory=time.time)
    started: Optional[float] = None  # time.time() when it began to train
    resume: Optional[str] = None  # the run this job continues (train_run's resume), if any
    epochs: Optional[int] = None  # with resume: a new epoch count

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "failed")

    @property
    def processes(self) -> int:
        """Processes it trains in (TrainConfig.processes: more than 1 is a torchrun job, training.launch)."""
        train = getattr(self.config, "train", None)  # a Word2Vec job's settings have none
        return max(1, int(getattr(train, "processes", 1) or 1))

    @property
    def shared(self) -> bool:
        return len(self.viewers) > 1


class JobManager:
    """Runs at most `max_running` jobs at once; the rest wait in submission order (a classroom on one server)."""

    def __init__(self, max_running: Optional[int] = None, home: Optional[str] = None,
                 runner: Optional[Callable[..., dict]] = None, processes: bool = False) -> None:
        """`max_running=None` chooses it (choose_max_running); `processes=True` trains each job in a
        child process (the app does: see process_runner)."""
        from .process_runner import run_in_process
        from .run import train_run

        self.max_running = choose_max_running() if max_running is None else max_running
        self.home = home
        self._runner = runner or (run_in_process if processes else train_run)
        self._trains = runner is None  # its own runner: a job of several processes goes to torchrun instead
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._jobs: dict[str, Job] = {}
        self._waiting: list[str] = []  # job ids in submission order
        self.start_order: list[str] = []  # job ids in the order they began to train

    def submit(self, cfg: RunConfig, owner: str = "", resume: Optional[str] = None,
               epochs: Optional[int] = None) -> Job:
        """Queue `cfg`, or join an identical unnamed job that is queued or running (returned as is).

        `resume`: continue that run (its RunInfo.config is `cfg`, shown while it waits) instead.
        """
        with self._lock:
            job = self._identical(cfg) if resume is None else next(
                (j for j in self._jobs.values() if not j.finished and j.resume == resume), None)
            if job is None:
                job = Job(f"job-{next(_ids)}", cfg, owner, seq=next(self._seq), resume=resume, epochs=epochs)
                self._jobs[job.id] = job
                self._waiting.append(job.id)  # seq is taken under the same lock: the list stays in order
            job.viewers.add(owner)
            job.seen[owner] = time.time()
        self._start_waiting()
        return job

    def _identical(self, cfg: RunConfig) -> Optional[Job]:
        """An unfinished, unstopped job with the same unnamed config (a named run is its user's own)."""
        if cfg.name is not None:
            return None
        wanted = asdict(cfg)
        return next((j for j in self._jobs.values() if not j.finished and not j.stop_event.is_set()
                     and j.resume is None and j.config.name is None and asdict(j.config) == wanted), None)

    def get(self, job_id: Optional[str]) -> Optional[Job]:
        return self._jobs.get(job_id) if job_id else None

    def position(self, job_id: str) -> int:
        """1-based place in the queue, 0 when running or finished."""
        with self._lock:
            return self._waiting.index(job_id) + 1 if job_id in self._waiting else 0

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.status == "running"]

    def stop(self, job_id: str, owner: Optional[str] = None) -> bool:
        """Stop at the next batch boundary; a queued job is simply cancelled.

        With `owner`, a job others are still watching is not stopped: that viewer is detached and
        False is returned. True means the job itself stops (or had already finished).
        """
        job = self._jobs.get(job_id)
        if job is None or job.finished:
            return True
        with self._lock:
            now = time.time()  # a viewer whose page has not looked for a while has closed it: it does not count
            others = {v for v in job.viewers - {owner} if now - job.seen.get(v, now) < VIEWER_GONE_S}
            if owner is not None and others:
                job.viewers.discard(owner)
                return False
            if job_id in self._waiting:
                self._waiting.remove(job_id)
                job.status = "stopped"
                job.log.append({"kind": "job_end", "status": "stopped"})
                return True
            job.stop_event.set()  # inside the lock: nobody can join a job that is being stopped
        return True

    def touch(self, job_id: Optional[str], owner: str) -> None:
        """Record that `owner`'s page is still showing the job (pages call it on every rerun)."""
        job = self._jobs.get(job_id) if job_id else None
        if job is not None and owner in job.viewers:
            job.seen[owner] = time.time()

    def _slots(self, job: Job) -> int:
        """Places a job takes among max_running: one per process (a job of more starts alone)."""
        return min(job.processes, self.max_running)

    def _start_waiting(self) -> None:
        with self._lock:
            while self._waiting:
                used = sum(self._slots(j) for j in self._jobs.values() if j.status == "running")
                if used and used + self._slots(self._jobs[self._waiting[0]]) > self.max_running:
                    break
                job = self._jobs[self._waiting.pop(0)]
                job.status, job.started = "running", time.time()
                self.start_order.append(job.id)
                threading.Thread(target=self._work, args=(job,), name=job.id, daemon=True).start()

    def _work(self, job: Job) -> None:
        try:
            more = {"resume": job.resume, "epochs": job.epochs} if job.resume else {}
            runner = self._runner
            if job.processes > 1 and self._trains:
                from .launch import run_distributed

                runner, more = run_distributed, {**more, "processes": job.processes}
            job.result = runner(None if job.resume else job.config, [LogCallback(job.log)], home=self.home,
                                stop_event=job.stop_event, running_jobs=len(self.running()), **more)
            stopped = job.result.stopped if hasattr(job.result, "stopped") else job.result.get("stopped")
            job.status = "stopped" if stopped else "done"  # a run's record, or a Word2Vec set's meta
        except TrainingCancelled:
            job.status = "stopped"
        except BigModelError as exc:
            job.error = error_to_dict(exc)
            job.status = "failed"
        except Exception as exc:  # unexpected: keep the traceback for the collapsed details
            crash = BigModelError(msg("errors.jobs.unexpected", "Training failed unexpectedly: {kind}: {error}",
                                      kind=type(exc).__name__, error=str(exc)),
                                  msg("errors.jobs.unexpected.hint", "Try again with other settings; if it keeps "
                                      "failing, report the details below."))
            job.error = {k: v for k, v in error_to_dict(crash, traceback=traceback.format_exc()).items() if k != "type"}
            job.status = "failed"
        finally:
            job.log.append({"kind": "job_end", "status": job.status})
            self._forget_old()
            self._start_waiting()

    def _forget_old(self) -> None:
        """Keep memory bounded on a long-running server: drop the oldest finished jobs past KEEP_FINISHED."""
        with self._lock:
            done = [j for j in self._jobs.values() if j.finished]
            for j in sorted(done, key=lambda j: j.seq)[:max(0, len(done) - KEEP_FINISHED)]:
                del self._jobs[j.id]
            keep = set(self._jobs)
            self.start_order = [i for i in self.start_order if i in keep]
