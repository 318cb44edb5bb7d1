"""REST speed: requests per second at batch 1 for the default LSTM behind `python -m bigmodel_core serve`.

Trains the engine's default "lstm" preset (1 epoch) on SST-2 train.tsv read through `csv:` (--max-rows rows;
the built-in synthetic reviews when SST-2 is not there), or takes --run/--home. Then, in the same run:

  inprocess  the reference: `predict_proba([sentence])` of load_bundle's predictor in this process
             (tokenizing included), one dev sentence per call
  rest       a real server child (ServerProcess: the CLI's `serve`, uvicorn, access log on, as users get it)
             answering POST /predict {"texts": [sentence]} over keep-alive HTTP connections from
             --concurrency client threads on the same machine (so client and server share its cores)

With --onnx the run is also exported (serve.onnx_export, verified) and served again by onnxruntime.
One JSON line per measurement (bench/_common.emit) and a final "kind": "summary" line.

    python bench/rest_speed.py [--data DIR] [--max-rows 20000] [--run RUN --home DIR] [--requests 600]
                               [--concurrency 1,4] [--onnx]
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
import numpy as np
from _common import default_data_dir, emit, machine, read_sst2

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.serve.server import ServerProcess, free_port
from bigmodel_core.training.run import train_run

BENCH = "rest_speed"


def train_default_lstm(data_dir: str | None, home: str, max_rows: int) -> str:
    spec = f"csv:{data_dir}/train.tsv" if data_dir else "builtin:synthetic_reviews"
    cfg = RunConfig(DataConfig(spec=spec, max_rows=max_rows), ModelConfig("lstm", {}), TrainConfig(epochs=1),
                    name="bench-rest-lstm")
    t0 = time.perf_counter()
    info = train_run(cfg, home=home)
    emit(BENCH, kind="trained", run=info.id, data=spec, model_params=info.model_params, parameters=info.parameters,
         test_accuracy=info.metrics.get("test_accuracy"), seconds=round(time.perf_counter() - t0, 1),
         train_rows=info.data_info["split"]["train"])
    return info.id


def sentences(data_dir: str | None, n: int = 200) -> list[str]:
    if data_dir:
        texts, _ = read_sst2(data_dir, "dev")
        return texts[:n]
    from bigmodel_core.data import load_dataset

    return list(load_dataset(DataConfig(max_rows=n)).texts)


def stats(seconds: list[float], wall: float) -> dict:
    ms = 1000 * np.asarray(seconds)
    return {"requests": len(seconds), "seconds": round(wall, 3), "rps": round(len(seconds) / wall, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def inprocess(run: str, home: str, texts: list[str], warmup: int, requests: int) -> dict:
    predictor = load_bundle(run, home=home)
    for i in range(warmup):
        predictor.predict_proba([texts[i % len(texts)]])
    times = []
    t_all = time.perf_counter()
    for i in range(requests):
        t0 = time.perf_counter()
        predictor.predict_proba([texts[i % len(texts)]])
        times.append(time.perf_counter() - t0)
    return stats(times, time.perf_counter() - t_all)


def _client(port: int, texts: list[str], start: int, count: int, out: list[float], errors: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # one keep-alive connection per client
    headers = {"Content-Type": "application/json"}
    try:
        for i in range(start, start + count):
            body = json.dumps({"texts": [texts[i % len(texts)]]})
            t0 = time.perf_counter()
            conn.request("POST", "/predict", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append((resp.status, data[:200]))
    finally:
        conn.close()


def rest(port: int, texts: list[str], warmup: int, requests: int, concurrency: int) -> dict:
    _client(port, texts, 0, warmup, [], [])
    per = requests // concurrency
    times: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list = []
    threads = [threading.Thread(target=_client, args=(port, texts, k * per, per, times[k], errors))
               for k in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, the first: {errors[0]}")
    return stats([x for ts in times for x in ts], wall)


def serve_and_measure(run: str, home: str, texts: list[str], args, levels: list[int]) -> dict:
    server = ServerProcess(run, port=free_port(start=18000), home=home)
    t0 = time.perf_counter()
    server.start()
    startup = round(time.perf_counter() - t0, 2)
    out = {}
    try:
        for c in levels:
            row = rest(server.port, texts, args.warmup, args.requests, c)
            out[c] = row
            emit(BENCH, kind="rest", backend=server.backend, concurrency=c, batch=1, startup_s=startup, **row)
    finally:
        server.stop()
    return {"backend": server.backend, "startup_s": startup, "levels": out}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=default_data_dir(), help="a folder with SST-2's train.tsv and dev.tsv")
    p.add_argument("--max-rows", type=int, default=20_000)
    p.add_argument("--run")
    p.add_argument("--home")
    p.add_argument("--requests", type=int, default=600)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--concurrency", default="1,4")
    p.add_argument("--onnx", action="store_true", help="also export to ONNX and serve it with onnxruntime")
    args = p.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    emit(BENCH, kind="machine", **machine())
    with tempfile.TemporaryDirectory(prefix="bench-rest-") as tmp:
        home = args.home or tmp
        run = args.run or train_default_lstm(args.data, home, args.max_rows)
        texts = sentences(args.data)
        ref = inprocess(run, home, texts, args.warmup, args.requests)
        emit(BENCH, kind="inprocess", backend="pytorch", batch=1, **ref)
        served = [serve_and_measure(run, home, texts, args, levels)]
        if args.onnx:
            from bigmodel_core.serve.onnx_export import export_onnx

            record = export_onnx(run, home)
            emit(BENCH, kind="exported", verified=record["verified"], max_abs_diff=record["max_abs_diff"])
            served.append(serve_and_measure(run, home, texts, args, levels))
    first = served[0]["levels"][1] if 1 in served[0]["levels"] else next(iter(served[0]["levels"].values()))
    emit(BENCH, kind="summary", run=run, batch=1, inprocess_rps=ref["rps"], inprocess_p50_ms=ref["p50_ms"],
         rest_rps={s["backend"]: {str(c): r["rps"] for c, r in s["levels"].items()} for s in served},
         rest_p50_ms={s["backend"]: {str(c): r["p50_ms"] for c, r in s["levels"].items()} for s in served},
         rest_overhead_ms=round(first["p50_ms"] - ref["p50_ms"], 3),
         rest_share_of_inprocess=round(first["rps"] / ref["rps"], 3),
         startup_s={s["backend"]: s["startup_s"] for s in served}, median_sentence_words=statistics.median(
             len(t.split()) for t in texts))


if __name__ == "__main__":
    main()
