"""Fixtures for the Streamlit AppTest suite: a fresh workspace and clean caches per test, page runners, polling."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, Path(__file__).resolve().parent):  # the app's packages, and apphelpers.py
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from apphelpers import SMALL_DATA, SMALL_MODEL, progress_text  # noqa: E402

APP = str(ROOT / "app.py")
PAGES = {"data": "pages/1_Data.py", "model": "pages/2_Model.py", "train": "pages/3_Train.py", "predict": "pages/4_Predict.py",
         "optimize": "pages/9_Optimize.py"}


def _stop_all_jobs(timeout: float = 30.0) -> None:
    """Stop every job of the cached JobManager and wait, so no worker outlives its test's workspace."""
    from ui import state

    manager = state.job_manager()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = manager.running()  # a stopped job lets the next queued one start: loop until none runs
        if not running:
            return
        for job in running:
            manager.stop(job.id)
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch) -> Path:
    """Each test gets its own BIGMODEL_HOME and starts with empty Streamlit caches."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("BIGMODEL_HOME", str(home))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield home
    _stop_all_jobs()
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """open_page("train", data_cfg=..., ...) -> an AppTest that has run the home page, then that page."""

    def _open(page: str | None = None, **session) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        for key, value in session.items():
            at.session_state[key] = value
        if page:
            at.switch_page(PAGES[page]).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open


@pytest.fixture
def poll() -> Callable[..., AppTest]:
    """poll(at, until, timeout) reruns the script (AppTest never fires run_every) until `until(at)` is true."""

    def _poll(at: AppTest, until: Callable[[AppTest], bool], timeout: float = 60.0, every: float = 0.2,
              seen: list | None = None) -> AppTest:
        deadline = time.monotonic() + timeout
        while True:
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            if seen is not None:
                seen.append(progress_text(at))
            if until(at):
                return at
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up after {timeout} s; page shows progress {progress_text(at)!r}, "
                                     f"errors {[e.value for e in at.error]}")
            time.sleep(every)

    return _poll


@pytest.fixture
def trained_run(workspace) -> Callable[..., dict]:
    """trained_run(name) trains a tiny LSTM in the test's workspace (about a second) and returns run.json."""
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    def _train(name: str = "tiny-lstm", epochs: int = 1) -> dict:
        cfg = RunConfig(DataConfig(**SMALL_DATA),
                        ModelConfig(SMALL_MODEL["name"], dict(SMALL_MODEL["params"])),
                        TrainConfig(epochs=epochs, batch_size=32), name=name)
        return train_run(cfg, home=workspace)

    return _train
