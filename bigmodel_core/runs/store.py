"""The on-disk run layout: one directory per run in BIGMODEL_HOME/runs, written atomically."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from ..errors import RunError

RUN_FILES = ("run.json", "history.jsonl", "vocab.json", "weights.safetensors")


def home_dir(home: Path | str | None = None) -> Path:
    """The workspace: `home`, else $BIGMODEL_HOME, else ./workspace."""
    return Path(home or os.environ.get("BIGMODEL_HOME") or "workspace").resolve()


def runs_dir(home: Path | str | None = None) -> Path:
    path = home_dir(home) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_run_id(model_name: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{model_name}-{uuid.uuid4().hex[:4]}"


class RunWriter:
    """Collects a run's files in a hidden temporary directory and renames it into place on commit.

    If anything fails before `commit()`, `discard()` removes the temporary directory, so a
    half-written run never shows up in the run list.
    """

    def __init__(self, run_id: str, home: Path | str | None = None) -> None:
        self.run_id = run_id
        self.final = runs_dir(home) / run_id
        self.tmp = self.final.parent / f".tmp-{run_id}"
        if self.final.exists():
            raise RunError(f"There is already a run called '{run_id}'.",
                           "Choose another name, or delete the old run first.")
        shutil.rmtree(self.tmp, ignore_errors=True)  # left over from a process that was killed
        self.tmp.mkdir(parents=True)

    def write_json(self, name: str, data: Any) -> None:
        (self.tmp / name).write_text(json.dumps(data, indent=2), encoding="utf-8")

    def write_text(self, name: str, text: str) -> None:
        (self.tmp / name).write_text(text, encoding="utf-8")

    def write_jsonl(self, name: str, rows: Iterable[dict]) -> None:
        with open(self.tmp / name, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")

    def path(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> Path:
        os.replace(self.tmp, self.final)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def resolve_run(run: str | Path, home: Path | str | None = None) -> Path:
    """A run id or path -> its directory; a plain error if it is gone."""
    path = Path(run)
    if not (path.is_dir() and (path / "run.json").exists()):
        path = runs_dir(home) / str(run)
    if not (path / "run.json").exists():
        raise RunError(f"The run '{run}' does not exist (it may have been deleted).",
                       "Pick another run from the list, or train a new one.")
    return path


def read_run(run: str | Path, home: Path | str | None = None) -> dict[str, Any]:
    path = resolve_run(run, home)
    try:
        info = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise RunError(f"The run '{path.name}' is damaged: its run.json cannot be read.",
                       "Delete this run and train it again.") from None
    info["path"] = str(path)
    return info


def read_history(run: str | Path, home: Path | str | None = None) -> list[dict[str, Any]]:
    path = resolve_run(run, home) / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def list_runs(home: Path | str | None = None) -> list[dict[str, Any]]:
    """Saved runs, newest first (damaged ones are skipped)."""
    out = []
    for path in sorted(runs_dir(home).iterdir(), reverse=True):
        if path.name.startswith(".") or not (path / "run.json").exists():
            continue
        try:
            out.append(read_run(path))
        except RunError:
            continue
    return out


def delete_run(run: str | Path, home: Path | str | None = None) -> None:
    shutil.rmtree(resolve_run(run, home))


def read_misclassified_images(run: str | Path, home: Path | str | None = None):
    """uint8 (n, H, W, C) images of an image run's most confident validation mistakes (or None)."""
    import numpy as np

    path = resolve_run(run, home) / "misclassified.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return data["images"]
