"""Small vs big: what a bigger model bought, in accuracy, parameters, training time and prediction time."""
from __future__ import annotations

import pytest

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.runs.compare import predict_latency_ms, small_vs_big
from bigmodel_core.training.run import train_run


@pytest.fixture
def small_and_big(reviews_csv, isolated_home):
    spec = f"csv:{reviews_csv(240)}"
    runs = []
    for name, dim in (("big", 32), ("small", 4)):
        cfg = RunConfig(DataConfig(spec=spec), ModelConfig("bag_of_embeddings", {"embed_dim": dim, "hidden": dim}),
                        TrainConfig(epochs=3, batch_size=16), name=name)
        runs.append(train_run(cfg, home=isolated_home))
    return runs


def test_the_comparison_puts_the_smallest_first_and_says_what_the_biggest_bought(small_and_big, isolated_home):
    big, small = small_and_big
    latency = {r.id: predict_latency_ms(r, home=isolated_home) for r in small_and_big}
    assert all(isinstance(v, float) and 0 < v < 5000 for v in latency.values())
    out = small_vs_big([big, small], latency)
    assert [r["name"] for r in out["rows"]] == ["small", "big"] and out["same_data"]
    assert out["rows"][1]["parameters"] > out["rows"][0]["parameters"]
    assert out["rows"][0]["predict ms (one sentence)"] == latency["small"]
    gained = (big.metrics["test_accuracy"] - small.metrics["test_accuracy"]) * 100
    ratio = big.parameters / small.parameters
    assert out["sentence"].startswith(f"big (bag_of_embeddings) gives {gained:+.1f} points of test accuracy over small")
    assert f"{ratio:,.0f}× the parameters" in out["sentence"] and "training time per example" in out["sentence"]


def test_runs_on_different_data_are_called_an_unfair_comparison(small_and_big, reviews_csv, isolated_home):
    other = train_run(RunConfig(DataConfig(spec=f"csv:{reviews_csv(160, seed=3, name='other.csv')}"),
                                ModelConfig("bag_of_embeddings", {"embed_dim": 8, "hidden": 8}),
                                TrainConfig(epochs=1, batch_size=16), name="other"), home=isolated_home)
    out = small_vs_big([small_and_big[0], other])
    assert not out["same_data"] and out["sentence"].endswith("the comparison is not a fair one.")


def test_image_runs_are_not_timed_on_a_sentence(isolated_home):
    from bigmodel_core.runs.store import read_run

    info = train_run(RunConfig(DataConfig(spec="builtin:digits"), ModelConfig("mlp", {"hidden": [16]}),
                               TrainConfig(epochs=1, batch_size=64), name="digits"), home=isolated_home)
    assert predict_latency_ms(read_run("digits", isolated_home), home=isolated_home) is None
    assert info.task == "image"


def test_a_bigger_model_that_bought_nothing_is_said_to_be_below_not_to_gain(small_and_big):
    import dataclasses

    big, small = small_and_big
    worse = dataclasses.replace(big, metrics={**big.metrics, "test_accuracy": small.metrics["test_accuracy"] - 0.01})
    sentence = small_vs_big([worse, small])["sentence"]
    assert "big (bag_of_embeddings) is 1.0 points below small (bag_of_embeddings) in test accuracy" in sentence
    assert "gives" not in sentence and "the smaller model is enough" in sentence
