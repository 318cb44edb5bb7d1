"""The on-disk run layout: one directory per run in BIGMODEL_HOME/runs, written atomically."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
import warnings
from pathlib import Path
from contextlib import contextmanager, nullcontext
from typing import Any, Iterable, Iterator, Optional

from ..errors import ConfigError, RunError, msg
from . import index, rebuild
from .info import RunInfo
from .workspace import TMP_PREFIX, AtomicFolder, check_name, inside, sweep_once

# a run's bundle: what export and import carry; checkpoint.safetensors only while it can be resumed
RUN_FILES = ("run.json", "history.jsonl", "vocab.json", "preprocess.json", "weights.safetensors", "misclassified.npz")
CHECKPOINT = "checkpoint.safetensors"


def home_dir(home: Path | str | None = None) -> Path:
    """The workspace: `home`, else $BIGMODEL_HOME, else ./workspace."""
    return Path(home or os.environ.get("BIGMODEL_HOME") or "workspace").resolve()


def runs_dir(home: Path | str | None = None) -> Path:
    """`BIGMODEL_HOME/runs`, created when missing; stale temp folders are swept the first time."""
    path = home_dir(home) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    sweep_once(path)
    sweep_once(path.parent)  # .upload-* folders of an import that was killed
    return path


def new_run_id(model_name: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{model_name}-{uuid.uuid4().hex[:4]}"


class RunWriter(AtomicFolder):
    """A run's files, collected in a hidden temporary folder and renamed into place on commit."""

    def __init__(self, run_id: str, home: Path | str | None = None) -> None:
        super().__init__(runs_dir(home), run_id, "run")
        self.run_id = run_id

    def write_json(self, name: str, data: Any) -> None:
        (self.tmp / name).write_text(json.dumps(data, indent=2), encoding="utf-8")

    def write_text(self, name: str, text: str) -> None:
        (self.tmp / name).write_text(text, encoding="utf-8")

    def write_jsonl(self, name: str, rows: Iterable[dict]) -> None:
        with open(self.tmp / name, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")


def resolve_run(run: str | Path, home: Path | str | None = None) -> Path:
    """A run id (or the path of a run folder) -> its directory; a plain error if it is gone."""
    path = Path(run)
    if path.is_dir() and (path / "run.json").exists() and (isinstance(run, Path) or os.sep in str(run)):
        return path
    check_name(str(run), msg("engine.config.run_name", "run name"))
    path = inside(runs_dir(home), str(run))
    if not (path / "run.json").exists():
        raise RunError(msg("errors.store.no_run", "The run '{run}' does not exist (it may have been deleted).",
                           run=str(run)),
                       msg("errors.store.no_run.hint", "Pick another run from the list, or train a new one."))
    return path


def read_run(run: str | Path, home: Path | str | None = None) -> RunInfo:
    """The record of a run, checked: a RunError naming what is wrong when it is damaged."""
    path = resolve_run(run, home)
    try:
        data = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON and bytes that are not UTF-8 alike
        raise damaged(path.name, msg("errors.store.why.bad_json", "its run.json is not readable JSON")) from None
    try:
        return RunInfo.from_dict(data, path=str(path))
    except (ConfigError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            why = getattr(exc, "clause", None) or _clause(exc.message)
        else:
            why = msg("errors.store.why.unknown_parts", "its run.json has unknown parts")
        raise damaged(path.name, why) from None


def _clause(sentence: str) -> str:
    """'The x is wrong.' -> 'the x is wrong' (for "The run 'r' is damaged: <clause>.")."""
    why = str(sentence).rstrip(".")
    return why[:1].lower() + why[1:]


def damaged(name: str, why: str) -> RunError:
    """`why`: what is wrong, as a clause (a Msg: "its run.json is not readable JSON")."""
    return RunError(msg("errors.store.damaged", "The run '{name}' is damaged: {why}.", name=name, why=why),
                    msg("errors.store.damaged.hint",
                        "Delete it, or restore its folder from a backup; the other runs are not affected."))


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file whole or not at all: a temp file beside it, then renamed over it.

    Whole against a process that is killed at any moment (the rename is atomic). Not fsynced: a
    power cut may lose the last epoch's files; the fsyncs were a fifth of the per-epoch write time
    (BENCHMARKS.md, "What the run store costs").
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_history(run: str | Path, home: Path | str | None = None) -> list[dict[str, Any]]:
    """A run's event log (history.jsonl): every event as a dict, in order."""
    path = resolve_run(run, home) / "history.jsonl"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1 and not text.endswith("\n"):
                break  # the last line, cut short by a process killed while appending it: dropped
            why = msg("errors.store.why.history_line", "line {line} of its history.jsonl is not readable", line=i + 1)
            raise damaged(path.parent.name, why) from None
    return [r for r in rows if isinstance(r, dict)]


def read_epoch_rows(run: str | Path, home: Path | str | None = None) -> list[dict[str, Any]]:
    """A run's epochs from its history.jsonl: {"epoch", "step", "wall", **metrics} (what the index keeps)."""
    return [{**e.get("metrics", {}), "epoch": e.get("epoch"), "step": e.get("step"),
             "wall": (e.get("metrics") or {}).get("elapsed")}
            for e in read_history(run, home) if e.get("kind") == "epoch_end" and isinstance(e.get("epoch"), int)]


@contextmanager
def run_lock(folder: Path | str) -> Iterator[None]:
    """An advisory lock on one run's record (flock on the run's folder itself, so no lock file is left in
    it): a rename on the Runs page and a training process's per-epoch write never interleave. Where
    flock does not exist (not POSIX), no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


USER_FIELDS = ("label", "tags")  # set on the Runs page; a training process's writes keep what is on disk


def write_record(info: RunInfo, home: Path | str | None = None, epochs: Optional[list[dict[str, Any]]] = None,
                 epoch: Optional[dict[str, Any]] = None, keep_user_fields: bool = True, locked: bool = False,
                 strict: bool = True) -> None:
    """Save `info` as its folder's run.json (atomically) and in the index: the folder first, it is the truth.

    Under the run's lock. `keep_user_fields`: the name and tags given on the Runs page are taken
    from the run.json on disk, so a training process writing its record never undoes a rename.
    If the index cannot take it (another process holds it locked), run.json goes back to what it
    was and the RunError is raised: the change is refused as a whole, never half made. With
    `strict=False` (a training process's own writes) the folder keeps the new record and the index
    catches up at the next write or listing; the RunError becomes a warning.
    """
    folder = Path(info.path)
    with (nullcontext() if locked else run_lock(folder)):
        path = folder / "run.json"
        before = path.read_bytes() if path.exists() else None
        if keep_user_fields and before is not None:
            try:
                disk = json.loads(before)
                info.label, info.tags = disk.get("label"), list(disk.get("tags") or [])
            except (ValueError, AttributeError, TypeError):
                pass  # a damaged run.json: this write repairs it
        write_atomic(path, json.dumps(info.to_dict(), indent=2))
        try:
            index.put_run(info, home, epochs, epoch=epoch)
        except RunError as exc:
            if not strict:
                warnings.warn(f"{exc.message} {exc.hint}", RuntimeWarning, stacklevel=2)
                return
            if before is not None:
                write_atomic(path, before)
            raise


def scan_runs(home: Path | str | None = None, task: Optional[str] = None,
              sweep: Optional[str] = None) -> tuple[list[RunInfo], list[dict[str, str]]]:
    """(saved runs newest first, damaged runs as {"id", "message", "hint"}), from the run index.

    One bad run never hides the rest; a run whose training process died shows as interrupted.
    """
    runs_dir(home)  # stale temp folders go before anything is listed
    rebuild.refresh_if_changed(home)
    return index.query_runs(home, task=task, sweep=sweep)


def list_runs(home: Path | str | None = None, task: Optional[str] = None) -> list[RunInfo]:
    """Saved runs, newest first (damaged ones are skipped: `scan_runs` reports them)."""
    return scan_runs(home, task)[0]


def run_epochs(run: str, home: Path | str | None = None) -> list[dict[str, Any]]:
    """A run's per-epoch metrics from the index: {"epoch", "step", "wall", **metrics}."""
    return index.run_epochs(run, home)


def delete_run(run: str | Path, home: Path | str | None = None) -> None:
    """Remove a run's folder and its entry; only ever a folder directly inside this workspace's runs/."""
    path = resolve_run(run, home).resolve()
    if path.parent != runs_dir(home):
        raise RunError(msg("errors.store.not_here", "'{run}' is not a run of this workspace, so it was not deleted.",
                           run=str(run)),
                       msg("errors.store.not_here.hint",
                           "Delete runs by their name as listed on the Runs page or by the CLI."))
    try:
        info = read_run(path)
    except RunError:
        info = None  # a damaged run can always be deleted
    if info is not None and info.status == "running" and index._owner_running(info):
        raise RunError(msg("errors.store.still_training", "The run '{name}' is still training, so it was not deleted.",
                           name=info.name),
                       msg("errors.store.still_training.hint",
                           "Stop it first (on the Train page, or Ctrl-C in its terminal), then delete it."))
    trash = path.with_name(f"{TMP_PREFIX}del-{path.name}-{uuid.uuid4().hex[:6]}")
    try:
        os.replace(path, trash)  # one rename: a second tab deleting it at the same moment finds it gone
    except FileNotFoundError:
        raise RunError(msg("errors.store.no_run", "The run '{run}' does not exist (it may have been deleted).",
                           run=path.name),
                       msg("errors.store.gone.hint", "Pick another run from the list.")) from None
    shutil.rmtree(trash, ignore_errors=True)
    index.drop_run(path.name, home)


def mark_status(run: str, status: str, home: Path | str | None = None, reason: Optional[str] = None) -> RunInfo:
    """Set a run's status (in run.json and the index); returns the updated record."""
    folder = resolve_run(run, home)
    with run_lock(folder):
        info = read_run(folder)
        info.status, info.owner = status, None
        if reason:
            info.stop_reason = reason
        write_record(info, home, locked=True)
    return info


def update_run(run: str, home: Path | str | None = None, label: Optional[str] = None,
               tags: Optional[list[str]] = None) -> RunInfo:
    """Rename (a display name; the id and folder stay) or re-tag a run, also while it trains."""
    if label is not None:
        label = " ".join(str(label).split())
        if len(label) > 100:
            raise ConfigError(msg("errors.store.long_name", "A run name can have at most 100 characters."),
                              msg("errors.store.long_name.hint", "Choose a shorter name."))
    clean = None
    if tags is not None:
        clean = []
        for tag in tags:
            tag = " ".join(str(tag).split())
            if not tag:
                continue
            if len(tag) > 40:
                raise ConfigError(msg("errors.store.long_tag", "The tag '{tag}…' is too long.", tag=tag[:40]),
                                  msg("errors.store.long_tag.hint", "Use tags of at most 40 characters."))
            if tag not in clean:
                clean.append(tag)
        if len(clean) > 20:
            raise ConfigError(msg("errors.store.many_tags", "A run can have at most 20 tags."),
                              msg("errors.store.many_tags.hint", "Remove some tags first."))
    folder = resolve_run(run, home)
    with run_lock(folder):
        info = read_run(folder)
        if label is not None:
            info.label = label or None
        if clean is not None:
            info.tags = clean
        write_record(info, home, keep_user_fields=False, locked=True)
    return info


def reindex(home: Path | str | None = None) -> dict[str, int]:
    """Rebuild the run index from the run folders (and the vector sets); returns the counts found."""
    runs_dir(home)
    return rebuild.reindex(home)


class LiveRun:
    """A run's folder while it trains: it exists from the first batch and every file in it is written
    whole (temp file + rename), so a killed process leaves a readable, resumable run."""

    def __init__(self, run_id: str, home: Path | str | None = None, resume: bool = False) -> None:
        check_name(run_id, msg("engine.config.run_name", "run name"))
        self.run_id, self.home = run_id, home
        self.folder = inside(runs_dir(home), run_id)
        self.created = False
        if resume:
            return
        if self.folder.exists() or self.folder.is_symlink() or (self.folder.parent / (TMP_PREFIX + run_id)).exists():
            raise RunError(msg("errors.store.exists", "There is already a run called '{name}'.", name=run_id),
                           msg("errors.store.exists.hint", "Choose another name, or delete the old run first."))

    def open(self) -> None:
        """Create the folder (at the first batch: a run that fails before it leaves nothing)."""
        try:
            self.folder.mkdir()
        except FileExistsError:
            raise RunError(msg("errors.store.appeared", "A run called '{name}' appeared while this one was starting.",
                               name=self.run_id),
                           msg("errors.store.appeared.hint", "Choose another name and train again.")) from None
        self.created = True

    def path(self, name: str) -> Path:
        return self.folder / name

    def write_json(self, name: str, data: Any) -> None:
        write_atomic(self.folder / name, json.dumps(data, indent=2))

    def write_text(self, name: str, text: str) -> None:
        write_atomic(self.folder / name, text)

    def write_jsonl(self, name: str, rows: Iterable[dict]) -> None:
        write_atomic(self.folder / name, "".join(json.dumps(row) + "\n" for row in rows))

    def discard(self) -> None:
        """Remove the run entirely (a failed run keeps nothing half-done)."""
        if self.created:
            shutil.rmtree(self.folder, ignore_errors=True)
            try:
                index.drop_run(self.run_id, self.home)
            except RunError:
                pass  # the index is rebuilt from the folders; the folder is gone


def read_misclassified_images(run: str | Path, home: Path | str | None = None):
    """uint8 (n, H, W, C) images of an image run's most confident validation mistakes (or None)."""
    import numpy as np

    path = resolve_run(run, home) / "misclassified.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return data["images"]
