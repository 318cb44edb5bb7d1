"""Browser overhead: training samples/s with the Train page open in Chromium ÷ the same run headless.

Browser trial: `streamlit run app.py` (free port, its own temporary BIGMODEL_HOME, cwd = repo root),
headless Chromium via Playwright opens the home page and clicks "▶ Run the demo", which trains the
default LSTM on the built-in synthetic reviews and opens the Train page, whose live chart polls every
second until the run is saved. Headless trial: the same RunConfig (bigmodel_core.training.jobs.demo_config(),
which ui.state.start_demo submits) trained by train_run in a separate Python process.
Both let the engine choose the thread count. Each trial reads run.json (metrics.samples_per_s, the
last epoch) and history.jsonl (every epoch). Trials alternate headless, browser, headless, browser, ...
and the summary gives medians and their ratio (target >= 0.95).

--diagnose adds a third trial per round, "render_sim": no server and no browser, but the same run
submitted to a JobManager in one process whose main thread, once a second, does the Python work of the
Train page's live fragment (the three plotly figures from ui.charts, validated and serialised as
st.plotly_chart does). Its ratio to headless is the cost of sharing the GIL with the redraws alone;
the browser trials also report the CPU seconds Chromium and the server used while training.

    python bench/browser_overhead.py [--pairs 3] [--chromium /usr/bin/chromium] [--diagnose] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import REPO, emit, median

BENCH = "browser_overhead"
TARGET = 0.95
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
HEADLESS_SCRIPT = """
from bigmodel_core.training.jobs import demo_config
from bigmodel_core.training.run import train_run
info = train_run(demo_config())
print(info.path)
"""
RENDER_SIM_SCRIPT = """
import time
import plotly.graph_objects as go
import plotly.io as pio
from bigmodel_core.training.jobs import JobManager, demo_config
from ui import charts

job = JobManager(max_running=1).submit(demo_config())
busy = 0.0
renders = 0
while not job.finished:
    time.sleep(1.0)
    t0 = time.perf_counter()
    log = list(job.log)  # what ui.training_view.render_progress does each second
    batches = [e for e in log if e.get('kind') == 'batch_end']
    epochs = [{'epoch': e['epoch'], **e['metrics']} for e in log if e.get('kind') == 'epoch_end']
    figs = [charts.step_loss([b['step'] for b in batches], [b['metrics']['loss'] for b in batches]),
            charts.epoch_curves(epochs, 'loss'), charts.epoch_curves(epochs, 'accuracy')]
    for fig in figs:  # st.plotly_chart validates the figure, then serialises it
        pio.to_json(go.Figure(fig), validate=False)
    busy += time.perf_counter() - t0
    renders += 1
print(job.result.path, busy / max(renders, 1), renders)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pids: set[int]) -> float:
    """utime + stime of live processes (clock ticks -> seconds), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _saved_run(home: Path) -> Path | None:
    runs = [p for p in (home / "runs").glob("*/run.json") if not p.parent.name.startswith(".")]
    return runs[0].parent if runs else None


def _read(run_dir: Path) -> dict:
    info = json.loads((run_dir / "run.json").read_text())
    epochs = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    per_epoch = [r["metrics"]["samples_per_s"] for r in epochs if r["kind"] == "epoch_end"]
    cfg = dict(info["config"], name=None)
    return {"samples_per_s": info["metrics"]["samples_per_s"], "samples_per_s_epochs": per_epoch,
            "samples_per_s_epoch_median": median(per_epoch), "threads": info["threads"],
            "train_seconds": info["seconds"], "val_accuracy": info["metrics"]["val_accuracy"], "config": cfg}


def headless_trial(timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-headless-") as home:
        env = {**os.environ, "BIGMODEL_HOME": home}
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", HEADLESS_SCRIPT], cwd=REPO, env=env, check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = _read(_saved_run(Path(home)))
        out["wall_seconds"] = time.perf_counter() - t0
        out["process_cpu_seconds"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return out


def render_sim_trial(timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as home:
        env = {**os.environ, "BIGMODEL_HOME": home}
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", RENDER_SIM_SCRIPT], cwd=REPO, env=env, check=True,
                              timeout=timeout, capture_output=True, text=True)
        _, per_render, renders = done.stdout.split()[-3:]
        out = _read(_saved_run(Path(home)))
        out.update(wall_seconds=time.perf_counter() - t0, render_seconds_each=float(per_render), renders=int(renders))
        return out


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer within {timeout} s")


def browser_trial(chromium: str, timeout: float) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-browser-") as home_s:
        home = Path(home_s)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BIGMODEL_HOME": home_s, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
        log = open(home / "streamlit.log", "wb")
        server = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_server(url, server)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.set_default_timeout(60_000)
                page.goto(url)
                page.get_by_role("button", name="▶ Run the demo").click()
                page.wait_for_url(re.compile(r"/Train$"))
                t0 = time.perf_counter()
                server_pids = {server.pid} | _descendants(server.pid)
                browser_pids = _descendants(os.getpid()) - server_pids
                cpu0 = _cpu_seconds(browser_pids), _cpu_seconds(server_pids)
                steps_seen = set()
                while _saved_run(home) is None:  # the page stays open and polls; we only look
                    if time.perf_counter() - t0 > timeout:
                        raise RuntimeError(f"the demo run was not saved within {timeout} s")
                    text = page.get_by_test_id("stProgress").first.inner_text() if page.get_by_test_id("stProgress").count() else ""
                    m = re.search(r"Step ([\d,]+) of", text)
                    if m:
                        steps_seen.add(int(m.group(1).replace(",", "")))
                    page.wait_for_timeout(2000)
                browser_pids = _descendants(os.getpid()) - server_pids
                cpu = _cpu_seconds(browser_pids) - cpu0[0], _cpu_seconds(server_pids) - cpu0[1]
                expect(page.get_by_text(re.compile("^Finished: validation accuracy"))).to_be_visible(timeout=60_000)
                wall = time.perf_counter() - t0
                browser.close()
            out = _read(_saved_run(home))
            out.update(wall_seconds=wall, browser_cpu_seconds=cpu[0], server_cpu_seconds=cpu[1],
                       progress_updates_seen=len(steps_seen))
            return out
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)  # its own session: only the server we started
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait(5)
            log.close()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3, help="(headless, browser) pairs, alternated")
    ap.add_argument("--chromium", default=os.environ.get("BIGMODEL_CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds allowed for one training run")
    ap.add_argument("--diagnose", action="store_true", help="add a render_sim trial per round (see above)")
    ap.add_argument("--quick", action="store_true", help="one pair")
    args = ap.parse_args(argv)
    if args.quick:
        args.pairs = 1
    if not Path(args.chromium).exists():
        ap.error(f"no Chromium at {args.chromium}; pass --chromium PATH")
    emit(BENCH, kind="setup", pairs=args.pairs, **_common.machine())
    modes = ("headless", "browser", "render_sim") if args.diagnose else ("headless", "browser")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for pair in range(args.pairs):
        for mode in modes:
            if mode == "headless":
                r = headless_trial(args.timeout)
            elif mode == "browser":
                r = browser_trial(args.chromium, args.timeout)
            else:
                r = render_sim_trial(args.timeout)
            runs[mode].append(r)
            emit(BENCH, kind="run", mode=mode, pair=pair, **{k: v for k, v in r.items() if k != "config"})
    same_config = all(r["config"] == runs["headless"][0]["config"] for v in runs.values() for r in v)
    med = {k: median([r["samples_per_s"] for r in v]) for k, v in runs.items()}
    med_all = {k: median([r["samples_per_s_epoch_median"] for r in v]) for k, v in runs.items()}
    pair_ratios = [b["samples_per_s"] / h["samples_per_s"] for h, b in zip(runs["headless"], runs["browser"])]
    ratio = med["browser"] / med["headless"]
    extra = {}
    if "render_sim" in runs:
        extra = {"render_sim_ratio": med["render_sim"] / med["headless"],
                 "render_sim_ratio_all_epochs": med_all["render_sim"] / med_all["headless"],
                 "render_seconds_each": median([r["render_seconds_each"] for r in runs["render_sim"]])}
    cpu = {k: median([r.get(k) for r in runs["browser"]]) for k in ("browser_cpu_seconds", "server_cpu_seconds", "wall_seconds")}
    return emit(BENCH, kind="summary", pairs=args.pairs, threads=runs["headless"][0]["threads"],
                samples_per_s_last_epoch=med, samples_per_s_all_epochs=med_all, ratio=ratio,
                ratio_all_epochs=med_all["browser"] / med_all["headless"], pair_ratios=pair_ratios,
                browser_trial_cpu=cpu, **extra,
                same_run_config=same_config, target=TARGET, passed=ratio >= TARGET)


if __name__ == "__main__":
    main()
