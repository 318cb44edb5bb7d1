"""Scaling sweeps: points that grow what they say, the power-law fit, the time budget, and the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import ConfigError
from bigmodel_core.models._registry import count_parameters
from bigmodel_core.training.sweep import axes_for, fit_power_law, list_sweeps, plan_sweep, sweep_points

ROOT = Path(__file__).resolve().parents[2]
INFO = {"vocab_size": 1000, "num_classes": 2}


def base(model: str = "lstm", spec: str = "builtin:synthetic_reviews") -> RunConfig:
    return RunConfig(DataConfig(spec=spec, max_rows=400), ModelConfig(model), TrainConfig(epochs=2, batch_size=32))


@pytest.mark.parametrize("model", ["lstm", "gru", "textcnn", "transformer", "bag_of_embeddings"])
def test_a_width_sweep_grows_the_parameters_at_every_point(model):
    configs = plan_sweep(base(model), "width", ["nano", "tiny", "small", "medium"], epochs=1)
    counts = [count_parameters(model, INFO, **c.model.params) for c in configs]
    assert counts == sorted(counts) and len(set(counts)) == 4
    assert [c.sweep["point"] for c in configs] == ["nano", "tiny", "small", "medium"]
    assert len({c.sweep["id"] for c in configs}) == 1 and all(c.train.monitor == "val_loss" for c in configs)


def test_a_depth_sweep_adds_layers_and_both_grows_width_and_depth():
    depth = plan_sweep(base("lstm"), "depth", ["nano", "tiny", "small"])
    assert [c.model.params["layers"] for c in depth] == [1, 2, 3]
    both = plan_sweep(base("transformer"), "both", ["tiny", "medium", "large"])
    assert [(c.model.params["dim"], c.model.params["layers"]) for c in both] == [(8, 1), (32, 2), (64, 3)]


def test_a_data_sweep_keeps_the_model_and_trains_on_more_of_the_same_split():
    from bigmodel_core.data.dataset import load_dataset

    configs = plan_sweep(base("lstm"), "data", ["100%", "0.25", "50%"])
    assert [c.data.train_fraction for c in configs] == [0.25, 0.5, 1.0]
    assert len({json.dumps(c.model.params, sort_keys=True) for c in configs}) == 1
    splits = [load_dataset(c.data).split for c in configs]
    assert [len(s["train"]) for s in splits] == sorted(len(s["train"]) for s in splits)
    for s in splits:  # the same validation and test rows for every point: their losses compare
        assert s["val"].tolist() == splits[-1]["val"].tolist() and s["test"].tolist() == splits[-1]["test"].tolist()
    assert set(splits[0]["train"]) <= set(splits[-1]["train"])


@pytest.mark.parametrize("axis, sizes, says", [
    ("width", ["tiny", "small"], "3 to 8 points"),
    ("width", ["tiny", "small", "huge"], "'huge' is not a model size"),
    ("width", ["tiny", "tiny", "small"], "same size twice"),
    ("data", ["0.1", "0.5", "1.5"], "between 0 and 1"),
    ("data", ["0.1", "half", "1"], "not a share"),
    ("length", ["tiny", "small", "medium"], "not something a sweep can grow"),
])
def test_a_bad_sweep_is_refused_before_anything_trains(axis, sizes, says, isolated_home):
    with pytest.raises(ConfigError) as err:
        plan_sweep(base(), axis, sizes)
    assert says in err.value.message and err.value.hint
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_a_model_without_layers_to_add_says_what_it_can_grow():
    assert axes_for("textcnn") == ["width", "data"]
    assert axes_for("lstm") == ["width", "depth", "both", "data"]
    with pytest.raises(ConfigError, match="no depth to grow") as err:
        plan_sweep(base("textcnn"), "depth", ["tiny", "small", "medium"])
    assert "width, data" in err.value.hint


def test_the_fit_recovers_a_known_exponent():
    n = np.array([1e4, 3e4, 1e5, 3e5, 1e6, 3e6])
    rng = np.random.default_rng(0)
    loss = 30.0 * n ** -0.35 + 0.3 + rng.normal(0, 1e-4, len(n))
    fit = fit_power_law(n, loss)
    assert fit["b"] == pytest.approx(0.35, abs=0.02) and fit["c"] == pytest.approx(0.3, abs=0.01)
    assert fit["b_stderr"] is not None and fit["b_stderr"] < 0.05 and fit["points"] == 6


def test_the_fit_needs_three_points_and_says_nothing_about_uncertainty_with_exactly_three():
    assert fit_power_law([1e3, 1e4], [0.7, 0.6]) is None
    assert fit_power_law([1e3, 1e4, None], [0.7, 0.6, 0.5]) is None
    fit = fit_power_law([1e3, 1e4, 1e5], [0.7, 0.6, 0.55])
    assert fit is not None and fit["b_stderr"] is None


def test_a_flat_curve_fits_with_a_floor_and_a_tiny_exponent_or_none():
    fit = fit_power_law([1e3, 1e4, 1e5, 1e6], [0.50, 0.50, 0.50, 0.50])
    assert fit is None or fit["c"] == pytest.approx(0.5, abs=0.01)


def test_a_time_budget_ends_the_run_as_finished_with_its_epoch_validated(reviews_csv, isolated_home):
    from bigmodel_core.training.run import train_run

    cfg = RunConfig(DataConfig(spec=f"csv:{reviews_csv(400)}"), ModelConfig("lstm", {"embed_dim": 8, "hidden": 8}),
                    TrainConfig(epochs=200, batch_size=4, time_budget_s=1.5, early_stopping_patience=None))
    info = train_run(cfg, home=isolated_home)
    assert info.status == "finished" and "time budget of 1.5 s" in info.stop_reason
    assert info.epochs_done < 200 and info.seconds < 20
    assert info.metrics["val_loss"] is not None
    from bigmodel_core.runs.store import read_history

    lrs = [e["metrics"]["lr"] for e in read_history(info.id, isolated_home) if e["kind"] == "batch_end"]
    assert max(lrs) == pytest.approx(cfg.train.lr, rel=0.2)  # warmed up to the peak within the budget ...
    assert lrs[-1] < 0.2 * cfg.train.lr  # ... and decayed over the seconds, not over 200 epochs


def test_sweep_points_give_parameters_compute_and_data_for_the_plots(reviews_csv, isolated_home):
    from bigmodel_core.runs.store import scan_runs
    from bigmodel_core.training.run import train_run

    configs = plan_sweep(base("lstm", f"csv:{reviews_csv(200)}"), "width", ["nano", "tiny", "small"], epochs=1)
    for cfg in configs:
        train_run(cfg, home=isolated_home)
    runs, _ = scan_runs(isolated_home, sweep=configs[0].sweep["id"])
    points = sweep_points(runs)
    assert [p["point"] for p in points] == ["nano", "tiny", "small"]
    assert all(p["parameters"] and p["compute"] and p["train_examples"] and p["val_loss"] for p in points)
    assert points[0]["compute"] < points[-1]["compute"]
    (group,) = list_sweeps(runs)
    assert (group["model"], group["axis"], len(group["runs"])) == ("lstm", "width", 3)


def test_the_cli_sweep_ends_with_the_runs_and_the_fit(reviews_csv, isolated_home):
    env = {**os.environ, "BIGMODEL_HOME": str(isolated_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bigmodel_core", "sweep", "--model", "lstm", "--axis", "width", "--sizes",
         "nano,tiny,small", "--data", f"csv:{reviews_csv(200)}", "--epochs", "1", "--json"],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    end = lines[-1]
    assert end["event"] == "sweep_end" and len(end["runs"]) == 3
    assert set(end["fit"] or {"a": 0, "b": 0, "c": 0, "b_stderr": 0}) >= {"a", "b", "c", "b_stderr"}
    listed = subprocess.run([sys.executable, "-m", "bigmodel_core", "runs", "list", "--json"], env=env,
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(end["runs"])
    assert all({"id", "status", "model", "metrics"} <= set(r) and r["sweep"] == end["sweep"] for r in rows)


def test_the_cli_refuses_a_bad_sweep_in_one_plain_line(isolated_home):
    env = {**os.environ, "BIGMODEL_HOME": str(isolated_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "bigmodel_core", "sweep", "--model", "lstm", "--axis", "width",
                           "--sizes", "tiny,small", "--data", "builtin:synthetic_reviews"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.startswith("Error: A sweep needs 3 to 8 points")
    assert "Traceback" not in proc.stderr


def test_the_sentence_under_the_fit_tells_untrained_flat_and_room_to_grow_apart():
    from bigmodel_core.training.sweep import describe_fit

    def pts(losses):
        return [{"val_loss": v, "chance_loss": float(np.log(2))} for v in losses]

    untrained = describe_fit(pts([0.693, 0.692, 0.691]), {"b": 0.3, "c": 0.5}, "parameters", "width")
    assert "not learned yet" in untrained and "more epochs" in untrained
    flat = describe_fit(pts([0.40, 0.40, 0.40]), {"b": 0.001, "c": 0.39}, "parameters", "width")
    assert "flat" in flat and "bigger models do not help" in flat
    room = describe_fit(pts([0.5, 0.4, 0.35]), {"b": 0.3, "c": 0.2}, "train_examples", "data")
    assert "0.150 above the floor" in room and "more data" in room
    assert describe_fit(pts([0.5]), None, "parameters", "width") is None


def test_a_sweep_says_when_it_started_from_its_id():
    from bigmodel_core.training.sweep import sweep_started

    assert sweep_started("sweep-20261201-124013-4cf6") == "2026-12-01 12:40"
    assert sweep_started("my-own-sweep") == "my-own-sweep"
    assert plan_sweep(base(), "width", ["nano", "tiny", "small"])[0].sweep["id"].startswith("sweep-")
