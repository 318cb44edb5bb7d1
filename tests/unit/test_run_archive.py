"""A run as a .zip: export, import elsewhere, and every way a zip can be wrong leaves the workspace as it was."""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from bigmodel_core.errors import RunError
from bigmodel_core.runs import archive
from bigmodel_core.runs.archive import export_tensorboard, export_zip, import_zip
from bigmodel_core.runs.store import delete_run, list_runs, run_epochs
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.training.run import train_run


@pytest.fixture
def run_zip(reviews_csv, small_run_config, isolated_home):
    """(run, zip bytes) of a tiny trained run."""
    info = train_run(small_run_config(f"csv:{reviews_csv()}", name="shared-run"), home=isolated_home)
    return info, export_zip(info.id, isolated_home)


def workspace_files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in (home / "runs").rglob("*"))


def test_export_then_import_elsewhere_predicts_the_same(run_zip, tmp_path):
    info, data = run_zip
    other = tmp_path / "other-home"
    imported = import_zip(data, other)
    assert (imported.id, imported.status) == ("shared-run", "finished")
    assert [r.id for r in list_runs(other)] == ["shared-run"]
    assert len(run_epochs("shared-run", other)) == len(run_epochs("shared-run", info.path.rsplit("/runs/", 1)[0]))
    text = ["a good and charming film"]
    before = load_bundle(info.id, home=Path(info.path).parents[1]).predict_proba(text)
    after = load_bundle("shared-run", home=other).predict_proba(text)
    assert after[0].tolist() == pytest.approx(before[0].tolist())


def test_importing_into_a_workspace_that_has_the_id_gets_a_new_one(run_zip, isolated_home):
    info, data = run_zip
    again = import_zip(data, isolated_home)
    assert again.id == "shared-run-2"
    assert sorted(r.id for r in list_runs(isolated_home)) == ["shared-run", "shared-run-2"]


def test_a_deleted_run_comes_back_from_its_zip(run_zip, isolated_home):
    info, data = run_zip
    delete_run(info.id, isolated_home)
    assert list_runs(isolated_home) == []
    assert import_zip(io.BytesIO(data), isolated_home).id == "shared-run"


def rezip(data: bytes, change) -> bytes:
    """A copy of the zip with `change(name, bytes) -> [(name, bytes), ...]` applied to every entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for entry in src.infolist():
            for name, content in change(entry.filename, src.read(entry)):
                dst.writestr(name, content)
    return out.getvalue()


def add(extra_name: str, extra: bytes = b"print('hi')"):
    def change(name, content):
        items = [(name, content)]
        if name.endswith("run.json"):
            items.append((extra_name, extra))
        return items
    return change


BAD_ZIPS = {
    "random bytes": lambda data: os.urandom(2000),
    "a python file inside": lambda data: rezip(data, add("shared-run/evil.py")),
    "a path out of the bundle": lambda data: rezip(data, add("shared-run/../../escape.txt")),
    "an absolute path": lambda data: rezip(data, add("/tmp/escape.txt")),
    "a windows path": lambda data: rezip(data, add("shared-run\\..\\x.json")),
    "a sub-folder": lambda data: rezip(data, add("shared-run/deeper/run.json")),
    "two run folders": lambda data: rezip(data, add("another/vocab.json")),
    "no weights": lambda data: rezip(data, lambda n, c: [] if n.endswith("weights.safetensors") else [(n, c)]),
    "no run.json": lambda data: rezip(data, lambda n, c: [] if n.endswith("run.json") else [(n, c)]),
    "a run.json that is not a run": lambda data: rezip(data, lambda n, c: [(n, b"[1, 2]" if n.endswith("run.json") else c)]),
    "weights that are not safetensors": lambda data: rezip(
        data, lambda n, c: [(n, b"\x80\x04pickle" if n.endswith("weights.safetensors") else c)]),
    "weights of another model": lambda data: rezip(
        data, lambda n, c: [(n, _other_weights() if n.endswith("weights.safetensors") else c)]),
}


def _other_weights() -> bytes:
    import torch
    from safetensors.torch import save

    return save({"embedding.weight": torch.zeros(3, 2)})


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_a_bad_zip_is_refused_plainly_and_leaves_the_workspace_unchanged(case, run_zip, isolated_home):
    info, data = run_zip
    before = workspace_files(isolated_home)
    with pytest.raises(RunError) as err:
        import_zip(BAD_ZIPS[case](data), isolated_home)
    assert err.value.message.startswith("This file is not a BigModel Lab run") and "Runs page" in err.value.hint
    assert workspace_files(isolated_home) == before
    assert not (isolated_home.parent / "escape.txt").exists() and not Path("/tmp/escape.txt").exists()


def test_a_link_inside_the_zip_is_refused(run_zip, isolated_home):
    info, data = run_zip
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for entry in src.infolist():
            dst.writestr(entry, src.read(entry))
        link = zipfile.ZipInfo("shared-run/history.jsonl.link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        dst.writestr(link, "/etc/passwd")
    with pytest.raises(RunError, match="link"):
        import_zip(out.getvalue(), isolated_home)


def test_a_zip_bomb_stops_at_the_limit(run_zip, isolated_home, monkeypatch):
    info, data = run_zip
    monkeypatch.setattr(archive, "MAX_IMPORT_BYTES", 200_000)
    bomb = rezip(data, lambda n, c: [(n, c + b" " * 5_000_000 if n.endswith("history.jsonl") else c)])
    before = workspace_files(isolated_home)
    with pytest.raises(RunError, match="more than"):
        import_zip(bomb, isolated_home)
    assert workspace_files(isolated_home) == before


def test_an_interrupted_run_imports_with_its_checkpoint_and_can_be_resumed(reviews_csv, small_run_config, isolated_home,
                                                                          tmp_path):
    import threading

    from bigmodel_core.training.events import Callback

    stop = threading.Event()

    class StopAfterEpoch1(Callback):
        def on_epoch_end(self, trainer, event):
            stop.set()

    cfg = small_run_config(f"csv:{reviews_csv()}", name="half", epochs=3)
    train_run(cfg, [StopAfterEpoch1()], home=isolated_home, stop_event=stop)
    data = export_zip("half", isolated_home)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "half/checkpoint.safetensors" in zf.namelist()
    other = tmp_path / "other"
    assert import_zip(data, other).status == "stopped"
    assert train_run(None, resume="half", home=other).status == "finished"


def test_tensorboard_export_writes_event_files_with_the_curves(run_zip, isolated_home):
    info, _ = run_zip
    folder = export_tensorboard(info.id, isolated_home)
    assert folder == isolated_home / "tensorboard" / info.id
    events = list(folder.glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 200
    raw = events[0].read_bytes()
    assert b"epoch/val_loss" in raw and b"batch/loss" in raw


def test_the_zip_holds_only_the_bundle(run_zip):
    info, data = run_zip
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert sorted(names) == sorted(f"shared-run/{n}" for n in json.loads(
        (Path(info.path) / "run.json").read_text())["files"])


def test_a_zip_with_a_broken_checksum_is_refused_plainly(run_zip, isolated_home):
    info, data = run_zip
    raw = bytearray(data)
    start = raw.index(b"PK\x03\x04")  # the first entry's data: flip a byte inside it
    raw[start + 60] ^= 0xFF
    before = workspace_files(isolated_home)
    with pytest.raises(RunError) as err:
        import_zip(bytes(raw), isolated_home)
    assert err.value.message.startswith("This file is not a BigModel Lab run")
    assert workspace_files(isolated_home) == before


def test_a_checkpoint_with_a_made_up_header_is_refused_at_import(run_zip, isolated_home):
    import torch
    from safetensors.torch import save

    info, data = run_zip
    fake = save({"model.x": torch.zeros(1)}, metadata={"bigmodel_checkpoint": json.dumps({"format": 1})})
    bad = rezip(data, add("shared-run/checkpoint.safetensors", fake))
    with pytest.raises(RunError, match="checkpoint .* is damaged"):
        import_zip(bad, isolated_home)
    assert sorted(r.id for r in list_runs(isolated_home)) == ["shared-run"]
