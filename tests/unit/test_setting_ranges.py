"""Every setting has a declared type and range, checked in one place: absurd values are plain errors, never runs."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from bigmodel_core.__main__ import main
from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import ConfigError, ModelError, TrainingError
from bigmodel_core.models import create_model, list_models, model_entry
from bigmodel_core.models._registry import check_size, resolve_params
from bigmodel_core.settings import Setting, field_setting, parse_field

TEXT_INFO = {"vocab_size": 500, "num_classes": 2, "in_channels": 1, "image_size": 28}


@pytest.mark.parametrize("settings, words", [
    (["lr=nan"], "learning rate"), (["lr=-1"], "above 0"), (["lr=1e9"], "at most 10"), (["lr=inf"], "lr"),
    (["hidden=0"], "hidden"), (["hidden=-3"], "from 1 to 4,096"), (["max_rows=-1"], "max_rows"),
    (["batch_size=0"], "batch_size"), (["batch_size=2.5"], "whole number"), (["layers=10000"], "from 1 to 16"),
    (["dropout=1.5"], "dropout"), (["optimizer=adma"], "Did you mean 'adam'"), (["val_fraction=0.9"], "val_fraction"),
    (["embed_dim=abc"], "embed_dim"), (["epochs=0"], "number of epochs"), (["seed=-5"], "seed"),
])
def test_out_of_range_training_settings_are_refused_with_the_valid_range(isolated_home, capsys, settings, words):
    argv = ["train", "--data", "builtin:synthetic_reviews", "--model", "lstm", "--dry-run"]
    for pair in settings:
        argv += ["--set", pair]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("Error: ") and "\nHint: " in err and "Traceback" not in err
    assert words in err
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_zero_epochs_from_the_command_line_saves_no_untrained_model(isolated_home, capsys):
    code = main(["train", "--data", "builtin:synthetic_reviews", "--model", "lstm", "--epochs", "0"])
    assert code == 2 and "number of epochs" in capsys.readouterr().err
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


@pytest.mark.parametrize("samples", ["0", "5", "10000000"])
def test_explain_with_an_absurd_number_of_samples_is_refused(trained_run, capsys, monkeypatch, samples):
    monkeypatch.setenv("BIGMODEL_HOME", str(trained_run["home"]))
    code = main(["explain", "--run", trained_run["id"], "--text", "a good film", "--samples", samples])
    err = capsys.readouterr().err
    assert code == 2 and "samples" in err and "from 10 to 10,000" in err


def test_the_api_and_the_cli_refuse_the_same_values_with_the_same_words():
    with pytest.raises(ConfigError) as api:
        TrainConfig(lr=float("nan"))
    with pytest.raises(ConfigError) as cli:
        parse_field(TrainConfig, "lr", "nan")
    assert api.value.hint == cli.value.hint == "Give a number above 0 and at most 10."


def test_config_from_json_checks_ranges_too():
    good = RunConfig()
    assert RunConfig.from_json(good.to_json()) == good
    with pytest.raises(ConfigError, match="batch_size"):
        RunConfig.from_json(good.to_json().replace('"batch_size": 64', '"batch_size": 0'))
    with pytest.raises(ConfigError):
        RunConfig.from_json("[]")


@pytest.mark.parametrize("cls", [DataConfig, ModelConfig, TrainConfig])
def test_every_config_default_is_inside_its_declared_range(cls):
    obj = cls()
    for f in dataclasses.fields(cls):
        spec = field_setting(cls, f.name)
        if spec is not None:
            assert spec.check(f.name, getattr(obj, f.name)) == getattr(obj, f.name)


@pytest.mark.parametrize("name", list_models())
def test_every_model_setting_has_a_declared_range_that_its_preset_fits(name):
    entry = model_entry(name)
    for key, default in entry.defaults.items():
        spec = entry.setting(key)
        if spec.kind in (int, float, list):
            assert spec.low is not None and spec.high is not None, f"{name}.{key} has no declared range"
        checked = spec.check(key, list(default) if isinstance(default, tuple) else default)
        assert checked == (list(default) if isinstance(default, tuple) else default)


def test_settings_given_as_text_become_typed_values():
    assert resolve_params("lstm", {"hidden": "32", "bidirectional": "false", "dropout": "0.5"}) | {} == {
        **model_entry("lstm").defaults, "hidden": 32, "bidirectional": False, "dropout": 0.5}
    assert resolve_params("textcnn", {"widths": "2, 3"})["widths"] == [2, 3]
    assert Setting(int, 1, 10).parse("n", "3.0") == 3
    assert Setting(float, 0, 1, optional=True).parse("x", "none") is None
    with pytest.raises(ConfigError, match="widths"):
        resolve_params("textcnn", {"widths": "3,x"})
    with pytest.raises(ConfigError, match="Did you mean 'hidden'"):
        resolve_params("lstm", {"hiden": 3})


def test_a_model_beyond_the_parameter_cap_is_refused_before_it_is_built(monkeypatch):
    monkeypatch.setenv("BIGMODEL_MAX_PARAMS", "100000")
    built = []
    monkeypatch.setattr(torch.nn.LSTM, "__init__", _recording(torch.nn.LSTM.__init__, built))
    with pytest.raises(ModelError) as err:
        create_model("lstm", TEXT_INFO, hidden=256)
    assert "parameters" in err.value.message and "100,000" in err.value.message
    assert "BIGMODEL_MAX_PARAMS" in err.value.hint
    assert built == ["meta"]  # counted on the meta device only: no real weights were allocated


def _recording(init, seen):
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        seen.append(self.weight_ih_l0.device.type)
    return wrapped


def test_a_model_that_needs_more_memory_than_is_free_is_refused(monkeypatch):
    from bigmodel_core.models import _registry

    monkeypatch.setattr(_registry, "available_memory", lambda: 1_000_000)
    with pytest.raises(ModelError, match="free here"):
        check_size("lstm", TEXT_INFO, resolve_params("lstm", {}))


def test_out_of_memory_in_a_step_becomes_a_plain_error_suggesting_a_smaller_batch(reviews_csv, small_run_config,
                                                                                  isolated_home, monkeypatch):
    from bigmodel_core.models.bag import BagOfEmbeddings
    from bigmodel_core.training.run import train_run

    def no_memory(self, *args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(BagOfEmbeddings, "forward", no_memory)
    with pytest.raises(TrainingError) as err:
        train_run(small_run_config(f"csv:{reviews_csv()}", batch_size=16))
    assert "ran out of memory" in err.value.message and "batch size (for example 8)" in err.value.hint
    assert not any((isolated_home / "runs").iterdir())


def test_a_loss_that_explodes_ends_the_run_with_a_plain_error(reviews_csv, small_run_config, isolated_home):
    from bigmodel_core.training.run import train_run

    cfg = small_run_config(f"csv:{reviews_csv()}", optimizer="sgd", lr=10.0, grad_clip=None, batch_size=4, epochs=3,
                           weight_decay=0.0)
    with pytest.raises(TrainingError) as err:
        train_run(cfg)
    assert any(w in err.value.message for w in ("exploded", "nan", "inf")) and "learning rate" in err.value.hint
    assert not any((isolated_home / "runs").iterdir())


def test_numpy_numbers_are_settings_like_python_numbers():
    import numpy as np

    cfg = TrainConfig(epochs=np.int64(3), lr=np.float32(0.01))
    assert cfg.epochs == 3 and isinstance(cfg.epochs, int) and abs(cfg.lr - 0.01) < 1e-6
