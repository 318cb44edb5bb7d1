"""What the run store costs: training with per-epoch records and checkpoints against logging off.

Logging on is what every run does: after each epoch the event log, the best weights so far,
run.json, the epoch's row in the SQLite index, and a checkpoint (model, optimizer, schedule,
random states) are written, each atomically. Logging off (`train_run(record=False)`) writes the
run once at the end. Both train the same config in the same process, in alternating pairs (A B A
B ...), each in a fresh workspace; the ratio is taken pair by pair and its median quoted, so a
drift in the machine's speed cancels. The figure compared is the Trainer's own training time
(RunInfo.seconds: every batch, every validation and every per-epoch write), without the data
preparation both share. On a shared machine that ratio is noisier than the 2 % it checks, so
the logging-on runs also time the writes themselves (the Recorder's per-epoch hook and the
checkpoint, wrapped with a clock here): their share of the training time is the direct figure.

    python bench/logging_overhead.py [--pairs 5] [--epochs 8] [--model lstm] [--rows N] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import emit

BENCH = "logging_overhead"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--model", default="lstm")
    ap.add_argument("--rows", type=int, default=None, help="rows of the built-in reviews (default: all 2,000)")
    ap.add_argument("--quick", action="store_true", help="3 pairs of 4 epochs")
    args = ap.parse_args(argv)
    if args.quick:
        args.pairs, args.epochs = 3, 4
    import torch

    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training import run as run_module
    from bigmodel_core.training import trainer as trainer_module
    from bigmodel_core.training.run import train_run

    spent = {"s": 0.0}

    def timed(fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent["s"] += time.perf_counter() - t0
        return wrapper

    run_module.Recorder.on_epoch_end = timed(run_module.Recorder.on_epoch_end)
    run_module.Recorder.on_fit_start = timed(run_module.Recorder.on_fit_start)
    trainer_module.Trainer._checkpoint = timed(trainer_module.Trainer._checkpoint)

    torch.set_num_threads(1)
    emit(BENCH, kind="machine", **_common.machine())
    cfg = RunConfig(DataConfig(max_rows=args.rows), ModelConfig(args.model),
                    TrainConfig(epochs=args.epochs, early_stopping_patience=None))
    ratios, on_s, off_s, shares = [], [], [], []
    for pair in range(args.pairs + 1):  # pair 0 warms up (imports, first kernels) and is not counted
        secs = {}
        for record in ((True, False) if pair % 2 else (False, True)):
            home = tempfile.mkdtemp(prefix="bigmodel-logging-")
            try:
                spent["s"] = 0.0
                info = train_run(cfg, home=home, record=record)
                secs[record] = info.seconds
                if record:
                    writes = spent["s"]
            finally:
                shutil.rmtree(home, ignore_errors=True)
        if pair == 0:
            continue
        ratios.append(secs[True] / secs[False])
        shares.append(writes / secs[True])
        on_s.append(secs[True])
        off_s.append(secs[False])
        emit(BENCH, kind="pair", pair=pair, logging_on_s=round(secs[True], 3), logging_off_s=round(secs[False], 3),
             ratio=round(ratios[-1], 4), writes_s=round(writes, 4), writes_pct=round(shares[-1] * 100, 3))
    emit(BENCH, kind="summary", model=args.model, epochs=args.epochs, pairs=args.pairs,
         logging_on_median_s=round(statistics.median(on_s), 3), logging_off_median_s=round(statistics.median(off_s), 3),
         ratio_median=round(statistics.median(ratios), 4), ratio_min=round(min(ratios), 4),
         ratio_max=round(max(ratios), 4), overhead_pct=round((statistics.median(ratios) - 1) * 100, 2),
         writes_pct_median=round(statistics.median(shares) * 100, 3), target_pct=2.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
