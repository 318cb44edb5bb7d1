"""The saved vector sets: one folder per set in BIGMODEL_HOME/vectors, written atomically, read without pickle.

Layout of `BIGMODEL_HOME/vectors/<id>/`:

    meta.json     what the set is: id, kind, source, settings, vocab_size, dim, losses, created, ...
    vocab.json    {"words": [...], "counts": [...] | null}; row i of the matrix is words[i]
    vectors.npy   float32 (vocab_size, dim); opened memory-mapped, never unpickled (allow_pickle=False)
    vectors.bin   the same vectors in word2vec binary format, for other tools (trained sets)
    projections/  cached 2-D/3-D maps, .npy + .json (see projection.py)

A set is written into a hidden `.tmp-<id>` folder and renamed into place as a whole, so a crash
or a Stop never leaves half a set in the list. Sets are never changed after they are written,
which is what lets projections be cached by set id.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import DataError, RunError, msg
from ..runs.store import home_dir, new_run_id
from ..runs.workspace import AtomicFolder, sweep_once

META, VOCAB, MATRIX, WORD2VEC_BIN = "meta.json", "vocab.json", "vectors.npy", "vectors.bin"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


def vectors_dir(home: Path | str | None = None) -> Path:
    """`BIGMODEL_HOME/vectors`, created when missing."""
    path = home_dir(home) / "vectors"
    path.mkdir(parents=True, exist_ok=True)
    sweep_once(path)
    return path


def new_set_id(kind: str) -> str:
    """A sortable, unique folder name: `20250101-120000-<kind>-ab12` (named like runs)."""
    return new_run_id(kind)


def save_vector_set(
    words: Sequence[str],
    matrix: np.ndarray,
    meta: dict[str, Any],
    counts: Optional[Sequence[int]] = None,
    home: Path | str | None = None,
    extra: Optional[Callable[[Path], None]] = None,
) -> dict[str, Any]:
    """Write a new set atomically and return its meta (with "path").

    Args:
        words: one word per matrix row, no duplicates.
        matrix: (len(words), dim) vectors; stored as float32.
        meta: must hold "id"; vocab_size, dim and created are filled in here.
        counts: how often each word was seen (None when the source does not say).
        extra: writes more files into the (temporary) set folder before it is committed.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"matrix {matrix.shape} does not match {len(words)} words")
    meta = {**meta, "vocab_size": len(words), "dim": int(matrix.shape[1]), "created": time.time()}
    folder = AtomicFolder(vectors_dir(home), meta["id"], "vector set")
    tmp = folder.tmp
    try:
        np.save(tmp / MATRIX, np.ascontiguousarray(matrix), allow_pickle=False)
        vocab = {"words": list(words), "counts": [int(c) for c in counts] if counts is not None else None}
        (tmp / VOCAB).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        if extra is not None:
            extra(tmp)
        (tmp / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        final = folder.commit()
    except BaseException:
        folder.discard()
        raise
    from ..runs import index

    try:
        index.put_vector_set(meta, home)
    except RunError:
        pass  # the index is busy: the set is saved, and the next start's reconcile lists it
    return {**meta, "path": str(final)}


def resolve_set(name: str | Path, home: Path | str | None = None) -> Optional[Path]:
    """The folder of a saved set given its id or its folder path; None when there is none."""
    path = Path(name)
    if path.is_dir() and (path / META).is_file():
        return path
    if isinstance(name, str) and _SAFE_ID.fullmatch(name):
        candidate = home_dir(home) / "vectors" / name  # a lookup creates no folder
        if (candidate / META).is_file():
            return candidate
    return None


def read_set_meta(path: Path) -> dict[str, Any]:
    """meta.json of a set folder, with "path" added; DataError when it cannot be read."""
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise _damaged(path) from None
    if not isinstance(meta, dict):
        raise _damaged(path)
    return {**meta, "path": str(path)}


def read_set_arrays(path: Path) -> tuple[list[str], np.ndarray, Optional[list[int]]]:
    """(words, matrix memory-mapped read-only, counts) of a set folder, checked for consistency."""
    try:
        vocab = json.loads((path / VOCAB).read_text(encoding="utf-8"))
        matrix = np.load(path / MATRIX, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        raise _damaged(path) from None
    if not isinstance(vocab, dict):
        raise _damaged(path)
    words, counts = vocab.get("words"), vocab.get("counts")
    if (not isinstance(words, list) or matrix.ndim != 2 or matrix.shape[0] != len(words)
            or matrix.dtype != np.float32 or (counts is not None and len(counts) != len(words))):
        raise _damaged(path)
    return words, matrix, counts


def list_vector_sets(home: Path | str | None = None) -> list[dict[str, Any]]:
    """The meta of every saved set, newest first, from the run index (damaged ones are reported there)."""
    from ..runs import index, rebuild

    folder = home_dir(home) / "vectors"
    if folder.is_dir():
        sweep_once(folder)  # stale temp folders of a killed save go first
    rebuild.refresh_if_changed(home)
    return [{**meta, "path": str(folder / meta["id"])} for meta in index.query_vector_sets(home)
            if isinstance(meta.get("id"), str) and _SAFE_ID.fullmatch(meta["id"])]


def no_such_set(name: str, home: Path | str | None = None) -> DataError:
    """The plain error for a set id or file that is not there, naming the sets that are."""
    known = [m["id"] for m in list_vector_sets(home) if "id" in m][:5]
    hint = (msg("errors.sets.no_such_set.hint_known", "Saved vector sets: {ids}.", ids=", ".join(known)) if known
            else msg("errors.sets.no_such_set.hint",
                     "Train word vectors on a dataset first, or load a GloVe or word2vec file."))
    return DataError(msg("errors.sets.no_such_set", "There is no vector set or vectors file called '{name}'.",
                         name=name), hint)


def _damaged(path: Path) -> DataError:
    return DataError(msg("errors.sets.damaged", "The saved vector set '{name}' is damaged and cannot be read.",
                         name=path.name),
                     msg("errors.sets.damaged.hint", "Delete it and train or import the vectors again."))
