"""The CLI's run store: runs list / show / delete / export / import / reindex / tag / rename, and their mistakes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bigmodel_core.__main__ import main
from bigmodel_core.runs.store import list_runs
from bigmodel_core.training.run import train_run


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def two_runs(reviews_csv, small_run_config, isolated_home):
    spec = f"csv:{reviews_csv()}"
    for name in ("first", "second"):
        train_run(small_run_config(spec, name=name), home=isolated_home)
    return isolated_home


def test_runs_list_json_prints_one_object_per_run(two_runs, capsys):
    assert main(["runs", "list", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert sorted(r["id"] for r in rows) == ["first", "second"]
    assert all(r["status"] == "finished" and r["model"] == "bag_of_embeddings" and "val_accuracy" in r["metrics"]
               for r in rows)


def test_runs_show_gives_the_record_and_its_epochs(two_runs, capsys):
    assert main(["runs", "show", "first", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == "first" and [e["epoch"] for e in shown["epochs"]] == [1, 2]


def test_tag_rename_and_delete_from_the_cli(two_runs, capsys):
    assert main(["runs", "tag", "first", "--add", "baseline", "--add", "small"]) == 0
    assert main(["runs", "tag", "first", "--remove", "small"]) == 0
    assert main(["runs", "rename", "first", "My baseline"]) == 0
    assert main(["runs", "delete", "second"]) == 0
    (info,) = list_runs(two_runs)
    assert (info.id, info.name, info.tags) == ("first", "My baseline", ["baseline"])
    assert sorted(p.name for p in (two_runs / "runs").iterdir()) == ["first"]


def test_export_import_round_trip_through_files(two_runs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "first.zip"
    assert main(["runs", "export", "first", "--out", str(out), "--json"]) == 0
    assert json_lines(capsys.readouterr().out)[-1]["bytes"] == out.stat().st_size
    assert main(["runs", "export", "first", "--out", str(out)]) == 2  # never overwrites without --force
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("BIGMODEL_HOME", str(tmp_path / "elsewhere"))
    assert main(["runs", "import", str(out), "--json"]) == 0
    assert json_lines(capsys.readouterr().out)[-1] == {"event": "imported", "run": "first", "status": "finished",
                                                       "path": str(tmp_path / "elsewhere" / "runs" / "first")}


def test_reindex_rebuilds_the_list(two_runs, capsys):
    (two_runs / "index.sqlite").unlink()
    assert main(["runs", "reindex", "--json"]) == 0
    assert json_lines(capsys.readouterr().out)[-1] == {"event": "reindexed", "runs": 2, "vector_sets": 0, "damaged": 0}


def test_tensorboard_export_says_where_the_files_are(two_runs, capsys):
    assert main(["runs", "export", "first", "--format", "tensorboard"]) == 0
    out = capsys.readouterr().out
    assert "tensorboard --logdir" in out and str(two_runs / "tensorboard" / "first") in out


@pytest.mark.parametrize("argv, says", [
    (["runs", "show", "nope"], "does not exist"),
    (["runs", "delete", "../../etc"], "cannot be used as a run name"),
    (["runs", "import", "/no/such.zip"], "There is no file"),
    (["runs", "rename", "first", "x" * 101], "at most 100 characters"),
    (["train", "--resume", "first"], "already finished"),
    (["train", "--resume", "first", "--data", "builtin:digits"], "keeps its own data"),
    (["train", "--model", "lstm"], "Say which data"),
])
def test_run_store_mistakes_are_one_plain_error(two_runs, argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and says in err and "Hint: " in err and "Traceback" not in err


def test_importing_a_file_that_is_not_a_zip_is_a_plain_error(two_runs, tmp_path, capsys):
    bad = tmp_path / "notes.zip"
    bad.write_text("hello")
    assert main(["runs", "import", str(bad)]) == 2
    assert "not a readable .zip" in capsys.readouterr().err
    assert sorted(p.name for p in (two_runs / "runs").iterdir()) == ["first", "second"]


def test_a_damaged_run_is_listed_as_damaged(two_runs, capsys):
    (Path(two_runs) / "runs" / "second" / "run.json").write_text("{oops")
    assert main(["runs", "reindex"]) == 0
    capsys.readouterr()
    assert main(["runs", "list", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert [r.get("id") for r in rows if "status" in r] == ["first"]
    assert [r["id"] for r in rows if r.get("event") == "damaged"] == ["second"]
