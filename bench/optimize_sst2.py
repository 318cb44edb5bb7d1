"""Shrinking on SST-2: pruning, int8 quantization and distillation of real runs, measured the Optimize page's way.

All runs read SST-2's train.tsv in place (`csv:`), share one split (1 % validation, nested training
rows through `max_train_rows`) and are scored on dev.tsv's 872 sentences with `evaluate_run`; the
workspace is a temporary folder removed at the end.

- The reference: the built-in LSTM with its classroom defaults on `--rows` rows (default 20,000).
- Pruned 50 % (global magnitude), kept as it is and after 1 epoch of fine-tuning: dev accuracy drop,
  non-zero parameters, file and zipped size.
- int8 (dynamic: Linear + LSTM): file size ÷ fp32 and dev accuracy drop; the embedding table stays
  fp32, so the same figure is also given for the LSTM's weights without it.
- Distillation: a MiniLM-L6 teacher fine-tuned on `--teacher-rows` (4,000) labelled rows; the LSTM
  student trained alone on those same rows, and distilled on `--rows` rows labelled only by the
  teacher (alpha 1, temperature 2: a transfer set, the usual way distillation passes on what a big
  model knows). Target: the student within half of its gap to the teacher. Needs `--weights DIR`
  (a Hugging Face MiniLM folder); without it the distillation part is skipped.

    python bench/optimize_sst2.py [--data DIR] [--weights DIR] [--rows 20000] [--quick]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import emit

BENCH = "optimize_sst2"
VAL_FRACTION, TEST_FRACTION = 0.01, 1e-4


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir())
    ap.add_argument("--weights", default=os.environ.get("BIGMODEL_BENCH_WEIGHTS"))
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--teacher-rows", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="6,000 rows, 2,000 for the teacher")
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.teacher_rows = 6000, 2000
    if args.data is None or not (Path(args.data) / "train.tsv").exists():
        return emit(BENCH, kind="skipped", reason="SST-2 not found; pass --data DIR")
    home = tempfile.mkdtemp(prefix="bigmodel-optimize-")
    os.environ["BIGMODEL_HOME"] = home
    emit(BENCH, kind="setup", rows=args.rows, teacher_rows=args.teacher_rows, **_common.machine())
    t0 = time.perf_counter()
    try:
        from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
        from bigmodel_core.evaluate import evaluate_run
        from bigmodel_core.optimize.derive import derive_run, plan
        from bigmodel_core.optimize.measure import measure_run
        from bigmodel_core.training.run import train_run
        from sst2_small import write_csv

        tmp = Path(home) / "data"
        tmp.mkdir()
        dev = f"csv:{write_csv(tmp / 'dev.csv', *_common.read_sst2(args.data, 'dev'))}"
        spec = f"csv:{Path(args.data) / 'train.tsv'}"

        def data(rows):
            return DataConfig(spec=spec, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=0, max_train_rows=rows)

        def dev_acc(run_id):
            return evaluate_run(run_id, dev, home=home)["metrics"]["accuracy"]

        def report(kind, info, ref_acc=None, **extra):
            m = info.measure or measure_run(info.id, home=home)
            acc = dev_acc(info.id)
            return emit(BENCH, kind=kind, run=info.id, dev_accuracy=acc,
                        drop_points=None if ref_acc is None else round(100 * (ref_acc - acc), 2),
                        parameters=m["parameters"], nonzero=m["nonzero_parameters"], size_bytes=m["size_bytes"],
                        zipped_bytes=m["zipped_bytes"], p50_b1_ms=m["latency_ms"]["p50_b1"], **extra)

        train = TrainConfig(seed=0, num_threads=args.threads)
        ref = train_run(RunConfig(data(args.rows), ModelConfig("lstm"), train, name="lstm"), home=home)
        base = report("reference", ref)
        acc = base["dev_accuracy"]
        pruned = report("pruned", derive_run("prune", "lstm", home, sparsity=0.5), acc, sparsity=0.5)
        tuned = report("pruned_finetuned", derive_run("prune", "lstm", home, sparsity=0.5, finetune_epochs=1), acc,
                       sparsity=0.5, finetune_epochs=1)
        q = derive_run("quantize", "lstm", home)
        quant = report("int8", q, acc)
        from safetensors.torch import load_file

        fp32 = load_file(str(Path(ref.path) / "weights.safetensors"))
        int8 = load_file(str(Path(q.path) / "weights.safetensors"))
        emb = {k for k in fp32 if k.startswith("embedding.")}
        without = (sum(t.numel() * t.element_size() for k, t in int8.items() if not k.startswith("embedding."))
                   / sum(t.numel() * t.element_size() for k, t in fp32.items() if k not in emb))
        summary = {"int8_size_ratio": quant["size_bytes"] / base["size_bytes"], "int8_size_ratio_without_embedding": without,
                   "int8_drop_points": quant["drop_points"], "pruned_drop_points": pruned["drop_points"],
                   "pruned_finetuned_drop_points": tuned["drop_points"],
                   "pruned_zipped_ratio": pruned["zipped_bytes"] / base["zipped_bytes"],
                   "int8_latency_ratio": quant["p50_b1_ms"] / base["p50_b1_ms"]}
        if args.weights and (Path(args.weights) / "model.safetensors").is_file():
            fine = TrainConfig(lr=5e-5, schedule="warmup_linear", warmup_fraction=0.1, weight_decay=0.01, epochs=1,
                               batch_size=32, seed=0, num_threads=args.threads, early_stopping_patience=None)
            teacher = train_run(RunConfig(data(args.teacher_rows), ModelConfig("pretrained_transformer",
                                {"weights": str(args.weights)}), fine, name="teacher"), home=home)
            t_acc = report("teacher", teacher)["dev_accuracy"]
            alone = train_run(RunConfig(data(args.teacher_rows), ModelConfig("lstm"), train, name="alone"), home=home)
            a_acc = report("student_alone", alone)["dev_accuracy"]
            cfg = plan("distil", "teacher", home, student="lstm", alpha=1.0, temperature=2.0, epochs=8,
                       data=data(args.rows), name="distilled")
            cfg.train.num_threads = args.threads
            d_acc = report("student_distilled", train_run(cfg, home=home))["dev_accuracy"]
            gap = t_acc - a_acc
            summary.update({"teacher_dev": t_acc, "student_alone_dev": a_acc, "student_distilled_dev": d_acc,
                            "share_of_gap_closed": (d_acc - a_acc) / gap if gap else None,
                            "within_half_of_the_gap": (t_acc - d_acc) <= gap / 2})
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return emit(BENCH, kind="summary", **{k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()},
                seconds=time.perf_counter() - t0)


if __name__ == "__main__":
    main()
