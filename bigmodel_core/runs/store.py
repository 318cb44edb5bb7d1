"""The on-disk run layout: one directory per run in BIGMODEL_HOME/runs, written atomically."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError, RunError
from .info import RunInfo
from .workspace import AtomicFolder, check_name, inside, sweep_once

RUN_FILES = ("run.json", "history.jsonl", "vocab.json", "preprocess.json", "weights.safetensors", "misclassified.npz")


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
    check_name(str(run), "run name")
    path = inside(runs_dir(home), str(run))
    if not (path / "run.json").exists():
        raise RunError(f"The run '{run}' does not exist (it may have been deleted).",
                       "Pick another run from the list, or train a new one.")
    return path


def read_run(run: str | Path, home: Path | str | None = None) -> RunInfo:
    """The record of a run, checked: a RunError naming what is wrong when it is damaged."""
    path = resolve_run(run, home)
    try:
        data = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON and bytes that are not UTF-8 alike
        raise damaged(path.name, "its run.json is not readable JSON") from None
    try:
        return RunInfo.from_dict(data, path=str(path))
    except (ConfigError, TypeError, AttributeError, ValueError) as exc:
        why = exc.message.rstrip(".") if isinstance(exc, ConfigError) else "its run.json has unknown parts"
        raise damaged(path.name, why[:1].lower() + why[1:]) from None


def damaged(name: str, why: str) -> RunError:
    return RunError(f"The run '{name}' is damaged: {why}.",
                    "Delete it, or restore its folder from a backup; the other runs are not affected.")


def read_history(run: str | Path, home: Path | str | None = None) -> list[dict[str, Any]]:
    path = resolve_run(run, home) / "history.jsonl"
    if not path.exists():
        return []
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except ValueError:
        raise damaged(path.parent.name, "its history.jsonl is not readable") from None
    return [r for r in rows if isinstance(r, dict)]


def scan_runs(home: Path | str | None = None) -> tuple[list[RunInfo], list[dict[str, str]]]:
    """(saved runs newest first, damaged runs as {"id", "message", "hint"}): one bad run never hides the rest."""
    good, bad = [], []
    for path in sorted(runs_dir(home).iterdir(), reverse=True):
        if path.name.startswith(".") or not path.is_dir() or not (path / "run.json").exists():
            continue
        try:
            good.append(read_run(path))
        except RunError as exc:
            bad.append({"id": path.name, "message": exc.message, "hint": exc.hint})
    return good, bad


def list_runs(home: Path | str | None = None) -> list[RunInfo]:
    """Saved runs, newest first (damaged ones are skipped: `scan_runs` reports them)."""
    return scan_runs(home)[0]


def delete_run(run: str | Path, home: Path | str | None = None) -> None:
    """Remove a run's folder; only ever a folder directly inside this workspace's runs/."""
    path = resolve_run(run, home).resolve()
    if path.parent != runs_dir(home):
        raise RunError(f"'{run}' is not a run of this workspace, so it was not deleted.",
                       "Delete runs by their name as listed on the Predict page or by the CLI.")
    shutil.rmtree(path)


def read_misclassified_images(run: str | Path, home: Path | str | None = None):
    """uint8 (n, H, W, C) images of an image run's most confident validation mistakes (or None)."""
    import numpy as np

    path = resolve_run(run, home) / "misclassified.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return data["images"]
