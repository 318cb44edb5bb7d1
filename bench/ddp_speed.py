"""Distributed data-parallel training: 2 processes ÷ 1 process samples/s, and the per-epoch loss parity between them.

Both sides are the CLI a user runs, `python -m bigmodel_core train --processes N --json` (torchrun + DDP,
gloo on CPU), with the same data, model, seed and global batch, each in a fresh temporary
BIGMODEL_HOME. Runs alternate 1, 2, 1, 2, ... (--pairs pairs), so a drift in the machine's load hits
both alike; the speed ratio is taken pair by pair from the epochs' `samples_per_s` (the whole job's
rate, all ranks together) and its median quoted, and the whole command's wall time is given too
(process start, torchrun's rendezvous and data preparation included).

Parity: `batch_size` is the global batch, so 1 and 2 processes train on the same batches in the same
order and every epoch's train_loss must agree within --tolerance (1e-4). Dropout is set to 0
(`--set dropout=0`): each rank draws its own dropout masks, so with dropout on the losses differ by
design, and the check is about the sharding, the gradient all-reduce and the metric reduction.

Until the CLI offers `--processes` (`train --help`), this prints one `"kind": "skipped"` line and exits 0.

    python bench/ddp_speed.py [--data DIR --rows 20000] [--epochs 3] [--pairs 2] [--set KEY=VALUE ...] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import REPO, emit

BENCH = "ddp_speed"
CLI = [sys.executable, "-m", "bigmodel_core"]
TOLERANCE = 1e-4
PARITY_SETTINGS = ["dropout=0"]


def processes_supported() -> bool:
    """Whether this build's `train` accepts --processes (the help text lists it)."""
    done = subprocess.run([*CLI, "train", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    return done.returncode == 0 and "--processes" in done.stdout


def train(processes: int, spec: str, model: str, epochs: int, settings: list[str], timeout: float) -> dict:
    """One `train --processes N --json` run: its epoch_end rows, fit_end metrics and wall seconds."""
    cmd = [*CLI, "train", "--data", spec, "--model", model, "--epochs", str(epochs), "--seed", "0",
           "--processes", str(processes), "--json"]
    for s in settings:
        cmd += ["--set", s]
    with tempfile.TemporaryDirectory(prefix="bench-ddp-") as home:
        t0 = time.perf_counter()
        # its own session, so a timeout ends torchrun and every rank it started, and nothing else
        proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "BIGMODEL_HOME": home}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise SystemExit(f"train --processes {processes} did not finish within {timeout:.0f} s") from None
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        last = (err.strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"train --processes {processes} exited with {proc.returncode}: {last}")
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    epochs_rows = [e for e in events if e.get("event") == "epoch_end"]
    end = next((e for e in events if e.get("event") == "fit_end"), None)
    if end is None or not epochs_rows:
        raise SystemExit(f"train --processes {processes} printed no epoch_end/fit_end events")
    return {"processes": processes, "wall_seconds": wall, "run": end.get("run"), "metrics": end.get("metrics", {}),
            "train_loss": [e["train_loss"] for e in epochs_rows],
            "samples_per_s": [e["samples_per_s"] for e in epochs_rows]}


def rate(run: dict) -> float:
    """Median samples/s over the epochs after the first (the first also warms up), all epochs if only one."""
    xs = run["samples_per_s"][1:] or run["samples_per_s"]
    return statistics.median(xs)


def parity(one: dict, two: dict) -> float:
    """Largest per-epoch |train_loss(1 process) - train_loss(2 processes)|."""
    if len(one["train_loss"]) != len(two["train_loss"]):
        return float("inf")
    return max(abs(a - b) for a, b in zip(one["train_loss"], two["train_loss"]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder with SST-2 train.tsv (default: the built-in reviews)")
    ap.add_argument("--rows", type=int, default=20000, help="SST-2 rows with --data")
    ap.add_argument("--model", default="lstm")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=2, help="alternated (1 process, 2 processes) pairs")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="another setting for both sides")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for one training command")
    ap.add_argument("--quick", action="store_true", help="the built-in reviews, 2 epochs, 1 pair")
    args = ap.parse_args(argv)
    if args.quick:
        args.data, args.epochs, args.pairs = None, 2, 1
    if not processes_supported():
        emit(BENCH, kind="skipped", reason="distributed training not available in this build "
             "(`python -m bigmodel_core train --help` lists no --processes)")
        return 0
    if args.data and not (Path(args.data) / "train.tsv").exists():
        emit(BENCH, kind="skipped", reason=f"SST-2 not found at {args.data}; pass --data DIR")
        return 0
    spec = f"csv:{Path(args.data) / 'train.tsv'}" if args.data else "builtin:synthetic_reviews"
    settings = PARITY_SETTINGS + args.set + ([f"max_rows={args.rows}"] if args.data else [])
    emit(BENCH, kind="setup", spec=spec, model=args.model, epochs=args.epochs, pairs=args.pairs, settings=settings,
         **_common.machine())
    pairs = []
    for pair in range(args.pairs):
        runs = {}
        for n in (1, 2):
            runs[n] = train(n, spec, args.model, args.epochs, settings, args.timeout)
            emit(BENCH, kind="run", pair=pair, **runs[n])
        pairs.append(runs)
    ratios = [rate(p[2]) / rate(p[1]) for p in pairs]
    wall_ratios = [p[2]["wall_seconds"] / p[1]["wall_seconds"] for p in pairs]
    diffs = [parity(p[1], p[2]) for p in pairs]
    worst = max(diffs)
    emit(BENCH, kind="summary", spec=spec, model=args.model, epochs=args.epochs, pairs=args.pairs,
         samples_per_s={"1": statistics.median(rate(p[1]) for p in pairs),
                        "2": statistics.median(rate(p[2]) for p in pairs)},
         ratio=statistics.median(ratios), pair_ratios=ratios, wall_ratio=statistics.median(wall_ratios),
         max_train_loss_diff=worst, tolerance=args.tolerance, parity=worst <= args.tolerance,
         val_accuracy={"1": pairs[0][1]["metrics"].get("val_accuracy"), "2": pairs[0][2]["metrics"].get("val_accuracy")},
         passed=worst <= args.tolerance)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
