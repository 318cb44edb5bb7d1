"""Config dataclasses (JSON round trip, unknown keys refused) and the page-level verbs of the data and models domains."""
from __future__ import annotations

import json

import pytest

from bigmodel_core import data as lab_data, models as lab_models
from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig, from_dict
from bigmodel_core.data.text import tables
from bigmodel_core.errors import BigModelError, ConfigError, DataError, did_you_mean


def test_run_config_survives_a_json_round_trip():
    cfg = RunConfig(DataConfig(spec="csv:x.csv", stemmer="porter", max_rows=100),
                    ModelConfig("lstm", {"hidden": 32}), TrainConfig(lr=0.01, epochs=3), name="r1")
    again = RunConfig.from_json(cfg.to_json())
    assert again == cfg
    assert isinstance(again.data, DataConfig) and isinstance(again.train, TrainConfig)


def test_unknown_config_key_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        from_dict(TrainConfig, {"epoch": 3})
    assert "epoch" in err.value.message and "epochs" in err.value.hint
    with pytest.raises(ConfigError) as err:
        RunConfig.from_json(json.dumps({"train": {"learning_rate": 0.1}}))
    assert "learning_rate" in err.value.message and err.value.hint


def test_did_you_mean_lists_all_choices_when_none_is_close():
    assert did_you_mean("lstn", ["lstm", "gru"]) == "Did you mean 'lstm'?"
    assert did_you_mean("zzz", ["b", "a"]) == "Valid choices: a, b."


def test_errors_read_as_message_then_hint():
    err = DataError("The file is empty.", "Choose another file.")
    assert str(err) == "The file is empty. Choose another file."
    assert isinstance(err, BigModelError) and err.exit_code == 2


def test_uploads_are_kept_once_by_content(isolated_home):
    data = b"text,label\ngood film,pos\n"
    first = lab_data.save_upload("my reviews (1).csv", data)
    again = lab_data.save_upload("my reviews (1).csv", data)
    assert first == again and first.read_bytes() == data
    assert first.parent.parent == isolated_home / "uploads"
    assert " " not in first.name and "(" not in first.name and first.name.endswith(".csv")
    assert lab_data.save_upload("other.csv", data + b"bad film,neg\n") != first


def test_upload_names_cannot_escape_the_workspace(isolated_home):
    path = lab_data.save_upload("../../etc/passwd.csv", b"text,label\n")
    assert path.parent.parent == isolated_home / "uploads"


def test_too_large_upload_is_refused(monkeypatch, isolated_home):
    monkeypatch.setattr(tables, "MAX_BYTES", 10)
    with pytest.raises(DataError) as err:
        lab_data.save_upload("big.csv", b"x" * 11)
    assert err.value.hint
    assert not (isolated_home / "uploads").exists() or not any((isolated_home / "uploads").iterdir())


def test_inspect_table_guesses_columns_for_the_user_to_confirm(reviews_csv):
    info = lab_data.inspect_table(reviews_csv())
    assert info["columns"] == ["text", "label"]
    assert (info["text_column"], info["label_column"]) == ("text", "label")
    assert info["rows"] == 160 and len(info["summary"]) == 2


def test_data_overview_shows_classes_samples_and_a_trace(reviews_csv):
    info = lab_data.data_overview(DataConfig(spec=f"csv:{reviews_csv()}"), samples=5)
    assert info["classes"] == ["negative", "positive"]
    assert len(info["samples"]) == 5 and info["vocab_size"] > 10
    assert info["trace"]["tokens"] and info["split"]["train"] == 128
    json.dumps(info)


@pytest.mark.parametrize("name", ["bag_of_embeddings", "lstm", "transformer"])
def test_model_overview_describes_the_chosen_model(name):
    info = lab_models.model_overview(DataConfig(), ModelConfig(name), vocab_size=500, num_classes=2)
    assert info["name"] == name and info["family"] and info["description"]
    assert info["total_parameters"] > 0 and info["flops_per_example"] > 0 and info["layers"]
    json.dumps(info)


def test_model_overview_with_an_unknown_setting_is_a_plain_error():
    with pytest.raises(ConfigError) as err:
        lab_models.model_overview(DataConfig(), ModelConfig("lstm", {"hiden": 3}), vocab_size=100, num_classes=2)
    assert "hidden" in err.value.hint
