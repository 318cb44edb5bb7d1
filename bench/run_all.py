"""Run every benchmark, each in its own process, and print their JSON lines (plus one summary line).

Each script runs in a fresh Python process so that one benchmark's torch thread setting or loaded
kernels do not leak into the next. `--quick` passes --quick to each (digits_cnn: --repeats 1), the
shorter versions (~7 min in all on a 2-core machine); without it the full set takes ~37 min.

    python bench/run_all.py [--quick] [--only train_throughput,lime_speed] [--data DIR] [--out FILE.jsonl]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core

HERE = Path(__file__).resolve().parent
BENCHES = ("train_throughput", "sst2_accuracy", "lime_speed", "browser_overhead", "digits_cnn", "sst2_word2vec",
           "embeddings_speed", "sst2_small", "images_28", "classroom", "logging_overhead", "scaling_sst2",
           "pretrained_sst2")  # pretrained_sst2 needs --weights DIR or BIGMODEL_BENCH_WEIGHTS, else it says "skipped"
NEEDS_DATA = {"train_throughput", "sst2_accuracy", "lime_speed", "sst2_word2vec", "embeddings_speed", "sst2_small",
              "scaling_sst2", "pretrained_sst2"}
QUICK_ARGS = {"digits_cnn": ["--repeats", "1"]}  # digits_cnn (issue 3) has no --quick of its own


def run_one(name: str, args, out) -> dict | None:
    cmd = [sys.executable, str(HERE / f"{name}.py")]
    if args.quick:
        cmd += QUICK_ARGS.get(name, ["--quick"])
    if name in NEEDS_DATA and args.data:
        cmd += ["--data", args.data]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=_common.REPO, stdout=subprocess.PIPE, text=True)
    summary = None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if out is not None:
            out.write(line)
            out.flush()
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("kind") == "summary":
            summary = row
    code = proc.wait()
    return {"bench": name, "exit_code": code, "seconds": time.perf_counter() - t0, "summary": summary}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter versions of every benchmark")
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset of " + ",".join(BENCHES))
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--out", default=None, help="also append every JSON line to this file")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(BENCHES)
    if unknown:
        ap.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {BENCHES}")
    out = open(args.out, "a", encoding="utf-8") if args.out else None
    results = []
    for name in names:
        if not (HERE / f"{name}.py").exists():
            results.append({"bench": name, "skipped": f"bench/{name}.py is not there"})
            continue
        if name in NEEDS_DATA and not args.data:
            results.append({"bench": name, "skipped": "SST-2 not found; pass --data DIR"})
            continue
        results.append(run_one(name, args, out))
    done = {"bench": "run_all", "kind": "summary", "quick": args.quick, **_common.machine(),
            "results": [{k: v for k, v in r.items() if k != "summary"} |
                        {"passed": (r.get("summary") or {}).get("passed")} for r in results]}
    line = json.dumps(done)
    print(line, flush=True)
    if out is not None:
        out.write(line + "\n")
        out.close()
    return 0 if all(r.get("exit_code", 0) == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
