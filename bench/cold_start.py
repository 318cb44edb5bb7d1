"""App cold start: seconds from `streamlit run app.py` to the home page's title drawn in Chromium.

Per trial: a fresh temporary BIGMODEL_HOME (no runs, no caches), a free port, `streamlit run app.py`
started as the user starts it (cwd = the repository, headless, its own process group). The clock
starts just before the server process is created. The reference, in the same trial: the time until
the server's /_stcore/health first answers 200 (polled every 50 ms), which is when a browser could
first connect. Headless Chromium (Playwright, launched once before the first trial and not timed)
then opens the home page; "title" is when its heading "🧠 BigModel Lab" is visible, "full" when the
page's last line (the offline caption) is, and "second visit" a new browser context on the same,
now warm, server. Figures: medians over --trials, and the ratio title ÷ health per trial.

    python bench/cold_start.py [--trials 3] [--chromium /usr/bin/chromium] [--quick]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # first: puts the repository on sys.path for bigmodel_core
from _common import REPO, emit

BENCH = "cold_start"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TITLE = "🧠 BigModel Lab"
LAST_LINE = "Everything runs on your own machine and works offline."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_health(url: str, proc: subprocess.Popen, t0: float, timeout: float) -> float:
    """Seconds from t0 until /_stcore/health answers 200."""
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"streamlit exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"streamlit did not answer /_stcore/health within {timeout:.0f} s")


def _open_home(browser, url: str, t0: float, timeout_ms: float) -> dict:
    """Open the home page in a new context: seconds from t0 to the title and to the page's last line."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        page.get_by_role("heading", name=TITLE).wait_for(state="visible", timeout=timeout_ms)
        title = time.perf_counter() - t0
        page.get_by_text(LAST_LINE).wait_for(state="visible", timeout=timeout_ms)
        return {"title_s": title, "full_s": time.perf_counter() - t0}
    finally:
        context.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: only the server we started and its children
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def trial(browser, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as home:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BIGMODEL_HOME": home, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
        log_path = Path(home) / "streamlit.log"
        with open(log_path, "wb") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                health = _wait_health(url, proc, t0, timeout)
                first = _open_home(browser, url, t0, timeout * 1000)
                t1 = time.perf_counter()
                second = _open_home(browser, url, t1, timeout * 1000)
            finally:
                _stop(proc)
    return {"health_s": health, "title_s": first["title_s"], "full_s": first["full_s"],
            "browser_after_health_s": first["title_s"] - health, "ratio": first["title_s"] / health,
            "second_visit_title_s": second["title_s"], "second_visit_full_s": second["full_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--chromium", default=os.environ.get("BIGMODEL_CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds allowed for each step of a trial")
    ap.add_argument("--quick", action="store_true", help="one trial")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials = 1
    if not Path(args.chromium).exists():
        emit(BENCH, kind="skipped", reason=f"no Chromium at {args.chromium}; pass --chromium PATH")
        return 0
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        emit(BENCH, kind="skipped", reason="Playwright is not installed (pip install playwright)")
        return 0
    emit(BENCH, kind="setup", trials=args.trials, **_common.machine())
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            for i in range(args.trials):
                rows.append(emit(BENCH, kind="trial", trial=i, **trial(browser, args.timeout)))
        finally:
            browser.close()

    def med(key):
        return statistics.median(r[key] for r in rows)

    emit(BENCH, kind="summary", trials=len(rows), health_s=med("health_s"), title_s=med("title_s"),
         full_s=med("full_s"), second_visit_title_s=med("second_visit_title_s"),
         ratio=med("ratio"), trial_ratios=[r["ratio"] for r in rows])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
