"""A real scaling sweep: LSTM width on SST-2, validation loss against parameters, with its fitted power law.

The scaling explorer's own path (plan_sweep + train_run per point + fit_power_law), on a sample of
SST-2's train.tsv read in place through `csv:` (never copied into the project), in a temporary
workspace removed at the end. Points: nano (width 4) ... 3xl (width 512), 8 sizes spanning well
over 100x in parameters; every point trains the same epochs on the same rows and keeps its lowest
validation loss (the sweep monitors val_loss). One JSON line per point, then a summary with the
fit L = a * N^(-b) + c and the exponent's standard error.

    python bench/scaling_sst2.py [--data DIR] [--rows 20000] [--epochs 4] [--sizes nano,...] [--quick]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import emit

BENCH = "scaling_sst2"
SIZES = "nano,tiny,small,medium,large,xl,2xl,3xl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir())
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--sizes", default=SIZES)
    ap.add_argument("--model", default="lstm")
    ap.add_argument("--quick", action="store_true", help="7 sizes (nano..2xl), 6,000 rows, 3 epochs")
    args = ap.parse_args(argv)
    if not args.data or not os.path.exists(os.path.join(args.data, "train.tsv")):
        emit(BENCH, kind="skipped", reason="SST-2 not found; pass --data DIR")
        return 0
    if args.quick:
        args.sizes, args.rows, args.epochs = "nano,tiny,small,medium,large,xl,2xl", 6000, 3
    home = tempfile.mkdtemp(prefix="bigmodel-scaling-")
    os.environ["BIGMODEL_HOME"] = home
    try:
        import torch

        from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
        from bigmodel_core.training.run import train_run
        from bigmodel_core.training.sweep import fit_power_law, plan_sweep, sweep_points

        torch.set_num_threads(max(1, (os.cpu_count() or 2)))
        base = RunConfig(DataConfig(spec=f"csv:{os.path.join(args.data, 'train.tsv')}", max_rows=args.rows, seed=0),
                         ModelConfig(args.model), TrainConfig(batch_size=64, seed=0))
        configs = plan_sweep(base, "width", args.sizes.split(","), epochs=args.epochs)
        emit(BENCH, kind="machine", **_common.machine())
        runs = []
        for cfg in configs:
            t0 = time.perf_counter()
            info = train_run(cfg, home=home)
            runs.append(info)
            emit(BENCH, kind="point", point=cfg.sweep["point"], parameters=info.parameters,
                 val_loss=info.metrics["val_loss"], val_accuracy=info.metrics["val_accuracy"],
                 best_epoch=info.best_epoch, epochs=info.epochs_done, seconds=round(time.perf_counter() - t0, 1))
        points = sweep_points(runs)
        fit = fit_power_law([p["parameters"] for p in points], [p["val_loss"] for p in points])
        params = [p["parameters"] for p in points]
        emit(BENCH, kind="summary", model=args.model, rows=args.rows, epochs=args.epochs, sizes=args.sizes,
             param_span=round(max(params) / min(params), 1), fit=fit,
             val_loss={p["point"]: round(p["val_loss"], 4) for p in points},
             val_accuracy={p["point"]: round(p["val_accuracy"], 4) for p in points})
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
