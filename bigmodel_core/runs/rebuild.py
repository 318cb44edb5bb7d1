"""Rebuilding the run index from the folders: all of it (`reindex`), or only what changed (`reconcile`).

The folders are the truth and the index a cache of them. A new or damaged index is rebuilt whole;
at a process's first use, and whenever a listing sees that the runs/ or vectors/ folder changed
(one stat each), `reconcile` indexes folders the index lacks, drops rows whose folder is gone, and
reads damaged runs again (one restored from a backup lists again without a reindex).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from ..errors import RunError
from .index import _insert_epochs, _num, _retried, _row, connect, damaged_error_json, index_path

@_retried
def reindex(home: Path | str | None = None) -> dict[str, int]:
    """Rebuild the whole index from the run and vector-set folders; returns what it found."""
    runs, sets, damaged = _read_folders(home, None)
    _store(home, runs, sets, damaged, clear=True)  # one transaction: no other process sees an empty list
    return {"runs": len(runs), "vector_sets": len(sets), "damaged": len(damaged)}


_seen_mtimes: dict[str, tuple[int, int]] = {}  # database path -> (runs/, vectors/) mtimes at the last check


@_retried
def refresh_if_changed(home: Path | str | None = None) -> None:
    """Reconcile when a run or vector-set folder was added, renamed or removed since the last look.

    One stat() of each of the two folders per listing (a folder's mtime moves when an entry in it
    does): runs copied in or removed by hand, or by an older version, show up without a reindex.
    """
    from .store import home_dir

    def mtime(folder: Path) -> int:
        try:
            return folder.stat().st_mtime_ns
        except OSError:
            return 0

    from .index import _ensure

    _ensure(index_path(home), home)
    key = str(index_path(home))
    with connect(home) as conn:
        damaged = [r[0] for r in conn.execute("SELECT id FROM damaged WHERE kind = 'run'")]
    runs = home_dir(home) / "runs"  # a damaged run's run.json put right also counts as a change
    now = (mtime(runs), mtime(_vectors_dir(home)), *(mtime(runs / d / "run.json") for d in damaged))
    if _seen_mtimes.get(key) != now:
        _seen_mtimes[key] = now
        reconcile(home)


@_retried
def reconcile(home: Path | str | None = None) -> None:
    """Cheap check at a process's first use: index folders the index lacks, drop rows whose folder is gone."""
    from .store import home_dir

    with connect(home) as conn:  # damaged ones count as unknown: a folder restored from a backup is read again
        known_runs = {r[0] for r in conn.execute("SELECT id FROM runs")}
        known_sets = {r[0] for r in conn.execute("SELECT id FROM vector_sets")}
        damaged = {(r[0], r[1]) for r in conn.execute("SELECT kind, id FROM damaged")}
    on_disk_runs = {p.name for p in _children(home_dir(home) / "runs") if (p / "run.json").exists()}
    on_disk_sets = {p.name for p in _children(_vectors_dir(home))}
    gone_runs = (known_runs | {i for k, i in damaged if k == "run"}) - on_disk_runs
    gone_sets = (known_sets | {i for k, i in damaged if k == "vectors"}) - on_disk_sets
    if gone_runs or gone_sets:
        with connect(home) as conn:
            for rid in gone_runs:
                for sql in ("DELETE FROM runs WHERE id = ?", "DELETE FROM epochs WHERE run_id = ?",
                            "DELETE FROM damaged WHERE kind = 'run' AND id = ?"):
                    conn.execute(sql, (rid,))
            for sid in gone_sets:
                conn.execute("DELETE FROM vector_sets WHERE id = ?", (sid,))
                conn.execute("DELETE FROM damaged WHERE kind = 'vectors' AND id = ?", (sid,))
    new = {"runs": on_disk_runs - known_runs, "sets": on_disk_sets - known_sets}
    if new["runs"] or new["sets"]:
        _store(home, *_read_folders(home, new))


def _children(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def _vectors_dir(home: Path | str | None) -> Path:
    from .store import home_dir

    return home_dir(home) / "vectors"


def _read_folders(home: Path | str | None, only: Optional[dict[str, set[str]]]):
    from .store import home_dir, read_epoch_rows, read_run

    runs, sets, damaged = [], [], []
    for path in sorted(_children(home_dir(home) / "runs")):
        if not (path / "run.json").exists() or (only is not None and path.name not in only["runs"]):
            continue
        try:
            info = read_run(path)
            runs.append((info, read_epoch_rows(path)))
        except RunError as exc:
            damaged.append(("run", path.name, exc.message, exc.hint, damaged_error_json(exc)))
    from ..embeddings.sets import META, read_set_meta
    from ..errors import DataError

    for path in sorted(_children(_vectors_dir(home))):
        if not (path / META).is_file() or (only is not None and path.name not in only["sets"]):
            continue
        try:
            sets.append(read_set_meta(path))
        except DataError as exc:
            damaged.append(("vectors", path.name, exc.message, exc.hint, damaged_error_json(exc)))
    return runs, sets, damaged


def _store(home, runs, sets, damaged, clear: bool = False) -> None:
    rows = [(_row(info), epochs) for info, epochs in runs]
    with connect(home) as conn:
        if clear:
            for table in ("runs", "epochs", "vector_sets", "damaged"):
                conn.execute(f"DELETE FROM {table}")
        for row, epochs in rows:
            conn.execute(f"INSERT OR REPLACE INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                         list(row.values()))
            conn.execute("DELETE FROM epochs WHERE run_id = ?", (row["id"],))
            conn.execute("DELETE FROM damaged WHERE kind = 'run' AND id = ?", (row["id"],))
            _insert_epochs(conn, row["id"], epochs)
        for meta in sets:
            meta = {k: v for k, v in meta.items() if k != "path"}
            conn.execute("INSERT OR REPLACE INTO vector_sets (id, created, meta) VALUES (?, ?, ?)",
                         (meta.get("id"), _num(meta.get("created")), json.dumps(meta)))
            conn.execute("DELETE FROM damaged WHERE kind = 'vectors' AND id = ?", (meta.get("id"),))
        conn.executemany("INSERT OR REPLACE INTO damaged (kind, id, message, hint, error) VALUES (?, ?, ?, ?, ?)",
                         damaged)
