"""Word2Vec words/s and 2-D/3-D projection seconds for 10,000 words, each against a plain reference in the same run.

Word2Vec: the engine's `train_word2vec` (one gensim `train()` call per epoch, so that loss,
progress and Stop work) against plain gensim training the same tokenized sentences in one call
with the same settings. Ratio = engine words/s ÷ gensim words/s (target ≥ 0.9: the per-epoch
loop must cost little). The words/s are of the training epochs only (the engine reports them per
epoch; for gensim: corpus words × epochs ÷ seconds of `train`).

Projection: the engine's `project` (unit-length rows, PCA or t-SNE, disk cache) of the 10,000 most
frequent words of the Word2Vec vocabulary learned from SST-2's train.tsv (14,305 words with
min_count 2; 3-D t-SNE on 2,000, the most the page's map offers), against scikit-learn's PCA / TSNE called directly on the same normalised matrix.
Also: the seconds of a second, cached call (what the page pays when the map is drawn again).

    python bench/embeddings_speed.py [--data DIR] [--quick] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import _common
from _common import emit, machine, median

BENCH = "embeddings_speed"


def word2vec_pair(spec: str, sg: bool, epochs: int, seed: int) -> dict:
    """(engine words/s, plain gensim words/s) on the same sentences, 1 worker, same settings."""
    from gensim.models import Word2Vec

    from bigmodel_core.config import DataConfig
    from bigmodel_core.embeddings.train import tokenized_texts, train_word2vec

    cfg = DataConfig(spec=spec)
    meta = train_word2vec(cfg, sg=sg, dim=100, window=5, min_count=2, epochs=epochs, negative=5, seed=seed, workers=1)
    sentences = tokenized_texts(cfg)
    model = Word2Vec(vector_size=100, window=5, min_count=2, sg=int(sg), negative=5, seed=seed, workers=1,
                     compute_loss=True, epochs=epochs)
    model.build_vocab(sentences)
    t0 = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs, compute_loss=True)
    plain_seconds = time.perf_counter() - t0
    plain = model.corpus_total_words * epochs / plain_seconds
    return {"engine_words_per_s": meta["words_per_s"], "plain_words_per_s": plain,
            "ratio": meta["words_per_s"] / plain, "set_id": meta["id"], "vocab_size": meta["vocab_size"],
            "words": model.corpus_total_words, "engine_seconds_total": meta["seconds"], "plain_train_seconds": plain_seconds}


def projection_pair(set_id: str, n: int, method: str, dims: int, repeats: int) -> dict:
    """Median seconds of the engine's `project` (uncached: a fresh cache folder each time) and of
    scikit-learn alone, after a warm-up that imports scikit-learn and reads the matrix from disk."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    from bigmodel_core.embeddings.projection import project
    from bigmodel_core.embeddings.vectors import load_vectors

    kv = load_vectors(set_id)
    x = np.asarray(kv.vectors[:n], dtype=np.float32)  # pages the memory-mapped rows in for both sides
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    engine, plain, cached = [], [], []
    for r in range(repeats):
        folder = tempfile.mkdtemp(prefix="proj-")
        t0 = time.perf_counter()
        result = project(kv, n=n, dims=dims, method=method, seed=0, cache_dir=folder)
        engine.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        again = project(kv, n=n, dims=dims, method=method, seed=0, cache_dir=folder)
        cached.append(time.perf_counter() - t0)
        assert again["cached"] and np.array_equal(np.asarray(again["coords"]), np.asarray(result["coords"]))
        t0 = time.perf_counter()
        if method == "pca":
            PCA(n_components=dims, random_state=0).fit_transform(x)
        else:
            TSNE(n_components=dims, init="pca", learning_rate="auto", perplexity=30.0, random_state=0).fit_transform(x)
        plain.append(time.perf_counter() - t0)
    e, p = median(engine), median(plain)
    return {"engine_seconds": e, "plain_seconds": p, "ratio": e / p, "cached_seconds": median(cached),
            "repeats": repeats}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv")
    ap.add_argument("--repeats", type=int, default=3, help="Word2Vec pairs per algorithm (median reported)")
    ap.add_argument("--words", type=int, default=10_000, help="words on the map")
    ap.add_argument("--quick", action="store_true", help="built-in reviews for Word2Vec (1,785 words on the map), 1 repeat")
    args = ap.parse_args(argv)
    os.environ["BIGMODEL_HOME"] = tempfile.mkdtemp(prefix="bench-emb-")
    emit(BENCH, kind="machine", **machine())
    spec = "builtin:synthetic_reviews" if args.quick or not args.data else f"csv:{args.data}/train.tsv"
    repeats = 1 if args.quick else args.repeats
    summary: dict = {}
    set_id = None
    for sg, name in ((True, "skipgram"), (False, "cbow")):
        rows = []
        for r in range(repeats):
            row = word2vec_pair(spec, sg, epochs=5, seed=r)
            rows.append(row)
            emit(BENCH, kind="word2vec", algorithm=name, repeat=r, spec=spec, **row)
            set_id = set_id or row["set_id"]
        summary[f"{name}_words_per_s"] = median([r["engine_words_per_s"] for r in rows])
        summary[f"{name}_plain_words_per_s"] = median([r["plain_words_per_s"] for r in rows])
        summary[f"{name}_ratio"] = median([r["ratio"] for r in rows])
    if not args.quick and not args.data:
        emit(BENCH, kind="note", note="no SST-2 folder: the map uses the built-in reviews' vocabulary (1,785 words)")
    from bigmodel_core.embeddings.vectors import load_vectors

    n = min(args.words, len(load_vectors(set_id).index_to_key))
    # 3-D t-SNE at the page's largest map (2,000 words): Barnes-Hut in 3-D is several times slower than 2-D
    for method, dims, words in (("pca", 2, n), ("pca", 3, n), ("tsne", 2, n), ("tsne", 3, min(n, 2_000))):
        row = projection_pair(set_id, words, method, dims, repeats=5 if method == "pca" else 1)
        emit(BENCH, kind="projection", method=method, dims=dims, words=words, **row)
        summary[f"{method}_{dims}d_seconds"] = row["engine_seconds"]
        summary[f"{method}_{dims}d_ratio"] = row["ratio"]
        summary[f"{method}_{dims}d_cached_seconds"] = row["cached_seconds"]
        summary[f"{method}_{dims}d_words"] = words
    return emit(BENCH, kind="summary", **summary)


if __name__ == "__main__":
    main()
