"""LIME speed: median seconds of `explain_text` at 1,000 and 5,000 samples on a trained SST-2 LSTM.

Trains two LSTMs on SST-2 train.tsv with train_run (1 epoch each, into a temporary BIGMODEL_HOME):
  preset   the engine's "lstm" preset (embedding 64, hidden 64, bidirectional): what the app trains by default
  100x128  embedding 100, hidden 128 (the size of the training benchmarks), ~3.5x the FLOPs per word
(or explains --run, a saved run), loads each with serve.load_bundle, and explains the first --sentences
dev.tsv sentences. Variants, interleaved per sentence:

  engine_default  explain_text as the engine ships it, torch's default thread count (what a fresh
                  process such as the Predict page or `python -m bigmodel_core explain` gets)
  engine_1thread  the same with torch.set_num_threads(1) (what the Trainer picks on 2 cores, and
                  what the Streamlit server is left with after a training)
  proto_1thread   a prototype of suggested engine changes, 1 thread: masks sampled in one vectorised
                  call, ids taken from the encoded sentence by the mask (no re-encoding), and the
                  perturbed texts batched by exact length so the LSTM runs unpacked (oneDNN kernel)

One JSON line per (variant, samples) median and a summary with the targets (<= 0.08 s at 1,000,
<= 0.4 s at 5,000 samples). Also the latency of predicting one sentence (`predict_proba([text])`,
median of 20 calls per sentence, then over the sentences) at the default thread count and at 1.

    python bench/lime_speed.py [--data DIR] [--models preset,100x128 | --run RUN --home DIR] [--sentences 20] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
import numpy as np
import torch
from _common import emit

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.explain.lime_text import KERNEL_WIDTH, Explanation, explain_text
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.training.run import train_run

BENCH = "lime_speed"
TARGETS = {1000: 0.08, 5000: 0.4}
SIZES = {"preset": {}, "100x128": {"embed_dim": 100, "hidden": 128}}


def train_lstm(data_dir: str, home: str, max_rows: int | None, size: str) -> str:
    cfg = RunConfig(DataConfig(spec=f"csv:{data_dir}/train.tsv", max_rows=max_rows),
                    ModelConfig("lstm", SIZES[size]), TrainConfig(epochs=1), name=f"bench-lime-lstm-{size}")
    t0 = time.perf_counter()
    info = train_run(cfg, home=home)
    emit(BENCH, kind="trained", run=info.id, size=size, model_params=info.model_params,
         test_accuracy=info.metrics["test_accuracy"], seconds=time.perf_counter() - t0,
         train_rows=info.data_info["split"]["train"])
    return info.id


# --- prototype of suggested engine changes (bench-only) -------------------------------------------
def _proto_probs(predictor, ids_rows: list[np.ndarray]) -> np.ndarray:
    """Probabilities with rows grouped by exact length: no padding, so the LSTM needs no packing."""
    model = predictor.model
    out = np.zeros((len(ids_rows), len(predictor.class_names)), dtype=np.float32)
    lens = np.fromiter((len(r) for r in ids_rows), dtype=np.int64, count=len(ids_rows))
    with torch.inference_mode():
        for length in np.unique(lens):
            idx = np.flatnonzero(lens == length)
            ids = torch.from_numpy(np.stack([ids_rows[i] for i in idx]))  # (group, length)
            _, h = model.rnn(model.embedding(ids))
            h = h[0] if model.cell == "lstm" else h
            last = torch.cat([h[-2], h[-1]], dim=1) if model.rnn.bidirectional else h[-1]
            out[idx] = torch.softmax(model.fc(last).float(), dim=1).numpy()
    return out


def proto_explain(predictor, text: str, num_samples: int, seed: int = 0) -> Explanation:
    from lime.lime_base import LimeBase

    tokens = predictor.pipeline.tokens(text)
    d = len(tokens)
    ids = np.asarray(predictor.pipeline.encode_tokens(tokens), dtype=np.int64)
    rng = np.random.RandomState(seed)
    mask = np.ones((num_samples, d), dtype=bool)
    if d > 1:  # drop `size` random words per row, like lime, in one vectorised draw
        sizes = rng.randint(1, d, num_samples - 1)
        ranks = rng.random_sample((num_samples - 1, d)).argsort(1).argsort(1)
        mask[1:] = ranks >= sizes[:, None]
    else:
        mask[1:, 0] = rng.randint(0, 2, num_samples - 1).astype(bool)
    rows = [ids[m] if m.any() else np.array([1], dtype=np.int64) for m in mask]  # empty -> one <unk>
    probs = _proto_probs(predictor, rows)
    maskf = mask.astype(np.float64)
    distances = (1 - maskf.sum(1) / (np.sqrt(maskf.sum(1)) * np.sqrt(d) + 1e-12)) * 100
    base = LimeBase(lambda dist: np.sqrt(np.exp(-(dist ** 2) / KERNEL_WIDTH ** 2)), random_state=rng)
    target = int(probs[0].argmax())
    exp = Explanation(list(tokens), list(predictor.class_names), probs[0].astype(float).tolist(), target)
    for k in range(len(predictor.class_names)):
        _, pairs, score, _ = base.explain_instance_with_data(maskf, probs, distances, k, d, feature_selection="none")
        w = np.zeros(d)
        for i, value in pairs:
            w[i] = value
        exp.weights[k] = w.tolist()
        if k == target:
            exp.score = float(score)
    return exp


def predict_latency(predictor, texts: list[str], threads: dict[str, int], label: str, calls: int = 20) -> dict:
    """Median ms of `predict_proba([sentence])` (one sentence, tokenizing included): what the Predict page pays."""
    out = {}
    for name, n in threads.items():
        torch.set_num_threads(n)
        per_text = []
        for text in texts:
            for _ in range(3):
                predictor.predict_proba([text])
            ts = []
            for _ in range(calls):
                t0 = time.perf_counter()
                predictor.predict_proba([text])
                ts.append(time.perf_counter() - t0)
            per_text.append(1000 * statistics.median(ts))
        out[name] = statistics.median(per_text)
        emit(BENCH, kind="predict", model=label, threads=n, sentences=len(texts), calls_each=calls,
             median_ms=out[name], max_sentence_ms=max(per_text))
    return out


def measure(predictor, texts: list[str], sample_sizes: list[int], default_threads: int, label: str) -> dict:
    variants = {"engine_default": (default_threads, explain_text), "engine_1thread": (1, explain_text),
                "proto_1thread": (1, proto_explain)}
    for threads, fn in variants.values():  # warm-up: first calls allocate and load oneDNN kernels
        torch.set_num_threads(threads)
        fn(predictor, texts[0], 1000)
    times: dict[tuple[str, int], list[float]] = {}
    agree: dict[int, list[bool]] = {n: [] for n in sample_sizes}
    for text in texts:
        for n in sample_sizes:
            tops = {}
            for name, (threads, fn) in variants.items():
                torch.set_num_threads(threads)
                t0 = time.perf_counter()
                exp = fn(predictor, text, n)
                times.setdefault((name, n), []).append(time.perf_counter() - t0)
                tops[name] = exp.top(k=1)[0][0]
            agree[n].append(tops["proto_1thread"] == tops["engine_1thread"])
    predict = predict_latency(predictor, texts, {"default": default_threads, "1thread": 1}, label)
    rows = {}
    for (name, n), ts in times.items():
        med = statistics.median(ts)
        rows[f"{name}@{n}"] = med
        emit(BENCH, kind="median", model=label, variant=name, samples=n, threads=variants[name][0], sentences=len(ts),
             median_s=med, p90_s=float(np.percentile(ts, 90)), target_s=TARGETS.get(n),
             passed=None if n not in TARGETS else med <= TARGETS[n])
    return {"median_s": rows, "predict_ms": predict,
            "passed": {f"engine_{w}@{n}": rows[f"engine_{w}@{n}"] <= t
                       for w in ("default", "1thread") for n, t in TARGETS.items() if f"engine_{w}@{n}" in rows},
            "proto_top_word_agrees_with_engine": {n: float(np.mean(a)) for n, a in agree.items()}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--models", default=",".join(SIZES), help="LSTM sizes to train: " + ",".join(SIZES))
    ap.add_argument("--run", default=None, help="explain this saved run instead of training")
    ap.add_argument("--home", default=None, help="BIGMODEL_HOME of --run")
    ap.add_argument("--sentences", type=int, default=20)
    ap.add_argument("--samples", default="1000,5000")
    ap.add_argument("--max-rows", type=int, default=None, help="train on this many train.tsv rows")
    ap.add_argument("--quick", action="store_true", help="train on 10,000 rows, 8 sentences")
    args = ap.parse_args(argv)
    if args.data is None:
        ap.error("SST-2 not found next to the repo; pass --data DIR")
    if args.quick:
        args.max_rows, args.sentences = args.max_rows or 10000, 8
    default_threads = torch.get_num_threads()  # before train_run sets the process-wide count
    emit(BENCH, kind="setup", default_threads=default_threads, **_common.machine())
    texts = _common.read_sst2(args.data, "dev")[0][: args.sentences]
    sample_sizes = [int(s) for s in args.samples.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-lime-") as tmp:
        runs = {args.run: (args.run, args.home)} if args.run else {}
        for size in ([] if args.run else [m for m in args.models.split(",") if m]):
            runs[size] = (train_lstm(args.data, tmp, args.max_rows, size), tmp)
        results = {}
        for label, (run, home) in runs.items():
            predictor = load_bundle(run, home=home)
            results[label] = measure(predictor, texts, sample_sizes, default_threads, label)
    tokens = [len(predictor.pipeline.tokens(t)) for t in texts]
    return emit(BENCH, kind="summary", sentences=len(texts), median_tokens=statistics.median(tokens),
                default_threads=default_threads, targets=TARGETS, models=results,
                passed={f"{m}/{k}": v for m, r in results.items() for k, v in r["passed"].items()})


if __name__ == "__main__":
    main()
