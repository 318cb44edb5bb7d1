"""The typed run record: JSON round trip, old run.json files read unchanged, and what a newer version adds kept."""
from __future__ import annotations

import json

import pytest

from bigmodel_core.config import RunConfig
from bigmodel_core.errors import RunError
from bigmodel_core.runs.info import SCHEMA_VERSION, RunInfo
from bigmodel_core.runs.store import read_run
from bigmodel_core.serve.bundle import load_bundle

OLD_RUN_JSON = {  # a run.json as the first releases wrote it: no schema, 'stopped' instead of a status
    "id": "old-run", "created": "2026-11-22 15:46:39", "task": "text",
    "config": {"data": {"spec": "builtin:synthetic_reviews", "max_rows": 1500},
               "model": {"name": "bag_of_embeddings", "params": {"embed_dim": 16}},
               "train": {"epochs": 2, "batch_size": 0}, "name": "old-run"},  # batch_size 0 was once let through
    "model_params": {"embed_dim": 16}, "data_info": {"task": "text", "class_names": ["negative", "positive"]},
    "device": "cpu", "threads": 1, "stopped": True, "stop_reason": "stopped by the user", "best_epoch": 1,
    "metrics": {"val_accuracy": 0.9}, "misclassified": [],
}


def test_an_old_run_json_is_read_unchanged_with_its_stop_as_the_status():
    info = RunInfo.from_dict(OLD_RUN_JSON, path="/x/old-run")
    assert info.status == "stopped" and info.stopped and info.stop_reason == "stopped by the user"
    assert info.model_name == "bag_of_embeddings" and info.class_names == ["negative", "positive"]
    assert info.config.train.batch_size == 0  # kept as recorded, not refused
    assert info.schema == SCHEMA_VERSION and info.parent is None and info.path == "/x/old-run"


def test_a_record_survives_a_json_round_trip():
    info = RunInfo.from_dict(json.loads(json.dumps(OLD_RUN_JSON)))
    again = RunInfo.from_dict(json.loads(json.dumps(info.to_dict())))
    assert again == info
    assert info.to_dict()["schema"] == SCHEMA_VERSION and info.to_dict()["stopped"] is True


def test_keys_of_a_newer_version_are_kept_when_the_record_is_written_back():
    info = RunInfo.from_dict({**OLD_RUN_JSON, "quantization": {"bits": 8}})
    assert info.extra == {"quantization": {"bits": 8}}
    assert info.to_dict()["quantization"] == {"bits": 8}


def test_a_trained_run_is_a_record_with_typed_parts(trained_run):
    info = read_run(trained_run["path"])
    assert isinstance(info, RunInfo) and isinstance(info.config, RunConfig)
    assert info.status == "finished" and info.task == "text" and info.id == "reviews-bag"
    assert info.path == str(trained_run["path"])
    assert load_bundle(trained_run["path"]).info.id == "reviews-bag"


def test_an_unknown_status_makes_the_run_damaged(own_copy_of_run):
    record = json.loads((own_copy_of_run / "run.json").read_text())
    (own_copy_of_run / "run.json").write_text(json.dumps({**record, "status": "exploded"}))
    with pytest.raises(RunError, match="damaged"):
        read_run(own_copy_of_run.name)


def test_an_old_run_shows_the_constant_learning_rate_it_was_trained_with():
    assert RunInfo.from_dict(OLD_RUN_JSON).config.train.schedule == "constant"


def test_a_run_record_whose_settings_are_not_tables_is_damaged_not_a_crash(own_copy_of_run):
    from bigmodel_core.runs.store import scan_runs

    record = json.loads((own_copy_of_run / "run.json").read_text())
    record["config"]["data"] = "builtin:synthetic_reviews"
    record["config"]["train"]["batch_size"] = 0  # also outside today's range, so the lenient reader runs
    (own_copy_of_run / "run.json").write_text(json.dumps(record))
    runs, damaged = scan_runs()
    assert runs == [] and [d["id"] for d in damaged] == [own_copy_of_run.name]


def test_an_old_run_whose_model_settings_are_outside_todays_ranges_still_loads(own_copy_of_run):
    record = json.loads((own_copy_of_run / "run.json").read_text())
    record["model_params"]["dropout"] = 0.95  # allowed before settings had declared ranges
    (own_copy_of_run / "run.json").write_text(json.dumps(record))
    assert load_bundle(own_copy_of_run.name).predict_proba(["a good film"]).shape == (1, 2)
