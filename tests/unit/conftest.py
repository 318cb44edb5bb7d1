"""Fixtures for the engine tests: tiny learnable tables and one trained run shared by the session."""
from __future__ import annotations

import csv
import functools
import http.server
import random
import shutil
import threading
from pathlib import Path
from typing import Callable

import pytest

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig

POSITIVE = ("good", "great", "lovely", "superb", "charming", "moving")
NEGATIVE = ("bad", "awful", "dull", "boring", "clumsy", "tedious")
FILLER = ("the", "film", "story", "was", "really", "quite", "acting", "plot", "and", "music", "cast", "ending")


def make_reviews(n: int = 160, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short texts whose label follows from one sentiment word: easy to learn in a few steps."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = "positive" if i % 2 else "negative"
        word = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
        words = rng.sample(FILLER, rng.randint(2, 7))
        words.insert(rng.randint(0, len(words)), word)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One intra-op thread, as the Trainer picks on small machines: with two threads on two busy
    cores, torch's spinning workers made a 40-step test 30x slower."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def reviews_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write a tiny two-class review CSV (columns text,label) and return its path."""
    def make(n: int = 160, seed: int = 0, name: str = "reviews.csv") -> Path:
        texts, labels = make_reviews(n, seed)
        return write_csv(tmp_path / name, ["text", "label"], [[t, l] for t, l in zip(texts, labels)])
    return make


def small_config(spec: str, model: str = "bag_of_embeddings", name: str | None = None, **train) -> RunConfig:
    """A run that trains in well under a second: small model, small batches, few epochs."""
    params = {"embed_dim": 16, "hidden": 16} if model == "bag_of_embeddings" else {}
    train = {"epochs": 2, "batch_size": 16, **train}
    return RunConfig(DataConfig(spec=spec), ModelConfig(model, params), TrainConfig(**train), name=name)


@pytest.fixture(scope="session")
def review_texts() -> Callable[..., tuple[list[str], list[str]]]:
    """The generator behind reviews_csv, for tests that want the texts in memory."""
    return make_reviews


@pytest.fixture
def small_run_config() -> Callable[..., RunConfig]:
    return small_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run trained on the built-in synthetic reviews, in its own workspace; tests only read it."""
    from bigmodel_core.training.run import train_run

    home = tmp_path_factory.mktemp("trained_home")
    cfg = RunConfig(DataConfig(max_rows=1500), ModelConfig("bag_of_embeddings", {"embed_dim": 16, "hidden": 16}),
                    TrainConfig(epochs=2, batch_size=16), name="reviews-bag")
    info = train_run(cfg, home=home)
    return {"home": home, "info": info, "id": info.id, "path": Path(info.path)}


@pytest.fixture
def own_copy_of_run(trained_run: dict, isolated_home: Path) -> Path:
    """A copy of the shared run in this test's workspace, for tests that damage or delete it."""
    dest = isolated_home / "runs" / trained_run["id"]
    shutil.copytree(trained_run["path"], dest)
    return dest


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder without printing a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def server(tmp_path: Path):
    """(base_url, folder served, stop): an HTTP server on 127.0.0.1 in a background thread.

    The download tests (text corpora, image sets, GloVe) fetch from it, never from the internet.
    """
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    stopped = []

    def stop() -> None:
        if not stopped:
            httpd.shutdown()
            httpd.server_close()
            stopped.append(True)

    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, stop
    stop()
