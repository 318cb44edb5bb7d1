"""Uploaded files: kept in the workspace by content, under a safe name, only when they can be read."""
from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Optional

from ..errors import DataError, msg
from ..runs.store import home_dir
from .text import tables

MAX_NAME_CHARS = 100  # the kept file's name; the extension is kept whole

def save_upload(name: str, data: bytes, home: str | Path | None = None,
                check: Optional[Callable[[Path], object]] = None) -> Path:
    """Keep an uploaded file in the workspace (content-addressed, so re-uploads are free).

    `check` (for example `inspect_table`) is called on the newly kept file; if it raises, the
    file and its then-empty folder are removed and the error goes on, so a rejected upload
    leaves nothing behind. A file already kept passed its check when it was first saved.
    """
    if len(data) > tables.MAX_BYTES:
        raise DataError(msg("errors.tables.too_big", "The file '{name}' is {gb:.1f} GB, more than the {limit} MB "
                            "limit.", name=name, gb=len(data) / 1e9, limit=tables.MAX_BYTES // 2**20),
                        tables.SAMPLE_HINT)
    folder = home_dir(home) / "uploads" / hashlib.sha256(data).hexdigest()[:12]
    path = folder / upload_name(name)  # the user's own file name, so messages name the file they chose
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{uuid.uuid4().hex}.part"  # unique: two sessions may save the same upload at once
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
        if check is not None:
            check(path)
    except BaseException:
        for leftover in (tmp, path):
            leftover.unlink(missing_ok=True)
        for empty in (folder, folder.parent):  # only when empty: another upload may live there
            with contextlib.suppress(OSError):
                empty.rmdir()
        raise
    return path

def upload_name(name: str) -> str:
    """A safe file name for an upload: no folders, not hidden, [A-Za-z0-9._-] only, extension kept."""
    base = re.split(r"[/\\]", name)[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", base).rstrip(".")
    if not safe or safe.startswith("."):
        safe = "upload" + safe  # '.csv' -> 'upload.csv'; '' -> 'upload'
    suffix = PurePosixPath(safe).suffix
    if len(suffix) > 16:  # not an extension, just a dot in a long name
        suffix = ""
    if len(safe) > MAX_NAME_CHARS:
        safe = safe[:MAX_NAME_CHARS - len(suffix)] + suffix
    return safe

def inspect_table(path: str | Path) -> dict[str, Any]:
    """Columns of an uploaded table and the guessed text/label columns, for the user to confirm."""
    df = tables.read_table(path)
    text_col, label_col = tables.detect_columns(df)
    return {"columns": list(df.columns), "text_column": text_col, "label_column": label_col,
            "summary": tables.column_summary(df), "rows": len(df)}
