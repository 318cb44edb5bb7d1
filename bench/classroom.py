"""Classroom: many sessions training on one server, and whether one user's long step freezes another's page.

(p) The demo preset (bigmodel_core.training.jobs.demo_config) against the demo it replaced, trained
    in this process by train_run (no child, no page), alternating, per seed: seconds, val/test accuracy.
(a) Sessions are Streamlit AppTest instances in this process (the server), with the app's own
    JobManager (ui.state.job_manager: child processes, max_running from the cores and memory).
    Every session is opened first, then they click one after another, then each reruns its page
    about once a second (what the Train page's live view does in a browser) until its job ends.
      single_demo    one session presses "Run the demo"              (the reference)
      shared_demo    N sessions press "Run the demo"                 (identical: trained once, shared)
                     (these two alternate, --repeats times; the ratio is the median over the pairs)
      distinct_demo  N sessions train the demo preset, seeds 0..N-1  (N runs, queued first come first served)
      single_before  one session trains the demo the app had before (bidirectional, 8 epochs, lr 5e-3)
    Figures: seconds from the first click until the last job ended, as a ratio to single_demo;
    peak resident memory of this process plus all its children (sampled every 0.1 s); the
    validation accuracy of the runs.
(b) While another user's long step runs in a thread of this process (LIME with 5,000 samples in a
    loop, a 2-D t-SNE of 2,000 vectors, Word2Vec on the built-in reviews), how long a rerun of a
    page takes in other sessions (the home page; the Train page showing a finished demo's
    results), as a ratio to the same rerun with nothing else running.

(memory) Peak resident memory of this process (the server) plus its children while one job trains and
    while three train at once (three sessions, demo preset seeds 0-2, BIGMODEL_MAX_JOBS=3 so that none
    waits in the queue; --memory-epochs epochs each), as a ratio to the one-job peak in the same run.

    python bench/classroom.py [--sessions 10] [--repeats 2] [--renders 15] [--seeds 3] [--quick]
                              [--only preset|a|b|memory] [--memory-epochs N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, replace

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import emit

BENCH = "classroom"
APP = str(_common.REPO / "app.py")


class Footprint(threading.Thread):
    """Samples the resident memory of this process plus all its descendants, and watches jobs end."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.every, self.peak_mb, self.peak_self_mb, self.most_trainers = every, 0.0, 0.0, 0
        self.jobs: list = []
        self.ended: dict[str, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            own, total, trainers = _tree_rss_mb(os.getpid())
            self.peak_mb, self.peak_self_mb = max(self.peak_mb, total), max(self.peak_self_mb, own)
            self.most_trainers = max(self.most_trainers, trainers)
            for job in list(self.jobs):
                if job.finished and job.id not in self.ended:
                    self.ended[job.id] = time.perf_counter()
            time.sleep(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _tree_rss_mb(root: int) -> tuple[float, float, int]:
    """(RSS of root, RSS of root and every descendant, number of training children), in MiB."""
    parents, rss, names = {}, {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields.get("PPid", "0"))
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                names[pid] = f.read()
        except OSError:
            names[pid] = b""
    tree, frontier = {root}, [root]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    trainers = sum(1 for p in tree - {root} if b"spawn_main" in names.get(p, b""))
    return rss.get(root, 0.0), sum(rss.get(p, 0.0) for p in tree), trainers


def _fresh_server(home: str) -> None:
    """A new JobManager and empty caches, as a freshly started server has."""
    import streamlit as st

    os.environ["BIGMODEL_HOME"] = home
    st.cache_resource.clear()
    st.cache_data.clear()


def classroom(name: str, configs: list, timeout: float = 1800) -> dict:
    """Each entry of `configs`: None presses "Run the demo"; a RunConfig is trained from the Train page."""
    from streamlit.testing.v1 import AppTest

    from ui import state

    with tempfile.TemporaryDirectory() as home:
        _fresh_server(home)
        sessions = []
        for cfg in configs:  # open every page first, as a class does before the teacher says "go"
            at = AppTest.from_file(APP, default_timeout=120)
            at.run()
            if cfg is not None:
                for key, part in (("data_cfg", cfg.data), ("model_cfg", cfg.model), ("train_cfg", cfg.train)):
                    at.session_state[key] = asdict(part)
                at.switch_page("pages/3_Train.py").run()
            sessions.append(at)
        foot = Footprint()
        foot.start()
        t0 = time.perf_counter()
        for at, cfg in zip(sessions, configs):
            at.button(key="home_demo" if cfg is None else "train_start").click().run()
            assert not at.exception, [e.value for e in at.exception]
        manager = state.job_manager()
        jobs = {j.id: j for j in (manager.get(at.session_state["train_job"]) for at in sessions)}
        foot.jobs = list(jobs.values())
        clicks_s = time.perf_counter() - t0
        renders = []
        while not all(j.finished for j in jobs.values()):
            round_start = time.perf_counter()
            for at in sessions:
                r0 = time.perf_counter()
                at.run()
                renders.append(time.perf_counter() - r0)
            if time.perf_counter() - t0 > timeout:
                raise SystemExit(f"{name}: gave up after {timeout} s")
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - round_start)))
        time.sleep(0.2)
        foot.stop()
        failed = [j.error for j in jobs.values() if j.status != "done"]
        if failed:
            raise SystemExit(f"{name}: a job did not finish: {failed}")
        ends = [foot.ended.get(j, time.perf_counter()) - t0 for j in jobs]
        ordered = manager.start_order == sorted(jobs, key=lambda i: jobs[i].seq)
        val = [j.result.metrics["val_accuracy"] for j in jobs.values()]
        return emit(BENCH, kind="sessions", variant=name, sessions=len(configs), runs=len(jobs),
                    max_running=manager.max_running, last_finished_s=round(max(ends), 2),
                    first_finished_s=round(min(ends), 2), clicks_s=round(clicks_s, 2),
                    started_in_submission_order=ordered, most_training_children=foot.most_trainers,
                    peak_rss_mb=round(foot.peak_mb), peak_rss_server_only_mb=round(foot.peak_self_mb),
                    val_accuracy_median=round(statistics.median(val), 4),
                    val_accuracy_min=round(min(val), 4), page_rerun_s_median=round(statistics.median(renders), 3))


def before_config():
    """The demo as it was before this preset: the bidirectional lstm preset, TrainConfig() (8 epochs, lr 5e-3)."""
    from bigmodel_core.config import ModelConfig, TrainConfig
    from bigmodel_core.training.jobs import demo_config

    return replace(demo_config(), model=ModelConfig("lstm"), train=TrainConfig())


def part_preset(seeds: int) -> dict:
    from bigmodel_core.training.jobs import demo_config
    from bigmodel_core.training.run import train_run

    rows = {"demo": [], "before": []}
    for seed in range(seeds):
        for name, cfg in (("before", before_config()), ("demo", demo_config())):
            cfg = replace(cfg, train=replace(cfg.train, seed=seed))
            with tempfile.TemporaryDirectory() as home:
                t0 = time.perf_counter()
                info = train_run(cfg, home=home)
                secs = time.perf_counter() - t0
            m = info.metrics
            rows[name].append({"seconds": secs, "val": m["val_accuracy"], "test": m["test_accuracy"]})
            emit(BENCH, kind="preset", preset=name, seed=seed, seconds=round(secs, 2),
                 val_accuracy=round(m["val_accuracy"], 4), test_accuracy=round(m["test_accuracy"], 4))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "val", "test")}
           for name, rs in rows.items()}
    return {"demo_s": round(med["demo"]["seconds"], 2), "before_s": round(med["before"]["seconds"], 2),
            "demo_over_before_s": round(statistics.median(d["seconds"] / b["seconds"]
                                                          for d, b in zip(rows["demo"], rows["before"])), 2),
            "val_accuracy": {n: round(m["val"], 4) for n, m in med.items()},
            "test_accuracy": {n: round(m["test"], 4) for n, m in med.items()}}


def part_a(n: int, quick: bool, repeats: int) -> dict:
    from bigmodel_core.training.jobs import demo_config

    demo = demo_config()
    singles, shareds = [], []
    for _ in range(repeats):  # alternated: the machine's load drifts between measurements
        singles.append(classroom("single_demo", [None]))
        shareds.append(classroom("shared_demo", [None] * n))
    distinct = classroom("distinct_demo", [replace(demo, train=replace(demo.train, seed=s)) for s in range(n)])
    single_s = statistics.median(r["last_finished_s"] for r in singles)
    pairs = [sh["last_finished_s"] / si["last_finished_s"] for si, sh in zip(singles, shareds)]
    peak = {"single": max(r["peak_rss_mb"] for r in singles), "shared": max(r["peak_rss_mb"] for r in shareds),
            "distinct": distinct["peak_rss_mb"]}
    out = {"single_s": round(single_s, 2),
           "shared_over_single": round(statistics.median(pairs), 2),
           "shared_over_single_pairs": [round(p, 2) for p in pairs],
           "distinct_over_single": round(distinct["last_finished_s"] / single_s, 2),
           "peak_rss_mb": peak,
           "shared_peak_rss_over_single": round(peak["shared"] / peak["single"], 2),
           "distinct_peak_rss_over_single": round(peak["distinct"] / peak["single"], 2),
           "in_order": all(r["started_in_submission_order"] for r in singles + shareds + [distinct])}
    if not quick:
        old = classroom("single_before", [before_config()])
        out["before_over_single"] = round(old["last_finished_s"] / single_s, 2)
        out["before_val_accuracy"] = old["val_accuracy_median"]
    out["demo_val_accuracy"] = singles[0]["val_accuracy_median"]
    return out


def part_memory(epochs: int | None) -> dict:
    from bigmodel_core.training.jobs import MAX_JOBS_ENV, demo_config

    demo = demo_config()

    def cfg(seed: int):
        return replace(demo, train=replace(demo.train, seed=seed, epochs=epochs or demo.train.epochs))

    saved = os.environ.get(MAX_JOBS_ENV)
    os.environ[MAX_JOBS_ENV] = "3"  # all three train at once: the peak a bigger server would see
    try:
        one = classroom("memory_one_job", [cfg(0)])
        three = classroom("memory_three_jobs", [cfg(s) for s in range(3)])
    finally:
        if saved is None:
            os.environ.pop(MAX_JOBS_ENV, None)
        else:
            os.environ[MAX_JOBS_ENV] = saved
    return {"peak_rss_mb": {"one": one["peak_rss_mb"], "three": three["peak_rss_mb"]},
            "peak_rss_server_only_mb": {"one": one["peak_rss_server_only_mb"], "three": three["peak_rss_server_only_mb"]},
            "three_over_one": round(three["peak_rss_mb"] / one["peak_rss_mb"], 2),
            "most_training_children": {"one": one["most_training_children"], "three": three["most_training_children"]},
            "epochs": epochs or demo.train.epochs}


# --- (b) long steps of one user vs another user's page --------------------------------------------
def _renders(at, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    return times


def _loop(step, halt: threading.Event, calls: list) -> None:
    while not halt.is_set():
        t0 = time.perf_counter()
        step()
        calls.append(time.perf_counter() - t0)


def _trained_demo(home: str):
    """A session that pressed "Run the demo" and now shows the results on the Train page."""
    from streamlit.testing.v1 import AppTest

    from ui import state

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.button(key="home_demo").click().run()
    job = state.job_manager().get(at.session_state["train_job"])
    while not job.finished:
        time.sleep(0.2)
    at.run()
    assert at.success, "the demo did not finish"
    return at, job.result.id


def _lime_step(run_id: str, home: str):
    from bigmodel_core.explain.lime_text import explain_text
    from bigmodel_core.serve.bundle import load_bundle

    predictor = load_bundle(run_id, home=home)
    text = "a slow start but a great ending, not boring at all and the acting was never dull"
    seeds = iter(range(10**9))
    return lambda: explain_text(predictor, text, num_samples=5000, seed=next(seeds))


def _tsne_step():
    import numpy as np
    from sklearn.manifold import TSNE

    x = np.random.default_rng(0).standard_normal((2000, 100)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)  # rows scaled to unit length, as the word map does
    return lambda: TSNE(n_components=2, init="pca", learning_rate="auto", perplexity=30.0,
                        random_state=0).fit_transform(x)


def _word2vec_step(home: str):
    from bigmodel_core.config import DataConfig
    from bigmodel_core.embeddings.train import train_word2vec

    return lambda: train_word2vec(DataConfig(), epochs=5, workers=1, home=home)


def part_b(renders: int) -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    with tempfile.TemporaryDirectory() as home:
        _fresh_server(home)
        results_page, run_id = _trained_demo(home)
        home_page = AppTest.from_file(APP, default_timeout=120)
        pages = {"home": home_page, "train_results": results_page}
        steps = {"lime_5000": _lime_step(run_id, home), "tsne_2000": _tsne_step(), "word2vec": _word2vec_step(home)}
        idle = {}
        for page, at in pages.items():
            _renders(at, 3)  # warm: imports and the first run
            idle[page] = statistics.median(_renders(at, renders))
            emit(BENCH, kind="render", page=page, load="nothing", rerun_s_median=round(idle[page], 4))
        out["idle_rerun_s"] = {p: round(v, 4) for p, v in idle.items()}
        for name, step in steps.items():
            step_calls: list[float] = []
            halt = threading.Event()
            worker = threading.Thread(target=_loop, args=(step, halt, step_calls), daemon=True)
            worker.start()
            time.sleep(0.5)  # let the step get going
            for page, at in pages.items():
                times = _renders(at, renders)
                med = statistics.median(times)
                emit(BENCH, kind="render", page=page, load=name, rerun_s_median=round(med, 4),
                     rerun_s_max=round(max(times), 4), ratio_to_idle=round(med / idle[page], 2))
                out[f"{page}_{name}_over_idle"] = round(med / idle[page], 2)
            halt.set()
            worker.join()
            emit(BENCH, kind="step", load=name, step_s_median=round(statistics.median(step_calls), 3),
                 step_calls=len(step_calls))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--renders", type=int, default=15, help="home-page reruns measured per load in (b)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per preset in (p)")
    ap.add_argument("--repeats", type=int, default=2, help="alternated single/shared pairs in (a)")
    ap.add_argument("--only", choices=["preset", "a", "b", "memory"], default=None)
    ap.add_argument("--memory-epochs", type=int, default=None, help="epochs of each job in (memory); default: the demo's")
    ap.add_argument("--quick", action="store_true",
                    help="1 seed, 4 sessions, 8 renders, no single_before run, 2-epoch jobs in (memory)")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.sessions, args.renders, args.repeats = 1, 4, 8, 1
        args.memory_epochs = args.memory_epochs or 2
    summary = {}
    t0 = time.perf_counter()
    if args.only in (None, "preset"):
        summary["preset"] = part_preset(args.seeds)
    if args.only in (None, "a"):
        summary["a"] = part_a(args.sessions, args.quick, args.repeats)
    if args.only in (None, "b"):
        summary["b"] = part_b(args.renders)
    if args.only in (None, "memory"):
        summary["memory"] = part_memory(args.memory_epochs)
    emit(BENCH, kind="summary", **summary, seconds=round(time.perf_counter() - t0), **_common.machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
