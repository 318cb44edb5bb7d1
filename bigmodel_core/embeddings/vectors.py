"""Loading word vectors as gensim KeyedVectors: saved sets (memory-mapped) and GloVe/word2vec files.

What is memory-mapped and what is not:

* A saved set (trained here, or imported with `import_vectors`) keeps its matrix in
  `vectors.npy`, opened with `np.load(mmap_mode="r")`; the KeyedVectors is built over that
  read-only map without a copy. Pages of the file are read when a query touches them and stay
  in the OS page cache, not in the app's memory. In memory are the vocabulary (the word list and
  its word -> row dict, about 100 bytes a word) and, after the first query, one norm per word.
  A query that scans all words (neighbours, analogies) touches the whole matrix once.
* Text files (GloVe, word2vec .txt) cannot be mapped: their numbers must be parsed. They are
  read into memory (vocab x dim x 4 bytes: GloVe 6B 100d is 160 MB); `limit` keeps only the
  first, most frequent words. word2vec binary files interleave words and numbers, so they are
  read into memory too. `import_vectors` converts any file once into a saved set, after which
  loading it is instant and mapped.

No path here unpickles anything: sets are .npy (allow_pickle=False) + JSON, files are parsed.
`load_vectors` tags the KeyedVectors with `kv.bigmodel` = {"id", "dir", "source", "format",
"mmap"}, so projections know where to cache their results.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..errors import DataError, did_you_mean, msg
from ..runs.store import home_dir
from .formats import FORMATS, Progress, detect_format, read_vectors_file
from .glove import GLOVE, download_glove, glove_info  # noqa: F401  (re-exported for the UI)
from .sets import (
    list_vector_sets,  # noqa: F401  (re-exported for the UI)
    new_set_id,
    no_such_set,
    read_set_arrays,
    read_set_meta,
    resolve_set,
    save_vector_set,
)

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

LOAD_FORMATS = ("auto", "set") + FORMATS


def keyed_vectors(words: Sequence[str], matrix: np.ndarray,
                  counts: Optional[Sequence[int]] = None) -> "KeyedVectors":
    """A KeyedVectors over `matrix` as it is (no copy: a memmap stays a memmap)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(int(matrix.shape[1]), count=0, dtype=np.float32)
    kv.vectors = matrix
    kv.index_to_key = list(words)
    kv.key_to_index = {w: i for i, w in enumerate(kv.index_to_key)}
    kv.next_index = len(kv.index_to_key)
    if counts is not None:
        kv.expandos["count"] = np.asarray(counts, dtype=np.int64)
    return kv


def load_vectors(path_or_id: str | Path, home: Path | str | None = None, fmt: str = "auto",
                 limit: Optional[int] = None) -> "KeyedVectors":
    """Load a saved set (by id or folder) or a vectors file.

    Args:
        path_or_id: a saved set's id or folder, or a GloVe / word2vec text / word2vec binary file.
        fmt: "auto" (detected from the content), "set", "glove", "word2vec", "word2vec-binary".
        limit: keep only the first `limit` words (files list the most frequent first).

    Raises:
        DataError: no such set or file, or a file that cannot be read (the message names the line).
    """
    if fmt not in LOAD_FORMATS:
        raise DataError(msg("errors.vectors.format", "'{fmt}' is not a vectors format.", fmt=fmt),
                        did_you_mean(fmt, LOAD_FORMATS))
    set_dir = resolve_set(path_or_id, home)
    if set_dir is not None and fmt in ("auto", "set"):
        return _load_set(set_dir, limit)
    path = Path(path_or_id)
    if fmt == "set" or not path.is_file():
        raise no_such_set(str(path_or_id), home)
    fmt = detect_format(path) if fmt == "auto" else fmt
    words, matrix = read_vectors_file(path, fmt, limit)
    kv = keyed_vectors(words, matrix)
    kv.bigmodel = {"id": None, "dir": None, "source": path.name, "format": fmt, "mmap": False}
    return kv


def _load_set(path: Path, limit: Optional[int]) -> "KeyedVectors":
    meta = read_set_meta(path)
    words, matrix, counts = read_set_arrays(path)
    if limit:
        words, matrix = words[:limit], matrix[:limit]
        counts = counts[:limit] if counts is not None else None
    kv = keyed_vectors(words, matrix, counts)
    kv.bigmodel = {"id": meta.get("id", path.name), "dir": str(path), "source": meta.get("source", ""),
                   "format": "set", "mmap": isinstance(matrix, np.memmap), "limit": limit}
    return kv


def import_vectors(path: str | Path, title: Optional[str] = None, home: Path | str | None = None,
                   fmt: str = "auto", limit: Optional[int] = None,
                   progress: Optional[Progress] = None, kind: str = "imported") -> dict[str, Any]:
    """Read a GloVe / word2vec file once and save it as a set, so later loads are instant and mapped.

    Returns the new set's meta (with "id" and "path"); `load_vectors(meta["id"])` loads it.
    """
    path = Path(path)
    if not path.is_file():
        raise no_such_set(str(path), home)
    if limit is not None and limit < 1:
        raise DataError(msg("errors.vectors.limit", "Keeping {limit} words would keep none.", limit=limit),
                        msg("errors.vectors.limit.hint", "Keep at least 1 word, or all of them."))
    fmt = detect_format(path) if fmt == "auto" else fmt
    words, matrix = read_vectors_file(path, fmt, limit, progress)
    meta = {"id": new_set_id(kind if kind != "imported" else "import"), "kind": kind, "title": title or path.stem,
            "source": f"{path.name} ({fmt})", "format": fmt, "limit": limit}
    return save_vector_set(words, matrix, meta, home=home)


def import_glove(dim: int, limit: Optional[int] = None, home: Path | str | None = None,
                 download_progress: Optional[Progress] = None, import_progress: Optional[Progress] = None,
                 base_url: Optional[str] = None) -> dict[str, Any]:
    """GloVe 6B `dim`d as a saved set: downloaded (once, 822 MB) and imported, or the set made before.

    `limit` keeps the most frequent words (GloVe lists them first); None keeps all 400,000.
    """
    for meta in list_vector_sets(home):
        if meta.get("kind") == "glove" and meta.get("dim") == dim and meta.get("limit") == limit:
            return meta
    path = download_glove(dim, home, download_progress, base_url=base_url)
    return import_vectors(path, title=f"GloVe 6B {dim}d" + (f" (top {limit:,} words)" if limit else ""), home=home,
                          fmt="glove", limit=limit, progress=import_progress, kind="glove")


def vectors_info(kv: "KeyedVectors") -> dict[str, Any]:
    """Vocabulary size, dimensions and where the vectors came from, for the page header."""
    return {"vocab_size": len(kv.index_to_key), "dim": int(kv.vector_size),
            **getattr(kv, "bigmodel", {"id": None, "dir": None, "source": "", "format": "", "mmap": False})}


def import_uploaded_vectors(name: str, data: bytes, limit: Optional[int] = None, progress=None,
                            home: str | Path | None = None) -> dict[str, Any]:
    """Save an uploaded GloVe / word2vec file as a vector set (the upload itself is not kept)."""
    import shutil
    import tempfile

    from ..data.uploads import upload_name

    if not data:
        raise DataError(msg("errors.vectors.empty_upload", "The file '{name}' is empty.", name=name),
                        msg("errors.vectors.empty_upload.hint",
                            "Upload a GloVe .txt, word2vec .txt or word2vec .bin file."))
    folder = Path(tempfile.mkdtemp(prefix=".upload-", dir=home_dir(home)))
    try:
        path = folder / upload_name(name)
        path.write_bytes(data)
        return import_vectors(path, title=Path(name).stem, limit=limit, progress=progress, home=home)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
