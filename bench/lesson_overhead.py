"""What the classroom features cost: per-layer gradient norms during training, and a page drawn in Chinese.

1. Gradient norms: the same seeded run (an LSTM on the built-in reviews) trained with the Train page's
   per-layer gradient norms measured (as shipped: about 200 measurements a run) and with them switched off
   (GradNorms.due -> False), after one warm-up run, in the order AB BA AB so the machine's noise hits both;
   the median samples/s of each, and
   the ratio measured ÷ off (target ≥ 0.97: the chart may cost at most 3 %).
2. Chinese pages: each page rendered by AppTest with the interface in English and in Chinese (a fresh
   AppTest per render, alternating), seconds per render; ratio zh ÷ en (target ≤ 1.10: translating
   every string through the locale files must not slow a page noticeably).

    python bench/lesson_overhead.py [--pairs 3] [--rows 6000] [--epochs 8] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import REPO, emit

BENCH = "lesson_overhead"
PAGES = ["app.py", "pages/1_Data.py", "pages/2_Model.py", "pages/3_Train.py", "pages/11_Glossary.py"]


def _train_once(rows: int, epochs: int, norms: bool) -> float:
    import torch

    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training import grad_norms
    from bigmodel_core.training.run import train_run

    original = grad_norms.GradNorms.due
    if not norms:
        grad_norms.GradNorms.due = lambda self, step: False
    try:
        torch.set_num_threads(1)
        cfg = RunConfig(DataConfig(max_rows=rows), ModelConfig("lstm", {}), TrainConfig(epochs=epochs, batch_size=32))
        with tempfile.TemporaryDirectory() as home:
            start = time.perf_counter()
            info = train_run(cfg, home=home)
            seconds = time.perf_counter() - start
        return info.examples_seen / seconds if getattr(info, "examples_seen", None) else rows * epochs / seconds
    finally:
        grad_norms.GradNorms.due = original


def gradient_norms(pairs: int, rows: int, epochs: int) -> dict:
    speeds = {"measured": [], "off": []}
    _train_once(min(rows, 500), 1, True)  # warm: the first run of a process pays for imports and allocations
    for i in range(pairs):
        for mode in (("measured", "off") if i % 2 == 0 else ("off", "measured")):  # A B, B A, ...
            speeds[mode].append(_train_once(rows, epochs, mode == "measured"))
            emit(BENCH, kind="train", mode=mode, samples_per_s=round(speeds[mode][-1], 1))
    med = {k: statistics.median(v) for k, v in speeds.items()}
    ratio = med["measured"] / med["off"]
    return emit(BENCH, kind="summary_norms", samples_per_s=med, ratio=round(ratio, 3), target=0.97,
                passed=ratio >= 0.97, pairs=pairs, rows=rows, epochs=epochs)


def _render(script: str, lang: str) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["ui_lang"] = lang
    start = time.perf_counter()
    at.run()
    if script != "app.py":
        at.switch_page(script).run()
    seconds = time.perf_counter() - start
    assert not at.exception, [e.value for e in at.exception]
    return seconds


def chinese_pages(pairs: int) -> dict:
    os.environ.setdefault("BIGMODEL_HOME", tempfile.mkdtemp(prefix="bench-lesson-"))
    times = {"en": [], "zh-CN": []}
    for script in PAGES:
        _render(script, "en")  # warm: imports and caches are not what is measured
        for _ in range(pairs):
            for lang in ("en", "zh-CN"):
                times[lang].append(_render(script, lang))
        emit(BENCH, kind="page", page=script, en_s=round(statistics.median(times["en"][-pairs:]), 3),
             zh_s=round(statistics.median(times["zh-CN"][-pairs:]), 3))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["zh-CN"] / med["en"]
    return emit(BENCH, kind="summary_pages", seconds=med, ratio=round(ratio, 3), target=1.10, passed=ratio <= 1.10,
                pages=len(PAGES), pairs=pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=6000, help="the built-in reviews' rows (6,000: all of them)")
    ap.add_argument("--epochs", type=int, default=8, help="8: the default run, 1,200 optimizer steps")
    ap.add_argument("--quick", action="store_true", help="1 pair, 1,000 rows, 1 epoch")
    args = ap.parse_args()
    if args.quick:
        args.pairs, args.rows, args.epochs = 1, 1000, 1
    norms = gradient_norms(args.pairs, args.rows, args.epochs)
    pages = chinese_pages(max(args.pairs, 2))
    emit(BENCH, kind="summary", norms_ratio=norms["ratio"], pages_ratio=pages["ratio"],
         passed=norms["passed"] and pages["passed"])


if __name__ == "__main__":
    main()
