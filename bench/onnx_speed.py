"""ONNX speed: onnxruntime ÷ PyTorch latency of the default LSTM on SST-2, one sentence at batch 1 and a batch of 32.

Trains the engine's default "lstm" preset on SST-2 train.tsv (1 epoch, --max-rows rows, into a
temporary BIGMODEL_HOME; or takes --run), exports it with serve.onnx_export.export_onnx (verified
against PyTorch), and times, both on 1 intra-op thread, after --warmup calls, the median of --repeats:

  model      the model call alone: PyTorch `model(ids, lengths)` under inference_mode vs the onnxruntime
             session on the same ids (batch 1: one dev sentence, no padding; batch 32: 32 dev sentences,
             padded, so PyTorch packs them)
  predictor  what a server pays per request: `predict_proba(texts)` of load_bundle's predictor vs
             onnx_predictor's (tokenizing and encoding included, the same code in both)

One JSON line per measurement and a summary with the batch-1 ratio (target <= 0.5, issue 12).

    python bench/onnx_speed.py [--data DIR] [--max-rows 20000] [--run RUN --home DIR] [--repeats 300]
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
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.serve.onnx_export import export_onnx, onnx_predictor
from bigmodel_core.training.run import train_run

BENCH = "onnx_speed"
TARGET_B1 = 0.5


def train_default_lstm(data_dir: str | None, home: str, max_rows: int) -> str:
    spec = f"csv:{data_dir}/train.tsv" if data_dir else "builtin:synthetic_reviews"
    cfg = RunConfig(DataConfig(spec=spec, max_rows=max_rows), ModelConfig("lstm", {}), TrainConfig(epochs=1),
                    name="bench-onnx-lstm")
    t0 = time.perf_counter()
    info = train_run(cfg, home=home)
    emit(BENCH, kind="trained", run=info.id, data=spec, model_params=info.model_params,
         test_accuracy=info.metrics.get("test_accuracy"), seconds=time.perf_counter() - t0,
         train_rows=info.data_info["split"]["train"])
    return info.id


def timed(fn, warmup: int, repeats: int) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_ms": 1000 * statistics.median(times), "p90_ms": 1000 * float(np.percentile(times, 90))}


def padded(pipeline, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encoded = pipeline.encode(texts)
    lengths = torch.tensor([len(e) for e in encoded])
    ids = torch.zeros((len(encoded), int(lengths.max())), dtype=torch.int64)
    for row, e in enumerate(encoded):
        ids[row, : len(e)] = torch.from_numpy(e)
    return ids, lengths


def measure(run: str, home: str, texts: list[str], warmup: int, repeats: int) -> dict:
    torch.set_num_threads(1)
    torch_p, onnx_p = load_bundle(run, home=home), onnx_predictor(run, home=home, threads=1)
    if onnx_p is None:
        raise SystemExit("The export was not verified; nothing to compare.")
    sentence = texts[0]
    ratios = {}
    for batch, chunk in ((1, [sentence]), (32, texts[:32])):
        ids, lengths = padded(torch_p.pipeline, chunk)

        def torch_model():
            with torch.inference_mode():
                torch_p.model(ids, lengths)

        pair = {"model": (torch_model, lambda: onnx_p.model(ids, lengths)),
                "predictor": (lambda: torch_p.predict_proba(chunk), lambda: onnx_p.predict_proba(chunk))}
        for level, (pt, ort) in pair.items():
            a, b = timed(pt, warmup, repeats), timed(ort, warmup, repeats)
            ratio = b["median_ms"] / a["median_ms"]
            ratios[f"{level}_b{batch}"] = ratio
            emit(BENCH, kind="latency", level=level, batch=batch, tokens=int(lengths.max()), threads=1,
                 repeats=repeats, pytorch=a, onnxruntime=b, ratio=ratio)
    return ratios


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--max-rows", type=int, default=20000, help="train on this many train.tsv rows")
    ap.add_argument("--run", default=None, help="measure this saved run instead of training one")
    ap.add_argument("--home", default=None, help="BIGMODEL_HOME of --run")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args(argv)
    emit(BENCH, kind="setup", **_common.machine())
    if args.data:
        texts = _common.read_sst2(args.data, "dev")[0][:64]
    else:  # no SST-2 next to the repo: the built-in reviews' own sentences
        from bigmodel_core.data.text.synthetic import generate_reviews

        texts = generate_reviews(64)[0]
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as tmp:
        run, home = (args.run, args.home) if args.run else (train_default_lstm(args.data, tmp, args.max_rows), tmp)
        t0 = time.perf_counter()
        export = export_onnx(run, home=home)
        emit(BENCH, kind="export", run=run, seconds=time.perf_counter() - t0, verified=export["verified"],
             max_abs_diff=export["max_abs_diff"], bytes=export["bytes"], opset=export["opset"],
             checked=[{k: c.get(k) for k in ("batch", "seq")} for c in export["checked"]])
        ratios = measure(run, home, texts, args.warmup, args.repeats)
    return emit(BENCH, kind="summary", run=run, ratios=ratios, ratio_b1=ratios["model_b1"],
                ratio_b1_predictor=ratios["predictor_b1"], target_b1=TARGET_B1, passed=ratios["model_b1"] <= TARGET_B1)


if __name__ == "__main__":
    main()
