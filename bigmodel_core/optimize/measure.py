"""One measurement for every run compared on the Optimize page: what it costs and what it scores.

parameters (numbers stored: int8 values count as parameters too) and how many are not zero; the
weights file's size and its zipped size (a pruned model stored densely keeps its size, but its zeros
zip away); CPU latency after warm-up at batch 1 and 32 (median and 95th percentile); accuracy and
macro-F1 on the run's own test split (the parent's split, for a derived run). Stored in the run's
record (`RunInfo.measure`) so the comparison survives a restart.
"""
from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import msg

QUANT_SUFFIXES = (".scale", ".zero_point", ".scales", ".zero_points", ".axis")


def stored_counts(tensors: dict) -> tuple[int, int]:
    """(parameters, non-zero parameters) of a weights file's tensors, leaving out quantization's scales."""
    total = nonzero = 0
    for key, t in tensors.items():
        if key.endswith(QUANT_SUFFIXES) or not (t.is_floating_point() or key.endswith(".int8")):
            continue
        total += t.numel()
        nonzero += int((t != 0).sum())
    return total, nonzero


def _percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000
    return float(np.median(ms)), float(np.percentile(ms, 95))


def _inputs(info, predictor, home) -> list:
    """Up to 32 real inputs from the run's test split (validation if it has none)."""
    from ..data.dataset import load_dataset

    ds = load_dataset(info.config.data)
    split = "test" if len(ds.split["test"]) else "val"
    items, _ = ds.part(split)
    if info.task == "image":
        from ..data.images.dataset import to_model_image

        pre = predictor.preprocess
        return [to_model_image(img, pre.size, pre.channels) for img in list(items)[:32]]
    return list(items)[:32]


def latency(predictor, inputs: list, repeats: int = 30) -> dict[str, float]:
    """p50/p95 milliseconds at batch 1 and 32 (inputs repeated to fill a batch), after a warm-up."""
    one, batch = inputs[:1], (inputs * (32 // max(len(inputs), 1) + 1))[:32]
    for _ in range(3):
        predictor.predict_proba(one)
        predictor.predict_proba(batch)
    singles, batches = [], []
    for i in range(repeats):
        x = [inputs[i % len(inputs)]]
        t0 = time.perf_counter()
        predictor.predict_proba(x)
        singles.append(time.perf_counter() - t0)
    for _ in range(max(3, repeats // 5)):
        t0 = time.perf_counter()
        predictor.predict_proba(batch)
        batches.append(time.perf_counter() - t0)
    p50_1, p95_1 = _percentiles(singles)
    p50_32, p95_32 = _percentiles(batches)
    return {"p50_b1": p50_1, "p95_b1": p95_1, "p50_b32": p50_32, "p95_b32": p95_32}


def measure_run(run: str, home: Any = None, repeats: int = 30) -> dict[str, Any]:
    """Measure run `run` and record the result in its run.json (`measure`); returns it."""
    from safetensors.torch import load_file

    from ..runs.store import read_run, resolve_run, write_record
    from ..serve.bundle import load_bundle

    folder = resolve_run(run, home)
    info = read_run(folder)
    weights = Path(folder) / "weights.safetensors"
    blob = weights.read_bytes()
    total, nonzero = stored_counts(load_file(str(weights)))
    predictor = load_bundle(info.id, home=home)
    result = {"parameters": total, "nonzero_parameters": nonzero, "size_bytes": len(blob),
              "zipped_bytes": len(zlib.compress(blob, 6)),
              "latency_ms": latency(predictor, _inputs(info, predictor, home), repeats),
              "accuracy": (info.metrics or {}).get("test_accuracy"),
              "macro_f1": (info.metrics or {}).get("test_macro_f1"),
              "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    info.measure = result
    write_record(info, home, strict=False)
    return result


def comparison(runs: list) -> list[dict[str, Any]]:
    """The Optimize page's table: one row per measured run, with each figure as a share of the first run's."""
    rows = []
    base = next((r.measure for r in runs if r.measure), None)
    for r in runs:
        m = r.measure or {}
        lat = m.get("latency_ms", {})
        d = r.config.derive or {}
        how = _how(d)
        rows.append({"run": r.name, "how": how, "model": r.model_name, "parameters": m.get("parameters"),
                     "non-zero parameters": m.get("nonzero_parameters"), "file MB": _mb(m.get("size_bytes")),
                     "zipped MB": _mb(m.get("zipped_bytes")), "ms (1)": lat.get("p50_b1"), "ms p95 (1)": lat.get("p95_b1"),
                     "ms (32)": lat.get("p50_b32"), "accuracy": m.get("accuracy"), "macro-F1": m.get("macro_f1"),
                     "size vs first": (m["size_bytes"] / base["size_bytes"]) if base and m.get("size_bytes") else None})
    return rows


def _how(d: dict[str, Any]) -> str:
    """How a run of the comparison was made, in a few words (a translatable sentence)."""
    kind = d.get("kind")
    if kind == "prune":
        share = float(d.get("sparsity", 0))
        if d.get("finetune_epochs"):
            return msg("engine.measure.pruned_finetuned", "pruned {share:.0%}, fine-tuned {epochs} epoch(s)",
                       share=share, epochs=d.get("finetune_epochs"))
        return msg("engine.measure.pruned", "pruned {share:.0%}", share=share)
    if kind == "quantize":
        if (d.get("recipe") or {}).get("kind") == "static_int8":
            return msg("engine.measure.int8_static", "int8 (static)")
        return msg("engine.measure.int8_dynamic", "int8 (dynamic)")
    if kind == "distil":
        return msg("engine.measure.distilled", "distilled from {teacher}", teacher=str(d.get("teacher")))
    return msg("engine.measure.original", "original")


def _mb(n):
    return None if n is None else n / 2**20



def family(runs: list, parent_id: str) -> list:
    """`parent_id`'s run followed by every run derived from it (pruned, quantized, distilled), oldest first."""
    parent = [r for r in runs if r.id == parent_id]
    children = sorted((r for r in runs if r.parent == parent_id and r.config.derive), key=lambda r: (r.created, r.id))
    return parent + children


def measured(runs: list, home: Any = None) -> list:
    """`runs` with every one measured (those without a measurement are measured now and recorded)."""
    from ..runs.store import read_run, resolve_run

    out = []
    for r in runs:
        if not r.measure:
            measure_run(r.id, home=home)
            r = read_run(resolve_run(r.id, home))
        out.append(r)
    return out
