"""Small-data SST-2: every built-in text model with its defaults against TF-IDF + logistic regression.

8,000 rows sampled from train.tsv (fixed --seed) are written to a temporary CSV and trained on
through the user's own path: `train_run` with a DataConfig on that CSV (the engine splits 10 %
of the rows off for validation and one row for the run's own test split: train_run cannot yet
save a run with an empty test split), then `evaluate_run` on dev.tsv (872 sentences)
written as a second CSV. Everything is written under a temporary folder (also the workspace,
BIGMODEL_HOME) that is removed at the end; SST-2 is read in place, never copied into the project.
The reference, TF-IDF (word 1-2 grams, sublinear tf) + LogisticRegression, is fitted on the same
training rows (the 90 % the models train on) in the same run. One torch thread per model.

    python bench/sst2_small.py [--data DIR] [--models lstm,gru,...] [--rows 8000] [--seeds 0,1,2]
                               [--set key=value ...] [--quick]          # ~5 min on 2 cores

`--set lr=1e-3` overrides a TrainConfig field, `--set lstm.dropout=0.5` one model's setting and
`--set all.dropout=0.5` that setting of every model. Prints one JSON line per model and seed
(dev accuracy, best epoch, epochs run, seconds), one for the reference, and a summary with each
model's dev accuracy and its difference from the reference. A missing data folder prints one
`"kind": "skipped"` line and exits 0.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
import numpy as np
from _common import emit

BENCH = "sst2_small"
MODELS = ("bag_of_embeddings", "fasttext_bigrams", "rnn", "lstm", "gru", "textcnn", "transformer")
VAL_FRACTION = 0.1
TEST_FRACTION = 1e-4  # one row: dev.tsv is the test set, but train_run needs a non-empty test split


def write_csv(path: Path, texts: list[str], labels) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        out.writerows(zip(texts, (int(y) for y in labels)))
    return str(path)


def sample_train(data_dir: str, rows: int, seed: int) -> tuple[list[str], np.ndarray]:
    texts, labels = _common.read_sst2(data_dir, "train")
    keep = np.sort(np.random.default_rng(seed).choice(len(texts), rows, replace=False))
    return [texts[i] for i in keep], labels[keep]


def tfidf_reference(texts, labels, dev_texts, dev_labels, split_seed: int) -> dict:
    """TF-IDF + LogisticRegression fitted on the rows the models train on (their val rows left out)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from bigmodel_core.data.dataset import split_indices

    train = split_indices(labels.astype(np.int64), VAL_FRACTION, TEST_FRACTION, split_seed)["train"]
    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    x = vec.fit_transform([texts[i] for i in train])
    clf = LogisticRegression(max_iter=2000).fit(x, labels[train])
    acc = float((clf.predict(vec.transform(dev_texts)) == dev_labels).mean())
    return {"dev_accuracy": acc, "train_rows": len(train), "seconds": time.perf_counter() - t0}


def parse_sets(items: list[str]) -> tuple[dict, dict]:
    """['lr=1e-3', 'lstm.dropout=0.5', 'all.dropout=0.3'] -> ({'lr': '1e-3'}, {'lstm': {...}, 'all': {...}})."""
    train, models = {}, {}
    for item in items:
        key, _, value = item.partition("=")
        scope, dot, name = key.partition(".")
        if dot:
            models.setdefault(scope, {})[name] = value
        else:
            train[key] = value
    return train, models


def train_one(name: str, seed: int, train_csv: str, dev_csv: str, home: str, train_sets: dict,
              model_sets: dict) -> dict:
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.evaluate import evaluate_run
    from bigmodel_core.runs.store import read_history
    from bigmodel_core.settings import parse_field
    from bigmodel_core.training.run import train_run

    train = {k: parse_field(TrainConfig, k, v) for k, v in train_sets.items()}
    train_cfg = TrainConfig(**{"num_threads": 1, "seed": seed, **train})
    params = {**model_sets.get("all", {}), **model_sets.get(name, {})}
    data = DataConfig(spec=f"csv:{train_csv}", val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION,
                      seed=seed)
    cfg = RunConfig(data=data, model=ModelConfig(name, params), train=train_cfg)
    info = train_run(cfg, home=home)
    dev = evaluate_run(info.id, f"csv:{dev_csv}", home=home)
    history = read_history(info.id, home=home)
    val = [r["metrics"].get("val_accuracy") for r in history if r["kind"] == "epoch_end"]
    return emit(BENCH, kind="model", model=name, seed=seed, dev_accuracy=dev["metrics"]["accuracy"],
                dev_macro_f1=dev["metrics"]["macro_f1"], val_accuracy=info.metrics["val_accuracy"],
                best_epoch=info.best_epoch, epochs_run=len(val), val_accuracy_per_epoch=val,
                stop_reason=info.stop_reason, seconds=info.seconds, params=info.model_params,
                train={k: getattr(info.config.train, k) for k in ("optimizer", "lr", "weight_decay", "epochs",
                                                               "early_stopping_patience", "schedule", "warmup_fraction")
                       if hasattr(info.config.train, k)})


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rows", type=int, default=8000, help="training rows sampled from train.tsv")
    ap.add_argument("--seeds", default="0,1,2",
                    help="comma-separated: each seeds the sample, split and training (dev has only 872 rows)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="TrainConfig field (lr=1e-3), one model's setting (lstm.dropout=0.5) or all (all.dropout=0.5)")
    ap.add_argument("--quick", action="store_true", help="2,000 rows, fasttext_bigrams and lstm, one seed")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.models, args.seeds = 2000, "fasttext_bigrams,lstm", "0"
    if args.data is None or not (Path(args.data) / "train.tsv").exists() or not (Path(args.data) / "dev.tsv").exists():
        return emit(BENCH, kind="skipped", reason=f"SST-2 not found at {args.data}; pass --data DIR "
                    "(a folder with train.tsv and dev.tsv)")
    import torch

    torch.set_num_threads(1)
    models, seeds = [m for m in args.models.split(",") if m], [int(s) for s in args.seeds.split(",")]
    train_sets, model_sets = parse_sets(args.set)
    dev_texts, dev_labels = _common.read_sst2(args.data, "dev")
    emit(BENCH, kind="setup", rows=args.rows, dev_rows=len(dev_texts), val_fraction=VAL_FRACTION, seeds=seeds,
         models=models, overrides=args.set, **_common.machine())
    t0 = time.perf_counter()
    results: dict[str, list[dict]] = {m: [] for m in models}
    refs = []
    with tempfile.TemporaryDirectory(prefix="sst2_small_") as tmp:
        os.environ["BIGMODEL_HOME"] = str(Path(tmp) / "home")
        dev_csv = write_csv(Path(tmp) / "dev.csv", dev_texts, dev_labels)
        for seed in seeds:
            texts, labels = sample_train(args.data, args.rows, seed)
            train_csv = write_csv(Path(tmp) / f"train_{seed}.csv", texts, labels)
            refs.append(emit(BENCH, kind="reference", model="tfidf_logreg", seed=seed,
                             **tfidf_reference(texts, labels, dev_texts, dev_labels, seed)))
            for name in models:
                results[name].append(train_one(name, seed, train_csv, dev_csv, os.environ["BIGMODEL_HOME"],
                                               train_sets, model_sets))
    ref = statistics.mean(r["dev_accuracy"] for r in refs)
    per_model = {}
    for name, rows in results.items():
        acc = statistics.mean(r["dev_accuracy"] for r in rows)
        per_model[name] = {"dev_accuracy": round(acc, 4), "vs_reference": round(acc - ref, 4),
                           "best_epochs": [r["best_epoch"] for r in rows],
                           "epochs_run": [r["epochs_run"] for r in rows],
                           "seconds": round(statistics.mean(r["seconds"] for r in rows), 1)}
    return emit(BENCH, kind="summary", reference_dev_accuracy=round(ref, 4), per_model=per_model,
                models_at_or_above_reference=sum(v["vs_reference"] >= 0 for v in per_model.values()),
                mean_dev_accuracy=round(statistics.mean(v["dev_accuracy"] for v in per_model.values()), 4),
                overrides=args.set, seconds=time.perf_counter() - t0)


if __name__ == "__main__":
    main()
