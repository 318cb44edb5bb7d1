"""The run index: an SQLite database in the workspace that lists every run and its per-epoch metrics.

The run folders stay the source of truth (weights, vocabulary, run.json, history.jsonl); this
database only indexes them, so pages list runs, filter and sort them, and draw their curves
without opening every folder. It can always be rebuilt from the folders (runs.rebuild: `reindex`,
the CLI's `runs reindex`), and a workspace that has none yet, or one that is damaged, gets it
rebuilt on first use. Saved word-vector sets are indexed here too.

Written by several processes at once (the app's training children, a CLI run beside it): WAL
mode, short transactions, and a busy timeout; a database still locked after that is a plain
RunError, never a crashed page. The schema has one version number (`PRAGMA user_version`) and a
list of migrations, applied in order when an older database is opened.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import RunError, error_to_dict, msg

DB_NAME = "index.sqlite"
BUSY_S = 5.0  # how long a writer waits for another process's transaction before giving up
MIGRATIONS: list[str] = [  # MIGRATIONS[i] takes a database from version i to i + 1
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, task TEXT, dataset TEXT, model TEXT, parameters INTEGER,
        device TEXT, status TEXT NOT NULL, created TEXT, updated REAL, seconds REAL,
        val_accuracy REAL, val_loss REAL, test_accuracy REAL, tags TEXT NOT NULL DEFAULT '[]',
        parent TEXT, sweep TEXT, record TEXT NOT NULL);
    CREATE INDEX runs_by_created ON runs (created);
    CREATE INDEX runs_by_sweep ON runs (sweep);
    CREATE TABLE epochs (
        run_id TEXT NOT NULL, epoch INTEGER NOT NULL, step INTEGER, wall REAL, metrics TEXT NOT NULL,
        PRIMARY KEY (run_id, epoch));
    CREATE TABLE vector_sets (id TEXT PRIMARY KEY, created REAL, meta TEXT NOT NULL);
    CREATE TABLE damaged (kind TEXT NOT NULL, id TEXT NOT NULL, message TEXT, hint TEXT, PRIMARY KEY (kind, id));
    """,
    # the error of a damaged entry with its message keys (errors.error_to_dict as JSON), so it shows translated
    """
    ALTER TABLE damaged ADD COLUMN error TEXT;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

_ready: set[tuple[str, int]] = set()  # (database path, pid) opened and brought up to date in this process
_ready_lock = threading.RLock()  # re-entered: _ensure sets a damaged file aside while holding it


def index_path(home: Path | str | None = None) -> Path:
    from .store import home_dir

    return home_dir(home) / DB_NAME


def busy_error() -> RunError:
    return RunError(msg("errors.index.busy",
                        "The run list is busy: another BigModel Lab window or command is writing to it."),
                    msg("errors.index.busy.hint", "Wait a few seconds and try again; if it stays busy, close the "
                        "other program using this workspace."))


class _Damaged(Exception):
    """The database file turned out damaged while in use: it has been set aside; try once more."""


@contextmanager
def connect(home: Path | str | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to the workspace's index (created, migrated or rebuilt first); commits on success.

    sqlite's "locked"/"busy" becomes `busy_error()`. A file that is not a database, or one found
    damaged ("malformed") while in use, is moved aside (index.sqlite.damaged-TIME): the public
    functions below then rebuild the index from the run folders and try once more (`_retried`).
    """
    path = index_path(home)
    _ensure(path, home)
    try:
        conn = _open(path)
    except sqlite3.OperationalError as exc:
        raise _as_run_error(exc) from None
    except sqlite3.DatabaseError:
        _set_aside(path)
        raise _Damaged() from None
    try:
        yield conn
        conn.commit()
    except sqlite3.OperationalError as exc:
        conn.rollback()
        if "malformed" in str(exc).lower():
            conn.close()
            _set_aside(path)
            raise _Damaged() from None
        raise _as_run_error(exc) from None
    except sqlite3.DatabaseError:
        conn.close()
        _set_aside(path)
        raise _Damaged() from None
    finally:
        conn.close()


def _retried(fn):
    """Run `fn`; if the database was found damaged (and set aside), rebuild it and run `fn` once more."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _Damaged:
            try:
                return fn(*args, **kwargs)  # connect() re-creates the database and reindexes the folders first
            except _Damaged:
                raise RunError(msg("errors.index.unrebuildable", "The run list is damaged and could not be rebuilt."),
                               msg("errors.index.unrebuildable.hint", "Run `python -m bigmodel_core runs reindex`; "
                                   "if that fails, check the disk.")) from None
    return wrapper


def _set_aside(path: Path) -> None:
    """Move a damaged database out of the way (kept for a post-mortem); the next use rebuilds it."""
    with _ready_lock:
        if path.exists():
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            try:
                os.replace(path, aside)
            except OSError:
                pass  # another process moved it first
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        for key in [k for k in _ready if k[0] == str(path)]:
            _ready.discard(key)


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_S, isolation_level="DEFERRED")
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: a power cut may lose the last commit, never the file
    return conn


def _as_run_error(exc: sqlite3.DatabaseError) -> RunError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return busy_error()
    return RunError(msg("errors.index.unreadable", "The run list could not be read ({error}).", error=str(exc)),
                    msg("errors.index.unreadable.hint",
                        "Run `python -m bigmodel_core runs reindex` to rebuild it from the run folders."))


def _ensure(path: Path, home: Path | str | None) -> None:
    """Create or migrate the database the first time this process opens it; import existing runs if new."""
    key = (str(path), os.getpid())
    if key in _ready and path.exists():  # a file deleted under a running process is created anew
        return
    with _ready_lock:
        if key in _ready and path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        try:
            fresh = _migrate(path) or fresh
        except sqlite3.OperationalError as exc:
            if "malformed" not in str(exc).lower():
                raise _as_run_error(exc) from None
            _set_aside(path)
            _migrate(path)
            fresh = True
        except sqlite3.DatabaseError:  # not a database (or a damaged one): it is only an index, so rebuild it
            _set_aside(path)
            _migrate(path)
            fresh = True
        _ready.add(key)
    from .rebuild import reconcile, reindex

    if fresh:
        reindex(home)
    else:
        reconcile(home)


def _migrate(path: Path) -> bool:
    """Bring the schema up to SCHEMA_VERSION in one write transaction; True when it was created now.

    BEGIN IMMEDIATE takes the write lock before the version is read, so several processes opening
    a new workspace at once create the tables once: the others wait, then find them there.
    """
    conn = sqlite3.connect(path, timeout=BUSY_S, isolation_level=None)  # autocommit: the BEGIN below is ours
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunError(msg("errors.index.newer", "The run list was written by a newer BigModel Lab "
                                   "(schema {version}).", version=version),
                               msg("errors.index.newer.hint",
                                   "Update BigModel Lab, or delete index.sqlite in the workspace to rebuild it."))
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return version == 0
    finally:
        conn.close()


# --- runs -------------------------------------------------------------------------------------

def _row(info: Any) -> dict[str, Any]:
    from .info import RunInfo

    assert isinstance(info, RunInfo)
    m = info.metrics or {}
    sweep = (info.config.sweep or {}).get("id") if isinstance(info.config.sweep, dict) else None
    return {"id": info.id, "name": info.name, "task": info.task, "dataset": info.config.data.spec,
            "model": info.model_name, "parameters": info.parameters, "device": info.device, "status": info.status,
            "created": info.created, "updated": time.time(), "seconds": info.seconds,
            "val_accuracy": _num(m.get("val_accuracy")), "val_loss": _num(m.get("val_loss")),
            "test_accuracy": _num(m.get("test_accuracy")), "tags": json.dumps(list(info.tags)),
            "parent": info.parent, "sweep": sweep, "record": json.dumps({**info.to_dict(), "path": info.path})}


def _num(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@_retried
def put_run(info: Any, home: Path | str | None = None, epochs: Optional[list[dict[str, Any]]] = None,
            epoch: Optional[dict[str, Any]] = None) -> None:
    """Insert or replace a run's row; with `epochs`, its per-epoch rows are replaced too; `epoch`
    adds (or replaces) one epoch's row in the same transaction (the Recorder, after each epoch)."""
    row = _row(info)
    with connect(home) as conn:
        if epoch is not None:
            _insert_epochs(conn, info.id, [epoch])
        conn.execute(f"INSERT OR REPLACE INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     list(row.values()))
        conn.execute("DELETE FROM damaged WHERE kind = 'run' AND id = ?", (info.id,))
        if epochs is not None:
            conn.execute("DELETE FROM epochs WHERE run_id = ?", (info.id,))
            _insert_epochs(conn, info.id, epochs)


def _insert_epochs(conn: sqlite3.Connection, run_id: str, rows: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO epochs (run_id, epoch, step, wall, metrics) VALUES (?, ?, ?, ?, ?)",
        [(run_id, int(r["epoch"]), r.get("step"), r.get("wall"),
          json.dumps({k: v for k, v in r.items() if k not in ("epoch", "step", "wall")})) for r in rows])


@_retried
def drop_run(run_id: str, home: Path | str | None = None) -> None:
    with connect(home) as conn:
        conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        conn.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM damaged WHERE kind = 'run' AND id = ?", (run_id,))


@_retried
def run_epochs(run_id: str, home: Path | str | None = None) -> list[dict[str, Any]]:
    """A run's epoch rows, in order: {"epoch", "step", "wall", **metrics}."""
    with connect(home) as conn:
        rows = conn.execute("SELECT epoch, step, wall, metrics FROM epochs WHERE run_id = ? ORDER BY epoch",
                            (run_id,)).fetchall()
    out = []
    for r in rows:
        try:
            metrics = json.loads(r["metrics"])
        except ValueError:
            continue  # one bad row: the others still draw
        if isinstance(metrics, dict):
            out.append({**metrics, "epoch": r["epoch"], "step": r["step"], "wall": r["wall"]})
    return out


@_retried
def query_runs(home: Path | str | None = None, task: Optional[str] = None,
               sweep: Optional[str] = None) -> tuple[list[Any], list[dict[str, str]]]:
    """(runs newest first, damaged runs as {"id", "message", "hint"}), from the index alone.

    A run still marked running whose process is gone becomes "interrupted" here (in its run.json
    and its row), so the first listing after a crash shows it as such.
    """
    from .info import RunInfo
    from .store import damaged as damaged_error

    where, args = [], []
    if task:
        where.append("task = ?")
        args.append(task)
    if sweep:
        where.append("sweep = ?")
        args.append(sweep)
    sql = "SELECT id, record FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + \
        " ORDER BY created DESC, id DESC"
    from .store import home_dir

    folder = home_dir(home) / "runs"
    with connect(home) as conn:
        rows = conn.execute(sql, args).fetchall()
        bad = [damaged_entry(r["id"], r["message"], r["hint"], r["error"])
               for r in conn.execute("SELECT id, message, hint, error FROM damaged WHERE kind = 'run' ORDER BY id")]
    good: list[RunInfo] = []
    for r in rows:
        try:
            data = json.loads(r["record"])
            info = RunInfo.from_dict(data, path=str(folder / r["id"]))  # where it is now: the workspace may have moved
        except Exception:  # noqa: BLE001 - a damaged row is reported, never a crashed page
            err = damaged_error(r["id"], msg("errors.index.why.bad_entry", "its entry in the run list is not readable"))
            err.hint = msg("errors.index.bad_entry.hint",
                           "Run `python -m bigmodel_core runs reindex` to rebuild the list from the run folders.")
            bad.append({"id": r["id"], **_error_fields(err)})
            continue
        if info.status == "running" and not _owner_running(info):
            info = _mark_interrupted(info, home)
        if info is not None:
            good.append(info)
    return good, bad


def damaged_error_json(exc: RunError) -> str:
    """What the damaged table's `error` column keeps of an error: its message keys, as JSON."""
    return json.dumps(_error_fields(exc))


def _error_fields(exc: Any) -> dict[str, Any]:
    return {k: v for k, v in error_to_dict(exc).items() if k in ("message", "hint", "message_msg", "hint_msg")}


def damaged_entry(run_id: str, message: Optional[str], hint: Optional[str], error: Optional[str]) -> dict[str, Any]:
    """{"id", "message", "hint"} of a damaged run, with "message_msg"/"hint_msg" (errors.error_texts reads them)."""
    out: dict[str, Any] = {"id": run_id, "message": message, "hint": hint}
    try:
        kept = json.loads(error) if error else None
    except ValueError:
        kept = None
    if isinstance(kept, dict):
        out.update({k: kept[k] for k in ("message_msg", "hint_msg") if isinstance(kept.get(k), dict)})
    return out


def _owner_running(info: Any) -> bool:
    from .workspace import _owner_alive

    owner = info.owner
    return isinstance(owner, dict) and _owner_alive(owner)


def _mark_interrupted(info: Any, home: Path | str | None) -> Any:
    """A running run whose process has died: it is interrupted (resumable from its last checkpoint)."""
    from .store import CHECKPOINT, mark_status

    if info.path and not (Path(info.path) / CHECKPOINT).exists():
        _remove_unfinished(info, home)  # died before its first epoch ended: nothing learned, nothing kept
        return None
    try:
        return mark_status(info.id, "interrupted", home=home,
                           reason=msg("engine.index.owner_died", "the program training it stopped before the run "
                                      "ended"))
    except RunError:
        return info  # its folder is gone or unreadable: the next reconcile drops or reports it


def _remove_unfinished(info: Any, home: Path | str | None) -> None:
    import shutil

    from .store import runs_dir

    folder = Path(info.path)
    if folder.parent.resolve() == runs_dir(home) and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)
    drop_run(info.id, home)


# --- word-vector sets ---------------------------------------------------------------------------

@_retried
def put_vector_set(meta: dict[str, Any], home: Path | str | None = None) -> None:
    with connect(home) as conn:
        conn.execute("INSERT OR REPLACE INTO vector_sets (id, created, meta) VALUES (?, ?, ?)",
                     (meta["id"], _num(meta.get("created")), json.dumps(meta)))


@_retried
def query_vector_sets(home: Path | str | None = None) -> list[dict[str, Any]]:
    """The meta of every indexed vector set, newest first (a row that does not parse is left out)."""
    with connect(home) as conn:
        rows = conn.execute("SELECT meta FROM vector_sets ORDER BY created DESC, id DESC").fetchall()
    out = []
    for r in rows:
        try:
            meta = json.loads(r["meta"])
        except ValueError:
            continue
        if isinstance(meta, dict):
            out.append(meta)
    return out
