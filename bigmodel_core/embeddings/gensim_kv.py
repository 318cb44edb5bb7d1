"""Reading gensim's own KeyedVectors files (`kv.save("x.kv")`) without unpickling anything that runs code.

gensim saves KeyedVectors as a pickle of the object (protocol 4), with numpy arrays either inside
it or, when big, beside it as `x.kv.<attribute>.npy` (listed in the pickle's `__numpys`). A
pickle can name any callable to run while it loads, so gensim's own `KeyedVectors.load` is not
used. Instead the restricted unpickler of `data.numpy_pickle` (plain containers and numeric
arrays, rebuilt with np.frombuffer) is given one more stand-in: the KeyedVectors class becomes
an inert object that only records the attribute dict the pickle carries. The words
(`index_to_key`) and the matrix (`vectors`) are taken from that dict and checked; any other
global the file asks for (os.system, eval, a Word2Vec model, ...) is refused.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..data.images.numpy_pickle import (
    PICKLE_GLOBALS,
    NumpyOnlyUnpickler,
    RefusedPickle,
    _materialize,
    _refused_pickle,
)
from ..errors import DataError, msg
from .formats import MAX_DIM

PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
KV_CLASSES = {("gensim.models.keyedvectors", "KeyedVectors")}  # what Word2Vec's and GloVe's model.wv save
OLD_CLASSES = {"Word2VecKeyedVectors", "EuclideanKeyedVectors", "Vocab"}  # gensim 3.x
HINT = msg("errors.gensim_kv.hint",
           "Save the vectors with gensim 4 as `model.wv.save('vectors.kv')`, or in word2vec format.")


class _Saved:
    """Stand-in for a pickled KeyedVectors: keeps the attribute dict it is given, runs nothing."""

    def __init__(self, *args: object) -> None:
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _KVUnpickler(NumpyOnlyUnpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in KV_CLASSES:
            return _Saved
        if name in OLD_CLASSES and module.startswith("gensim."):
            raise _refused_pickle(f"old:{name}")
        if name == "FastTextKeyedVectors":  # its vectors are rebuilt from character n-grams by gensim at load time
            raise _refused_pickle("fasttext")
        if module.startswith("gensim.models.") and name[:1].isupper():
            raise _refused_pickle(f"model:{name}")
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        if module == "copyreg" and name == "_reconstructor":  # how protocol-2 pickles build plain objects
            return _reconstructor
        raise _refused_pickle(f"run {module}.{name}")


def _reconstructor(cls: object, base: object, state: object) -> object:
    if cls is not _Saved:
        raise _refused_pickle("build an object that is not word vectors")
    return _Saved()


def is_gensim_file(head: bytes) -> bool:
    """A pickle (gensim saves with protocol 4); what is inside is checked while reading."""
    return head.startswith(PICKLE_MAGIC)


def read_gensim(path: Path, limit: Optional[int] = None) -> tuple[list[str], np.ndarray]:
    """(words, float32 matrix) of a gensim 4 KeyedVectors file, at most `limit` words."""
    name = path.name
    try:
        root = _KVUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
        if not isinstance(root, _Saved) or not isinstance(root.state, dict):
            raise DataError(msg("errors.gensim_kv.not_kv", "{name} is a pickle, but not of gensim KeyedVectors.",
                                name=name), HINT)
        state: dict[str, Any] = {(k.decode() if isinstance(k, bytes) else k): v for k, v in root.state.items()}
        words = _materialize(state.get("index_to_key"))
        vectors = _materialize(state.get("vectors"))
    except RefusedPickle as e:
        if e.action == "fasttext":
            raise DataError(msg("errors.gensim_kv.fasttext",
                                "{name} holds FastText vectors, which gensim rebuilds from character n-grams while "
                                "loading, so they cannot be read here without running its code.", name=name),
                            msg("errors.gensim_kv.fasttext.hint",
                                "Save them in word2vec format: `model.wv.save_word2vec_format('vectors.txt')`, "
                                "then load that file.")) from None
        if e.action.startswith("model:"):
            raise DataError(msg("errors.gensim_kv.whole_model",
                                "{name} is a whole gensim {model} model, not its word vectors.",
                                name=name, model=e.action[6:]),
                            msg("errors.gensim_kv.whole_model.hint",
                                "Save just the vectors: `model.wv.save('vectors.kv')`, then load that file.")) from None
        if e.action.startswith("old:"):
            raise DataError(msg("errors.gensim_kv.gensim3",
                                "{name} was saved by gensim 3 ({cls}), whose files cannot be read safely here.",
                                name=name, cls=e.action[4:]), HINT) from None
        raise DataError(msg("errors.gensim_kv.refused",
                            "The file {name} asks to {action} while being read, which BigModel Lab never allows, "
                            "so it was not read.", name=name, action=e.action), HINT) from None
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError, IndexError, KeyError,
            RecursionError, MemoryError, UnicodeDecodeError) as e:
        raise DataError(msg("errors.gensim_kv.damaged", "{name} is a damaged gensim file ({error}).",
                            name=name, error=type(e).__name__), HINT) from None
    if vectors is None and "vectors" in [_text(n) for n in (state.get("__numpys") or [])]:
        vectors = _side_array(path, "vectors")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise DataError(msg("errors.gensim_kv.no_words", "{name} holds no word list (index_to_key).", name=name),
                        HINT)
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[0] != len(words) or not len(words):
        raise DataError(msg("errors.gensim_kv.no_matrix", "{name} holds no matrix of one vector per word.",
                            name=name), HINT)
    if not 1 <= vectors.shape[1] <= MAX_DIM:
        raise DataError(msg("errors.gensim_kv.width",
                            "{name} holds vectors of {width} numbers, which is no word-vector width.",
                            name=name, width=vectors.shape[1]),
                        msg("errors.gensim_kv.width.hint",
                            "Word vectors have 1 to {max:,} numbers each; the file is probably damaged.", max=MAX_DIM))
    n = min(limit, len(words)) if limit else len(words)
    matrix = np.asarray(vectors[:n], dtype=np.float32)
    if not np.isfinite(matrix).all():
        raise DataError(msg("errors.gensim_kv.not_finite", "{name} holds a value that is not a finite number.",
                            name=name),
                        msg("errors.gensim_kv.not_finite.hint", "The file is probably damaged."))
    return list(words[:n]), matrix


def _side_array(path: Path, attr: str) -> np.ndarray:
    side = path.with_name(f"{path.name}.{attr}.npy")
    try:
        return np.load(side, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        raise DataError(msg("errors.gensim_kv.side_file",
                            "The vectors of {name} are kept in {side}, which is missing or damaged.",
                            name=path.name, side=side.name),
                        msg("errors.gensim_kv.side_file.hint",
                            "gensim saves big matrices beside the .kv file: put that file next to it and load the .kv "
                            "by its path (an upload cannot bring the second file).")) from None


def _text(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value
