"""Fixtures every test gets: a private workspace and a fixed torch seed."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point BIGMODEL_HOME at a fresh folder so no test reads or writes the real workspace."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("BIGMODEL_HOME", str(home))
    torch.manual_seed(0)
    return home
