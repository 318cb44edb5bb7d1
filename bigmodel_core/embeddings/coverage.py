"""Initialising a text model's embedding layer from word vectors, and how much of its vocabulary they cover.

`params_for_vectors` sizes the model for the vectors, `init_embedding` copies them in (frozen
or not), `vectors_record` is what the run remembers about them.

Row i of the matrix is the vector of the model's word itos[i]: looked up as written, then
lower-cased. Words without a vector (and <unk>) get random normal rows scaled like the found
vectors (their standard deviation), seeded, so training starts from comparable magnitudes;
<pad> (index 0) is all zeros, as the models expect.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..data.text.pipeline import PAD, PAD_ID, UNK
from ..errors import DataError, InputError, msg
from .queries import spelling

if TYPE_CHECKING:
    import torch

    from ..config import DataConfig
    from gensim.models import KeyedVectors

MISSING_EXAMPLES = 20
SPECIAL = (PAD, UNK)


def embedding_matrix(kv: "KeyedVectors", itos: Sequence[str], dim: int,
                     seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """(matrix (len(itos), dim) float32, coverage {found, total, fraction, missing_examples}).

    `total` counts the model's real words (not <pad> or <unk>); `missing_examples` lists up to
    20 of them without a vector, most frequent first (itos is ordered by frequency).

    Raises:
        InputError: `dim` differs from the vectors' width (the model must use the same size).
    """
    if dim != kv.vector_size:
        raise InputError(msg("errors.coverage.dim_mismatch",
                             "The vectors have {size} dimensions, but the model's embedding has {dim}.",
                             size=kv.vector_size, dim=dim),
                         msg("errors.coverage.dim_mismatch.hint",
                             "Set the model's embedding size to {size}, or choose other vectors.",
                             size=kv.vector_size))
    rows = np.full(len(itos), -1, dtype=np.int64)  # row in kv for each itos entry, -1: none
    for i, word in enumerate(itos):
        if word in SPECIAL:
            continue
        found = spelling(kv, word)
        if found is not None:
            rows[i] = kv.key_to_index[found]
    found = rows >= 0
    found_vectors = np.asarray(kv.vectors[rows[found]], dtype=np.float32)  # (found, dim)
    scale = float(found_vectors.std()) if found_vectors.size else _overall_std(kv)
    rng = np.random.default_rng(seed)
    matrix = (rng.standard_normal((len(itos), dim)) * scale).astype(np.float32)
    matrix[found] = found_vectors
    if PAD_ID < len(itos) and itos[PAD_ID] == PAD:
        matrix[PAD_ID] = 0.0
    real = [i for i, w in enumerate(itos) if w not in SPECIAL]
    n_found = int(found.sum())
    missing = [itos[i] for i in real if not found[i]][:MISSING_EXAMPLES]
    coverage = {"found": n_found, "total": len(real), "fraction": n_found / len(real) if real else 0.0,
                "missing_examples": missing}
    return matrix, coverage


def _overall_std(kv: "KeyedVectors") -> float:
    """Standard deviation of (at most the first 10,000) vectors: the scale when no word was found."""
    sample = np.asarray(kv.vectors[:10_000], dtype=np.float32)
    return float(sample.std()) if sample.size else 1.0


EMBED_SIZE_KEYS = ("embed_dim", "dim")  # what the text models call their word-vector width


def embed_size_key(model_name: str) -> Optional[str]:
    """The setting of `model_name` that fixes its word-vector width (None for models without one)."""
    from ..models import model_entry

    defaults = model_entry(model_name).defaults
    return next((k for k in EMBED_SIZE_KEYS if k in defaults), None)


def params_for_vectors(model_name: str, params: dict[str, Any], vector_size: int) -> dict[str, Any]:
    """The user's settings with the embedding width set to the vectors' width, unless the user chose one.

    A width the user set explicitly is kept, so a mismatch is reported (by `embedding_matrix`)
    instead of silently overridden. A Transformer whose preset number of heads does not divide
    the vectors' width gets the largest number of heads that does (unless the user chose it).
    """
    from ..errors import ModelError, msg
    from ..models import model_entry

    key = embed_size_key(model_name)
    if key is None or model_entry(model_name).task != "text":
        raise ModelError(msg("errors.coverage.no_embedding",
                             "The {model} model has no word embedding to start from word vectors.",
                             model=model_name),
                         msg("errors.coverage.no_embedding.hint",
                             "Word vectors are for text models; choose one of them, or clear the vectors setting."))
    if key in params:
        return params
    out = {**params, key: int(vector_size)}
    heads = model_entry(model_name).defaults.get("heads")
    if heads and "heads" not in params and vector_size % heads:  # e.g. 50-d GloVe and 4 heads: use 2
        out["heads"] = max(h for h in range(1, heads + 1) if vector_size % h == 0)
    return out


def init_embedding(model: "torch.nn.Module", kv: "KeyedVectors", itos: Sequence[str], freeze: bool = False,
                   seed: int = 0) -> dict[str, Any]:
    """Copy the vectors into `model.embedding` (frozen if asked) and return the coverage."""
    import torch

    layer = model.embedding
    matrix, coverage = embedding_matrix(kv, itos, layer.embedding_dim, seed)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(matrix))
    layer.weight.requires_grad_(not freeze)
    return coverage


def vectors_record(kv: "KeyedVectors", source: str, freeze: bool, coverage: dict[str, Any]) -> dict[str, Any]:
    """What run.json keeps about the vectors a run started from, so runs with and without compare."""
    tag = getattr(kv, "bigmodel", {}) or {}
    return {"vectors": source, "set_id": tag.get("id"), "source": tag.get("source", ""), "dim": int(kv.vector_size),
            "vocab_size": len(kv.index_to_key), "frozen": bool(freeze), "coverage": coverage}


def vectors_dim(ref: str) -> int:
    """The width of a saved set (from its meta.json, instant) or of a vectors file (read to find out)."""
    from .sets import read_set_meta, resolve_set
    from .vectors import load_vectors

    folder = resolve_set(ref)
    if folder is not None:
        dim = read_set_meta(folder).get("dim")
        if isinstance(dim, int) and dim > 0:
            return dim
    return int(load_vectors(ref).vector_size)


def vectors_coverage(data_cfg: "DataConfig", vectors: str) -> dict[str, Any]:
    """How much of the dataset's vocabulary (as a model would build it) a vector set covers.

    The vocabulary is fitted on the training split with the data settings, exactly as training
    does, so the numbers are the ones the run will record.
    """
    from .vectors import load_vectors, vectors_info

    from ..data.dataset import load_dataset
    from ..data.text.pipeline import TextPipeline

    ds = load_dataset(data_cfg)
    if ds.task != "text":
        raise DataError(msg("errors.coverage.not_text",
                            "Word vectors are for text, but the chosen dataset holds images."),
                        msg("errors.coverage.not_text.hint",
                            "Choose a text dataset on the Data page to start a model from word vectors."))
    pipeline = TextPipeline(data_cfg).fit(ds.part("train")[0])
    kv = load_vectors(vectors)
    _, coverage = embedding_matrix(kv, pipeline.itos, kv.vector_size)
    return {**coverage, "vectors": vectors_info(kv)}
