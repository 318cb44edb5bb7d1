"""The workspace's guard rails: safe names, paths that stay inside it, and atomic folders that a crash cannot leave behind.

Every id or name that comes from a user (CLI, a page, an imported file, later the REST API)
passes `check_name` before it becomes part of a path, and every path built from one passes
`inside` before anything is written or removed. Folders are written as `.tmp-<name>` beside
their final place, stamped with the writing process (`.owner`), and renamed into place whole;
`sweep` removes the ones whose process is gone.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Optional

from ..errors import ConfigError, RunError, msg

NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")  # no separators, no leading dot, bounded
TMP_PREFIX = ".tmp-"
OWNER_FILE = ".owner"
ORPHAN_AGE_S = 3600.0  # a temp folder with no owner stamp (older versions) is kept this long
DEAD_OWNER_AGE_S = 5.0  # ... one whose owner died, this long (its last write may still be landing)
_swept: set[tuple[str, int]] = set()
# what an AtomicFolder holds, as the messages name it (and its name, for check_name)
_WHAT = {"run": (msg("engine.workspace.what.run", "run"), msg("engine.config.run_name", "run name")),
         "vector set": (msg("engine.workspace.what.vector_set", "vector set"),
                        msg("engine.workspace.what.vector_set_name", "vector set name")),
         "pretrained model": (msg("engine.workspace.what.pretrained_model", "pretrained model"),
                              msg("engine.workspace.what.pretrained_model_name", "pretrained model name"))}


def check_name(name: object, what: str = "name") -> str:
    """`name` if it is a safe folder name (letters, digits, -, _, and . not first; at most 100); else ConfigError."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in (".", ".."):
        shown = repr(name) if not isinstance(name, str) else f"'{name[:60]}'"
        raise ConfigError(msg("errors.workspace.bad_name", "{shown} cannot be used as a {what}.", shown=shown,
                              what=what),
                          msg("errors.workspace.bad_name.hint", "Use up to 100 letters, digits, '-', '_' or '.', "
                              "not starting with '.' (for example lstm-small_2)."))
    return name


def inside(root: Path | str, *parts: str) -> Path:
    """`root/parts...`, resolved; RunError if it would lie outside `root` (via .., a link or an absolute part)."""
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if base not in path.parents and not (path == base and not parts):
        raise RunError(msg("errors.workspace.outside", "'{name}' points outside the workspace ({base}).",
                           name="/".join(parts), base=str(base)),
                       msg("errors.workspace.outside.hint", "Use a plain name without '/', '\\\\' or '..'."))
    return path


def _owner_alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # another machine's process on a shared disk: we cannot tell, so keep it
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _process_start(pid)
    return started is None or owner.get("started") in (None, started)  # a reused pid is another process


def _process_start(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_stamp() -> dict:
    """Who this process is: {"pid", "host", "started", "time"}; `_owner_alive` tells later if it still runs."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": _process_start(os.getpid()),
            "time": time.time()}


def stamp_owner(folder: Path) -> None:
    """Record in `folder` which live process is writing it, so a sweep leaves it alone."""
    (folder / OWNER_FILE).write_text(json.dumps(owner_stamp()), encoding="utf-8")


def is_held(folder: Path) -> bool:
    """True while the process that stamped `folder` is still running."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(owner, dict) and _owner_alive(owner)


def sweep(folder: Path, now: Optional[float] = None) -> list[str]:
    """Remove the stale `.tmp-*` / `.upload-*` folders directly in `folder`; returns their names.

    Stale means: not held by a live process, and old enough (DEAD_OWNER_AGE_S when its owner
    is known to be dead, ORPHAN_AGE_S when it carries no owner stamp).
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        if not path.name.startswith((TMP_PREFIX, ".upload-")) or path.is_symlink() or not path.is_dir():
            continue
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        stamped = (path / OWNER_FILE).exists()
        if is_held(path) or age < (DEAD_OWNER_AGE_S if stamped else ORPHAN_AGE_S):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def remove_owned_by(folder: Path, pid: int) -> list[str]:
    """Remove the temp folders in `folder` stamped by process `pid` (which the caller knows has ended)."""
    removed = []
    for path in folder.glob(TMP_PREFIX + "*"):
        try:
            owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(owner, dict) and owner.get("pid") == pid and owner.get("host") == socket.gethostname():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def sweep_once(folder: Path) -> None:
    """`sweep(folder)` the first time this process opens it (at start), not on every listing."""
    key = (str(folder), os.getpid())
    if key not in _swept:
        _swept.add(key)
        sweep(folder)


class AtomicFolder:
    """A folder written in a hidden `.tmp-<name>` beside its final place and renamed into place whole.

    If anything fails before `commit()`, `discard()` removes the temporary folder, so a
    half-written folder never shows up in a listing; a process killed outright leaves one that
    `sweep` removes at the next start.
    """

    def __init__(self, parent: Path, name: str, what: str = "run") -> None:
        what, what_name = _WHAT.get(what) or (what, f"{what} name")
        check_name(name, what_name)
        folder = inside(parent)  # the names are checked: the two paths below are direct children of it
        self.final, self.tmp = folder / name, folder / (TMP_PREFIX + name)
        if self.final.exists() or self.final.is_symlink():
            raise RunError(msg("errors.workspace.exists", "There is already a {what} called '{name}'.",
                               what=what, name=name),
                           msg("errors.workspace.exists.hint", "Choose another name, or delete the old {what} first.",
                               what=what))
        busy = RunError(msg("errors.workspace.busy", "A {what} called '{name}' is being saved right now by another "
                            "process.", what=what, name=name),
                        msg("errors.workspace.busy.hint", "Wait for it to finish, or choose another name."))
        if self.tmp.is_symlink():
            raise busy  # never follow a link out of the folder to remove or write what it points at
        if self.tmp.exists():
            young_orphan = not (self.tmp / OWNER_FILE).exists() and time.time() - self.tmp.stat().st_mtime < ORPHAN_AGE_S
            if is_held(self.tmp) or young_orphan:  # an unstamped folder may be one being created right now
                raise busy
            shutil.rmtree(self.tmp, ignore_errors=True)  # left over from a process that was killed
        try:
            self.tmp.mkdir(parents=True)
        except FileExistsError:  # another process created it at this very moment
            raise busy from None
        stamp_owner(self.tmp)

    def path(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> Path:
        (self.tmp / OWNER_FILE).unlink(missing_ok=True)
        try:
            os.replace(self.tmp, self.final)
        except OSError:
            self.discard()
            raise RunError(msg("errors.workspace.appeared", "'{name}' appeared while this was being saved.",
                               name=self.final.name),
                           msg("errors.workspace.appeared.hint", "Choose another name and try again.")) from None
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
