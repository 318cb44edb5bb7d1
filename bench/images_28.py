"""Image-size benchmark: the default image model vs LeNet on 28x28 digits built from what the app has, and at 8x8.

Two 28x28 sets of 8,000 images, both made from scikit-learn's 8x8 digits (seeded):
  shifted: each digit enlarged to a 14-21 px box, turned up to 12 degrees, put at a random place, light noise;
  drawn:   each digit enlarged onto a 112x112 "canvas" (dark ink on white, anywhere on it) and passed
           through the app's own drawing pipeline (`prepare_drawing`: crop, 20x20 box, centred by mass).
plus shifted64, the shifted set at 64x64 (3,000 images), for a larger size. The test split holds only
variants of original digits that no training or validation image comes from. Each set is saved as .npz
and trained through the engine (`train_run`, DataConfig("npz:PATH")), then the same models on
builtin:digits (8x8). Prints JSON lines, the last a "kind": "summary" line; ~5 min on 2 cores.
  python bench/images_28.py [--epochs 3] [--seeds 3] [--threads 1] [--set schedule=constant] [--quick]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from _common import emit, machine, median  # noqa: E402  (puts the repo on sys.path)

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.data.labels import split_indices
from bigmodel_core.data.images.drawing import prepare_drawing
from bigmodel_core.data.images.dataset import load_image_dataset
from bigmodel_core.models._registry import count_parameters
from bigmodel_core.settings import field_setting
from bigmodel_core.training.run import train_run

SIZE = 28
# (row name, model, settings): the default preset, LeNet, and the preset before the fix for the record
MODELS = [("convnet (default)", "convnet", {}), ("lenet", "lenet", {}),
          ("old convnet preset", "convnet", {"block_channels": [32, 64], "auto_depth": False})]


def _held_out_sources(seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """scikit-learn's digits (0..1 floats, (1797, 8, 8)), labels, and which originals each split may use."""
    digits = load_digits()
    idx = np.arange(len(digits.target))
    train_src, test_src = train_test_split(idx, test_size=0.2, random_state=seed, stratify=digits.target)
    return digits.images / 16.0, digits.target, {"train": train_src, "test": test_src}


def _assign_sources(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, original digit index) per row: test rows (as the engine will split them) use held-out originals."""
    images, targets, pools = _held_out_sources(seed)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    cfg = DataConfig()
    test_rows = set(split_indices(labels, cfg.val_fraction, cfg.test_fraction, cfg.seed)["test"].tolist())
    source = np.empty(n, dtype=np.int64)
    for i, y in enumerate(labels):
        pool = pools["test" if i in test_rows else "train"]
        source[i] = rng.choice(pool[targets[pool] == y])
    return labels, source


def _enlarge(digit: np.ndarray, side: int, angle: float) -> np.ndarray:
    """(8, 8) in 0..1 -> (h, w) float32 in 0..1, bilinear to side x side, turned by `angle` degrees."""
    pic = Image.fromarray((digit * 255).astype(np.uint8)).resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(pic.rotate(angle, Image.Resampling.BILINEAR, expand=True), dtype=np.float32) / 255.0


def shifted_digits(n: int, seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(n, size, size) uint8 light digits on black at random sizes, angles and places; (n,) labels."""
    digits = _held_out_sources(seed)[0]
    labels, source = _assign_sources(n, seed)
    rng = np.random.default_rng(seed + 1)
    out = np.zeros((n, size, size), dtype=np.float32)
    low, high = round(size / 2), round(size * 0.75)  # 14-21 px in 28
    for i, j in enumerate(source):
        glyph = _enlarge(digits[j], int(rng.integers(low, high + 1)), float(rng.uniform(-12, 12)))[:size, :size]
        h, w = glyph.shape
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        out[i, top:top + h, left:left + w] = glyph
    out += rng.normal(0.0, 0.03, out.shape).astype(np.float32)
    return np.clip(out * 255, 0, 255).astype(np.uint8), labels


def drawn_digits(n: int, seed: int, canvas: int = 112) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) uint8: digits 'drawn' dark on white anywhere on a canvas, then the app's drawing pipeline."""
    digits = _held_out_sources(seed)[0]
    labels, source = _assign_sources(n, seed)
    rng = np.random.default_rng(seed + 2)
    out = np.empty((n, SIZE, SIZE), dtype=np.uint8)
    for i, j in enumerate(source):
        glyph = _enlarge(digits[j], int(rng.integers(40, 90)), float(rng.uniform(-12, 12)))[:canvas, :canvas]
        h, w = glyph.shape
        paper = np.ones((canvas, canvas), dtype=np.float32)
        top, left = rng.integers(0, canvas - h + 1), rng.integers(0, canvas - w + 1)
        paper[top:top + h, left:left + w] -= glyph
        rgb = np.repeat((np.clip(paper, 0, 1) * 255).astype(np.uint8)[:, :, None], 3, axis=2)  # (canvas, canvas, 3)
        out[i] = prepare_drawing(rgb, SIZE, 1)[:, :, 0]
    return out, labels


def save_npz(folder: Path, name: str, images: np.ndarray, labels: np.ndarray) -> str:
    path = folder / f"{name}.npz"
    np.savez(path, images=images, labels=labels)
    return str(path)


def check_test_split(spec: str, labels: np.ndarray) -> None:
    """The engine splits the file as `_assign_sources` expected, so its test rows really are held out."""
    cfg = DataConfig(spec)
    ds = load_image_dataset(cfg)
    expected = split_indices(labels, cfg.val_fraction, cfg.test_fraction, cfg.seed)["test"]
    assert np.array_equal(ds.split["test"], expected) and np.array_equal(ds.labels, labels), spec


def train_settings(pairs: list[str]) -> dict:
    """`--set key=value` pairs -> TrainConfig overrides, parsed as the CLI parses them."""
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        spec = field_setting(TrainConfig, key.strip())
        if spec is None:
            raise SystemExit(f"'{key}' is not a TrainConfig setting.")
        out[key.strip()] = spec.parse(key.strip(), value)
    return out


def train_one(spec: str, model: str, params: dict, train: dict, seed: int, home: str) -> dict:
    cfg = RunConfig(DataConfig(spec), ModelConfig(model, dict(params)), TrainConfig(**{**train, "seed": seed}))
    t = time.perf_counter()
    info = train_run(cfg, home=home)
    m = info.metrics
    return {"test_accuracy": m["test_accuracy"], "train_accuracy": m["train_accuracy"], "val_accuracy": m["val_accuracy"],
            "parameters": count_parameters(model, info.data_info, **info.model_params),
            "seconds": time.perf_counter() - t}


def build_sets(folder: Path, rows: int) -> dict[str, str]:
    """{set name: data spec}: the two 28x28 sets, a 64x64 one (a larger size, fewer rows) and the 8x8 built-in."""
    specs = {}
    for name, build, n in (("shifted28", shifted_digits, rows), ("drawn28", drawn_digits, rows),
                           ("shifted64", lambda k, seed: shifted_digits(k, seed, 64), max(rows * 3 // 8, 200))):
        t = time.perf_counter()
        images, labels = build(n, 0)
        spec = "npz:" + save_npz(folder, name, images, labels)
        check_test_split(spec, labels)
        emit("images_dataset", set=name, rows=len(labels), size=int(images.shape[1]), seconds=time.perf_counter() - t)
        specs[name] = spec
    specs["digits8"] = "builtin:digits"
    return specs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seeds", type=int, default=3, help="training seeds per model on the 28x28 and 8x8 sets (data: seed 0)")
    p.add_argument("--threads", type=int, default=1, help="the app picks 1 on 2 cores")
    p.add_argument("--rows", type=int, default=8000, help="images per 28x28 set (the 64x64 set gets 3/8 of it)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="another TrainConfig setting, e.g. schedule=constant (repeatable)")
    p.add_argument("--quick", action="store_true", help="2,000 rows, 1 epoch, 1 seed: a smoke run (~15 s)")
    args = p.parse_args()
    if args.quick:
        args.rows, args.epochs, args.seeds = 2000, 1, 1
    train = {"epochs": args.epochs, "num_threads": args.threads, **train_settings(args.set)}
    emit("images_machine", **machine())
    emit("images_train_config", **{k: v for k, v in asdict(TrainConfig(**train)).items() if k != "seed"})
    accuracy: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        specs = build_sets(Path(tmp), args.rows)
        for name, spec in specs.items():
            seeds = 1 if name == "shifted64" else args.seeds  # the 64x64 runs cost ~5x a 28x28 image each
            for row, model, params in MODELS:
                runs = [train_one(spec, model, params, train, seed, str(Path(tmp) / "home"))
                        for seed in range(seeds)]
                for seed, r in enumerate(runs):
                    emit("images_run", set=name, model=row, seed=seed, epochs=args.epochs, **r)
                emit("images_summary", set=name, model=row, runs=len(runs), parameters=runs[0]["parameters"],
                     median_test_accuracy=median([r["test_accuracy"] for r in runs]),
                     min_test_accuracy=min(r["test_accuracy"] for r in runs),
                     median_train_accuracy=median([r["train_accuracy"] for r in runs]),
                     median_seconds=median([r["seconds"] for r in runs]))
                accuracy.setdefault(name, {})[row] = median([r["test_accuracy"] for r in runs])
    default, lenet = MODELS[0][0], MODELS[1][0]
    emit("images_28", kind="summary", epochs=args.epochs, seeds=args.seeds, median_test_accuracy=accuracy,
         passed=all(acc[default] >= acc[lenet] for acc in accuracy.values()))


if __name__ == "__main__":
    main()
