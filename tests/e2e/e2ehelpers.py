"""Shared by the browser tests: a `streamlit run app.py` server of their own, started and stopped cleanly."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)  # polling the server's health answer, not waiting on the page
    raise RuntimeError(f"streamlit did not answer within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)  # its own session: only the server and its children
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextmanager
def streamlit_server(home: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` on a free port with `home` as its workspace, in its own process group."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BIGMODEL_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_server(url, proc, log)
        yield url, proc
    finally:
        _stop(proc)


def nav(page, name: str, url_path: str | None = None) -> None:
    """Click a page in the sidebar's page list (the app's own, with names in the chosen language): unlike
    typing a URL, this keeps the browser's Streamlit session."""
    import re

    from playwright.sync_api import expect

    link = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]',
                        has_text=re.compile(rf"{re.escape(name)}\s*$"))
    link.first.click()
    if url_path:
        expect(page).to_have_url(re.compile(rf"/{url_path}$"))
