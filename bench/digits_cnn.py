"""Digits benchmarks (issue 3): time from pressing Train to 0.98 test accuracy, and images/s vs plain PyTorch.

Prints JSON lines, the last a "kind": "summary" line with both figures. Both use the default image
model (convnet) on the built-in digits.
  python bench/digits_cnn.py [--repeats 3] [--threads 1] [--quick]
"""
from __future__ import annotations

import argparse
import time

from _common import emit, machine, median  # noqa: E402  (puts the repo on sys.path)

import torch
import torch.nn.functional as F

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.training.callbacks import Callback
from bigmodel_core.training.metrics import predict_batches
from bigmodel_core.training.run import prepare, train_run

TARGET = 0.98


class TestAccuracyClock(Callback):
    """After every epoch: accuracy on the run's own test split, and seconds since Train was pressed."""

    def __init__(self, pressed: float) -> None:
        self.pressed, self.prep, self.rows = pressed, None, []

    def on_epoch_end(self, trainer, event) -> None:
        out = predict_batches(trainer.model, self.prep.batches["test"], trainer.device)
        acc = float((out["probs"].argmax(1) == out["labels"]).mean())
        self.rows.append({"epoch": event.epoch, "test_accuracy": acc, "seconds": time.perf_counter() - self.pressed})
        trainer.model.train()


def time_to_target(threads: int, epochs: int, seed: int) -> dict:
    cfg = RunConfig(DataConfig("builtin:digits"), ModelConfig("convnet"),
                    TrainConfig(epochs=epochs, num_threads=threads, seed=seed))
    pressed = time.perf_counter()
    clock = TestAccuracyClock(pressed)
    clock.prep = prepare(cfg)  # the same split and batches the run uses, for the test evaluation
    info = train_run(cfg, [clock], home="/tmp/bigmodel-bench-digits")
    hit = next((r for r in clock.rows if r["test_accuracy"] >= TARGET), None)
    return {"final_test_accuracy": info.metrics["test_accuracy"], "best_test_accuracy": max(r["test_accuracy"] for r in clock.rows),
            "seconds_to_target": hit["seconds"] if hit else None, "epoch_at_target": hit["epoch"] if hit else None,
            "total_seconds": time.perf_counter() - pressed}


def engine_images_per_s(threads: int, epochs: int) -> float:
    from bigmodel_core.training.trainer import Trainer

    cfg = RunConfig(DataConfig("builtin:digits"), ModelConfig("convnet"), TrainConfig(epochs=epochs, num_threads=threads))
    prep = prepare(cfg)
    trainer = Trainer(cfg.train)
    t = time.perf_counter()
    trainer.fit(prep.model, prep.batches["train"], None)
    return prep.batches["train"].num_examples * epochs / (time.perf_counter() - t)


def plain_images_per_s(threads: int, epochs: int) -> float:
    """What a tutorial writes: TensorDataset + DataLoader(shuffle) + the same model, optimizer and batch size."""
    from torch.utils.data import DataLoader, TensorDataset

    cfg = RunConfig(DataConfig("builtin:digits"), ModelConfig("convnet"), TrainConfig(epochs=epochs, num_threads=threads))
    prep = prepare(cfg)  # same model, same normalised training images
    x, y = prep.batches["train"].images, prep.batches["train"].labels
    loader = DataLoader(TensorDataset(x, y), batch_size=cfg.train.batch_size, shuffle=True)
    torch.set_num_threads(threads)
    model = prep.model
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    model.train()
    t = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    return len(y) * epochs / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="same for engine and plain loop (the app picks 1 on 2 cores)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="one repeat")
    args = p.parse_args()
    if args.quick:
        args.repeats = 1
    emit("digits_machine", **machine())
    runs = [time_to_target(args.threads, args.epochs, seed) for seed in range(args.repeats)]
    for seed, r in enumerate(runs):
        emit("digits_time_to_098", seed=seed, **r)
    secs = [r["seconds_to_target"] for r in runs]
    emit("digits_time_to_098_summary", target_accuracy=TARGET, reached=sum(s is not None for s in secs), runs=len(runs),
         median_seconds_to_target=median(secs), target_seconds=10.0,
         median_final_test_accuracy=median([r["final_test_accuracy"] for r in runs]))
    ratios, rates = [], []
    for _ in range(args.repeats):  # alternate so drift in machine load hits both sides alike
        plain = plain_images_per_s(args.threads, 3)
        engine = engine_images_per_s(args.threads, 3)
        ratios.append(engine / plain)
        rates.append((engine, plain))
        emit("digits_images_per_s", engine=engine, plain=plain, ratio=engine / plain)
    emit("digits_images_per_s_summary", median_ratio=median(ratios), target_ratio=1.0, threads=args.threads)
    to_target, ratio = median(secs), median(ratios)
    final = median([r["final_test_accuracy"] for r in runs])
    emit("digits_cnn", kind="summary", repeats=args.repeats, threads=args.threads, target_accuracy=TARGET,
         reached=sum(s is not None for s in secs), median_seconds_to_target=to_target, target_seconds=10.0,
         median_final_test_accuracy=final, engine_images_per_s=median([e for e, _ in rates]),
         plain_images_per_s=median([p for _, p in rates]), images_per_s_ratio=ratio, target_ratio=1.0,
         passed=to_target is not None and to_target <= 10.0 and final >= TARGET and ratio >= 1.0)


if __name__ == "__main__":
    main()
