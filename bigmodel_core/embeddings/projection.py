"""Maps of word vectors in 2-D or 3-D (PCA or t-SNE, scikit-learn), cached on disk, and how words lean to a class.

Vectors are scaled to unit length before projecting, so that the map shows directions (what
cosine similarity measures) rather than how frequent a word is (which mostly sets its length).
PCA is instant and keeps global structure (analogy offsets stay parallel); t-SNE takes seconds
to minutes and shows clusters, but distances between clusters mean little.

A map of a saved set is cached in its folder, `projections/<key>.npy` (coords) + `<key>.json`
(words, method, settings), keyed by method, dims, n, seed and a hash of the word list; sets never
change after they are saved, so a cached map never goes stale. No pickle: np.load(allow_pickle=False).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import numpy as np

from ..errors import InputError, msg
from .queries import spelling

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

MAX_WORDS = 10_000  # t-SNE on 10,000 words takes about a minute on two cores
METHODS = ("pca", "tsne")
CACHE_VERSION = 1  # bump when the computation changes, so old caches are not used


def project(kv: "KeyedVectors", words: Optional[Sequence[str]] = None, n: int = 2000, dims: int = 2,
            method: str = "pca", seed: int = 0, cache_dir: Path | str | None = None) -> dict[str, Any]:
    """Coordinates of words on a 2-D or 3-D map.

    Args:
        words: the words to place (unknown ones are listed in "missing"); None: the first `n`
            words of the vocabulary (the most frequent for Word2Vec and GloVe).
        n: how many words when `words` is None, 3 to 10,000.
        dims: 2 or 3. method: "pca" or "tsne" (init="pca", learning_rate="auto",
            perplexity=min(30, n - 1)).
        cache_dir: where to cache; default: the set's `projections/` folder (files: no cache).

    Returns:
        {"words", "coords" (len(words), dims) float32, "method", "dims", "seed", "seconds"
        (of this call), "compute_seconds", "cached", "missing", "explained_variance" (PCA)}.
    """
    if method not in METHODS:
        raise InputError(msg("errors.projection.method", "'{method}' is not a projection method.", method=method),
                         msg("errors.projection.method.hint", "Choose pca or tsne."))
    if dims not in (2, 3):
        raise InputError(msg("errors.projection.dims", "A map has 2 or 3 dimensions, not {dims}.", dims=dims),
                         msg("errors.projection.dims.hint", "Choose 2 or 3."))
    if not isinstance(n, int) or not 3 <= n <= MAX_WORDS:
        raise InputError(msg("errors.projection.n_words",
                             "The number of words on a map must be from 3 to {max:,}, not {n}.", max=MAX_WORDS, n=n),
                         msg("errors.projection.n_words.hint", "Choose between 3 and {max:,} words.", max=MAX_WORDS))
    started = time.perf_counter()
    chosen, missing = _choose(kv, words, n)
    folder = _cache_folder(kv, cache_dir)
    key = _cache_key(method, dims, n, seed, chosen)
    cached = _read_cache(folder, key) if folder else None
    if cached is not None:
        return {**cached, "missing": missing, "cached": True, "seconds": time.perf_counter() - started}
    rows = np.fromiter((kv.key_to_index[w] for w in chosen), dtype=np.int64, count=len(chosen))
    x = np.asarray(kv.vectors[rows], dtype=np.float32)  # (words, dim): copies only these rows
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    coords, extra = _fit(x, dims, method, seed)
    result = {"words": chosen, "coords": coords, "method": method, "dims": dims, "seed": seed,
              "compute_seconds": time.perf_counter() - started, **extra}
    if folder:
        _write_cache(folder, key, result)
    return {**result, "missing": missing, "cached": False, "seconds": time.perf_counter() - started}


def _choose(kv: "KeyedVectors", words: Optional[Sequence[str]], n: int) -> tuple[list[str], list[str]]:
    """(words to place, words asked for but not in the vocabulary)."""
    if words is None:
        chosen = list(kv.index_to_key[:n])
        missing: list[str] = []
    else:
        chosen, missing, seen = [], [], set()
        for w in words:
            w = w.strip()
            found = spelling(kv, w)
            if found is None:
                missing.append(w)
            elif found not in seen:
                seen.add(found)
                chosen.append(found)
        chosen = chosen[:MAX_WORDS]
    if len(chosen) < 3:
        if missing:
            hint = msg("errors.projection.too_few.hint_missing",
                       "Add more words, or check their spelling. Not found: {words}.", words=", ".join(missing[:5]))
        else:
            hint = msg("errors.projection.too_few.hint", "Add more words, or check their spelling.")
        raise InputError(msg("errors.projection.too_few",
                             "Only {n} of these words have vectors; a map needs at least 3.", n=len(chosen)), hint)
    return chosen, missing


def _fit(x: np.ndarray, dims: int, method: str, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    if method == "pca":
        from sklearn.decomposition import PCA

        k = min(dims, x.shape[1], x.shape[0])
        pca = PCA(n_components=k, random_state=seed)
        coords = pca.fit_transform(x)
        coords = np.pad(coords, ((0, 0), (0, dims - k)))  # vectors narrower than the map: flat axes
        return coords.astype(np.float32), {"explained_variance": [float(v) for v in pca.explained_variance_ratio_]}
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=dims, init="pca", learning_rate="auto", perplexity=float(min(30, len(x) - 1)),
                random_state=seed)
    return tsne.fit_transform(x).astype(np.float32), {}


# --- cache --------------------------------------------------------------------------------------
def _cache_folder(kv: "KeyedVectors", cache_dir: Path | str | None) -> Optional[Path]:
    if cache_dir is not None:
        return Path(cache_dir)
    set_dir = getattr(kv, "bigmodel", {}).get("dir")
    return Path(set_dir) / "projections" if set_dir else None


def _cache_key(method: str, dims: int, n: int, seed: int, words: list[str]) -> str:
    words_hash = hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()
    spec = json.dumps([CACHE_VERSION, method, dims, n, seed, words_hash])
    return f"{method}{dims}d-{hashlib.sha256(spec.encode()).hexdigest()[:20]}"


def _read_cache(folder: Path, key: str) -> Optional[dict[str, Any]]:
    try:
        info = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        coords = np.load(folder / f"{key}.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if coords.shape != (len(info.get("words", [])), info.get("dims")):
        return None  # damaged: computed again and rewritten
    return {**info, "coords": coords.astype(np.float32, copy=False)}


def _write_cache(folder: Path, key: str, result: dict[str, Any]) -> None:
    """coords as .npy, the rest as .json, each written to a temporary file and renamed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(folder / f"{key}.npy", lambda f: np.save(f, result["coords"], allow_pickle=False))
        info = {k: v for k, v in result.items() if k != "coords"}
        _atomic(folder / f"{key}.json", lambda f: f.write(json.dumps(info, ensure_ascii=False).encode("utf-8")))
    except OSError:
        pass  # a read-only or full disk only costs the cache, not the map


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- class lean ---------------------------------------------------------------------------------
def class_lean(kv_words: "KeyedVectors | Iterable[str]", dataset: Any, pipeline: Any,
               with_class: bool = False) -> dict[str, Any]:
    """How strongly each word leans to a class of a labelled dataset, to colour the map.

    For each word, the share of each class's texts that contain it is smoothed (add-one:
    (count + 1) / (texts + 2)) and compared as log-odds. All of the dataset's texts are used.

    Returns:
        Two classes: {word: score}, score > 0 leaning to class_names[1] (e.g. "positive"),
        < 0 to class_names[0]; 0.0 for words in no text. More classes: {word: score} where
        score is the one-vs-rest log-odds of the class the word leans to most. With
        `with_class=True`: {word: (class name or "", score)} for any number of classes.
    """
    words = list(kv_words.index_to_key if hasattr(kv_words, "index_to_key") else kv_words)
    wanted = set(words)
    names = list(dataset.class_names)
    labels = np.asarray(dataset.labels)
    docs = np.bincount(labels, minlength=len(names)).astype(np.float64)  # texts per class
    counts: dict[str, np.ndarray] = {}
    for text, label in zip(dataset.texts, labels):
        for tok in wanted.intersection(pipeline.tokens(text)):
            counts.setdefault(tok, np.zeros(len(names)))[label] += 1
    out: dict[str, Any] = {}
    for w in words:
        c = counts.get(w)
        if c is None:
            out[w] = ("", 0.0) if with_class else 0.0
            continue
        if len(names) == 2:
            score = _logit(c[1], docs[1]) - _logit(c[0], docs[0])
            cls = names[1] if score > 0 else names[0]
        else:
            lean = [_logit(c[j], docs[j]) - _logit(c.sum() - c[j], docs.sum() - docs[j]) for j in range(len(names))]
            j = int(np.argmax(lean))
            cls, score = names[j], lean[j]
        out[w] = (cls, float(score)) if with_class else float(score)
    return out


def _logit(count: float, total: float) -> float:
    p = (count + 1.0) / (total + 2.0)
    return math.log(p / (1.0 - p))
