"""Promises of SECURITY.md that no other test checks: upload caps match the server's, no network at run time,
the app listens only on this computer."""
from __future__ import annotations

import socket
import tomllib
from pathlib import Path


from bigmodel_core.data.text import tables

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_upload_cap_matches_the_servers_upload_limit():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * 2**20 == tables.MAX_BYTES


def test_make_run_serves_the_app_on_this_computer_only():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "--server.address 127.0.0.1" in run


def test_training_predicting_and_explaining_open_no_network_connection(monkeypatch, reviews_csv, isolated_home):
    """Offline first: only a download the user asks for may reach out (those are tested against a local server)."""
    from bigmodel_core.explain.lime_text import explain_text
    from bigmodel_core.serve.bundle import load_bundle
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    def refuse(self, address):
        raise AssertionError(f"tried to connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a[0] if a else None))
    info = train_run(RunConfig(DataConfig(spec=f"csv:{reviews_csv()}"), ModelConfig("lstm", {"embed_dim": 8, "hidden": 8}),
                               TrainConfig(epochs=1, batch_size=16)))
    predictor = load_bundle(info.id)
    assert predictor.predict("a good film")["prediction"] in ("negative", "positive")
    assert explain_text(predictor, "a good film", num_samples=50).tokens == ["a", "good", "film"]


def test_every_test_named_in_security_md_exists():
    """SECURITY.md names the test behind each promise; a renamed or deleted test must not leave a promise unchecked."""
    import re

    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named, current = [], None
    for ref in re.findall(r"`([^`]+)`", text):
        if "::" in ref:
            path, _, name = ref.partition("::")
            current = path or current
            named.append((current, name))
        elif ref.startswith("tests/") and ref.endswith(".py"):
            current = ref
            named.append((ref, None))
    assert len(named) >= 20
    for path, name in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert name is None or f"def {name}(" in source, f"{path}::{name} named in SECURITY.md does not exist"
