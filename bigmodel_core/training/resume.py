"""Resuming a run: claim it, check that its checkpoint and its data are still what it trained on, or let go.

`plan_resume` takes the run under its lock (status "running", this process as owner, so a second
Resume is refused), loads its checkpoint (training.checkpoint) and keeps the event log up to the
checkpoint's step; `prepare_for_resume` reads the data again and refuses it if the vocabulary or
the split sizes differ (the data file changed); `release_resume` gives the run back its status
when the resume does not get to train.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..config import RunConfig
from ..errors import ConfigError, DataError, RunError, msg
from ..runs.info import RunInfo
from ..runs.store import CHECKPOINT
from ..tasks import task_named


@dataclass
class ResumePlan:
    info: RunInfo
    config: RunConfig
    checkpoint: tuple[dict, dict]
    history: list[dict[str, Any]]
    previous: str = "interrupted"  # its status before this resume claimed it


def plan_resume(run: str, home: str | Path | None = None, epochs: Optional[int] = None) -> ResumePlan:
    """Check that `run` can be continued and load its checkpoint; a plain RunError when it cannot."""
    from . import checkpoint
    from ..runs.store import read_run, resolve_run, run_lock, write_record
    from ..runs.workspace import owner_stamp

    folder = resolve_run(run, home)
    with run_lock(folder):  # claimed under the lock: a second Resume of the same run sees it training
        info = read_run(folder)
        if info.status == "finished":
            raise RunError(msg("errors.resume.finished", "The run '{name}' has already finished, so there is nothing "
                               "to resume.", name=info.name),
                           msg("errors.resume.finished.hint",
                               "Train a new run (with more epochs, if you want it to train longer)."))
        if info.status in ("running", "queued"):
            from ..runs.index import _owner_running

            if info.status == "queued" or _owner_running(info):
                raise RunError(msg("errors.resume.training", "The run '{name}' is still training.", name=info.name),
                               msg("errors.resume.training.hint", "Wait for it to end, or stop it first."))
        _remove_dead_temp_files(folder)
        tensors, meta = checkpoint.load(Path(info.path) / CHECKPOINT)
        previous = info.status
        info.status, info.owner = "running", owner_stamp()
        write_record(info, home, locked=True, strict=False)
    try:
        return _plan(info, previous, tensors, meta, epochs)
    except BaseException:
        release_resume(info, previous, home)
        raise


def read_plan(run: str, home: str | Path | None = None, epochs: Optional[int] = None) -> ResumePlan:
    """What `plan_resume` reads, without claiming the run: the other processes of a data-parallel
    resume load the same checkpoint while rank 0 alone claims the run (and refuses it if it must)."""
    from . import checkpoint
    from ..runs.store import read_run, resolve_run

    info = read_run(resolve_run(run, home))
    tensors, meta = checkpoint.load(Path(info.path) / CHECKPOINT)
    return _plan(info, info.status, tensors, meta, epochs)


def _remove_dead_temp_files(folder: Path) -> None:
    """A process killed while writing a file leaves its `.NAME.tmp-PID` behind: remove those of dead processes."""
    import os

    for path in folder.glob(".*.tmp-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that process is still alive (it may be writing right now)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            continue


def release_resume(info: RunInfo, previous: str, home: str | Path | None) -> None:
    """A resume that did not get to train: the run goes back to the status it had."""
    from ..runs.store import write_record

    info.status, info.owner = previous, None
    try:
        write_record(info, home, strict=False)
    except OSError:
        pass


def _plan(info: RunInfo, previous: str, tensors: dict, meta: dict, epochs: Optional[int]) -> "ResumePlan":
    from ..runs.store import read_history

    cfg = copy.deepcopy(info.config)
    done = int(meta["position"]["epoch"]) - 1  # whole epochs: a checkpoint inside epoch e has e - 1 behind it
    if epochs is not None:
        if epochs <= done:
            raise ConfigError(msg("errors.resume.epochs", "The run '{name}' has already trained {done} epochs, so "
                                  "{epochs} would add none.", name=info.name, done=done, epochs=epochs),
                              msg("errors.resume.epochs.hint", "Give more than {done} epochs, or resume without "
                                  "--epochs to finish its {total}.", done=done, total=cfg.train.epochs))
        cfg.train = dataclasses.replace(cfg.train, epochs=epochs)
    step = int(meta["position"]["step"])
    kept = [r for r in read_history(info.path) if r.get("kind") != "fit_end" and int(r.get("step") or 0) <= step
            and not (r.get("kind") == "fit_start" and r.get("step"))]
    return ResumePlan(info, cfg, (tensors, meta), kept, previous)


def prepare_for_resume(cfg: RunConfig, plan: ResumePlan, home: str | Path | None) -> Any:
    """`prepare(cfg)` for a resume: also check that the data still reads as it did (same vocabulary)."""
    from .run import prepare

    try:
        prep = prepare(cfg, home=home)
    except DataError as exc:
        raise RunError(msg("errors.resume.data_gone", "The data of the run '{name}' cannot be read any more: {error}",
                           name=plan.info.name, error=exc.message),
                       msg("errors.resume.data_gone.hint", "Put the data back where it was ({spec}), then resume "
                           "again.", spec=cfg.data.spec)) from None
    task = task_named(prep.data_info["task"])
    saved = Path(plan.info.path) / task.pipeline_file
    now = _Capture()
    task.save(now, prep.pipeline, prep.dataset, [])
    try:
        same = json.loads(saved.read_text(encoding="utf-8")) == json.loads(now.files[task.pipeline_file])
    except (OSError, ValueError):
        same = False
    if not same or prep.data_info.get("split") != plan.info.data_info.get("split"):
        raise RunError(msg("errors.resume.data_changed", "The data of the run '{name}' has changed since it started, "
                           "so it cannot be continued exactly.", name=plan.info.name),
                       msg("errors.resume.data_changed.hint",
                           "Put the original data back, or train a new run on the new data."))
    return prep


class _Capture:
    """A stand-in run folder that keeps what a task would write (to compare pipelines)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def write_text(self, name: str, text: str) -> None:
        self.files[name] = text

    def write_json(self, name: str, data: Any) -> None:
        self.files[name] = json.dumps(data)

    def path(self, name: str) -> Path:
        return Path(os.devnull)
