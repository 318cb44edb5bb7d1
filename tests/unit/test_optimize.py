"""Making models small: pruning, int8 quantization and distillation, each a run derived from its parent."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bigmodel_core.__main__ import main
from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import ConfigError, ModelError
from bigmodel_core.optimize.derive import derive_run, plan
from bigmodel_core.optimize.prune import apply_pruning, make_permanent, sparsity
from bigmodel_core.runs.store import list_runs
from bigmodel_core.serve import load_bundle
from bigmodel_core.training.run import train_run

SENTENCES = ["a good great film", "a bad boring film", "the acting was superb", "really dull and clumsy"]


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    """A small trained LSTM in its own workspace (tests derive runs from it)."""
    from tests.unit.conftest import make_reviews, write_csv

    root = tmp_path_factory.mktemp("optimize")
    texts, labels = make_reviews(400)
    csv = write_csv(root / "reviews.csv", ["text", "label"], [[t, y] for t, y in zip(texts, labels)])
    home = root / "home"
    cfg = RunConfig(DataConfig(spec=f"csv:{csv}"), ModelConfig("lstm", {"embed_dim": 16, "hidden": 24}),
                    TrainConfig(epochs=4, batch_size=16, early_stopping_patience=None), name="parent")
    train_run(cfg, home=home)
    return {"home": home, "csv": csv}


@pytest.fixture
def home(parent, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(parent["home"], copy)
    monkeypatch.setenv("BIGMODEL_HOME", str(copy))
    return copy


def probabilities(run: str, home) -> np.ndarray:
    return load_bundle(run, home=home).predict_proba(SENTENCES)


def test_global_pruning_zeroes_the_share_asked_including_the_lstms_weights(home):
    pruned = derive_run("prune", "parent", home, sparsity=0.5)
    weights = load_file(str(Path(pruned.path) / "weights.safetensors"))
    assert not [k for k in weights if k.endswith(("_orig", "_mask"))]  # made permanent: a plain model
    model = load_bundle(pruned.id, home=home).model
    rows = sparsity(model)
    total = sum(r["parameters"] for r in rows)
    assert sum(r["zeros"] for r in rows) / total == pytest.approx(0.5, abs=0.01)
    assert any(r["layer"] == "rnn.weight_hh_l0" and r["zeros"] > 0 for r in rows)
    m = pruned.measure
    assert m["nonzero_parameters"] < 0.6 * m["parameters"]
    assert pruned.parent == "parent" and pruned.config.derive["kind"] == "prune"
    parent_measure = load_bundle("parent", home=home).info
    size = (Path(parent_measure.path) / "weights.safetensors").stat().st_size
    assert m["size_bytes"] == size and m["zipped_bytes"] < 0.8 * size  # same file, but its zeros zip away
    assert probabilities(pruned.id, home).shape == (4, 2)


def test_per_layer_pruning_thins_every_layer_by_the_same_share():
    from bigmodel_core.models import create_model

    model = create_model("lstm", {"vocab_size": 50, "num_classes": 2}, embed_dim=8, hidden=8)
    make_permanent(apply_pruning(model, 0.3, scope="layer"))
    for row in sparsity(model):
        assert row["sparsity"] == pytest.approx(0.3, abs=0.02), row


def test_fine_tuning_a_pruned_run_keeps_its_zeros(home):
    pruned = derive_run("prune", "parent", home, sparsity=0.7, finetune_epochs=1)
    assert pruned.epochs_done == 1 and pruned.status == "finished"
    rows = sparsity(load_bundle(pruned.id, home=home).model)
    assert sum(r["zeros"] for r in rows) / sum(r["parameters"] for r in rows) >= 0.69


def test_an_int8_run_predicts_like_its_parent_and_reloads_bit_for_bit(home):
    q = derive_run("quantize", "parent", home)
    assert q.config.derive["recipe"]["layers"] == ["Linear", "LSTM"]
    fp32, int8 = probabilities("parent", home), probabilities(q.id, home)
    assert np.abs(fp32 - int8).max() < 0.05 and (fp32.argmax(1) == int8.argmax(1)).all()
    assert np.array_equal(int8, probabilities(q.id, home))  # rebuilt from the recipe + int8 values: the same numbers
    weights = load_file(str(Path(q.path) / "weights.safetensors"))
    assert weights["rnn.weight_ih_l0.int8"].dtype == torch.int8
    parent_size = (Path(load_bundle("parent", home=home).info.path) / "weights.safetensors").stat().st_size
    assert q.measure["size_bytes"] < parent_size


def test_a_quantized_run_cannot_be_quantized_again(home):
    q = derive_run("quantize", "parent", home)
    with pytest.raises(ConfigError, match="quantized already"):
        derive_run("quantize", q.id, home)


def test_a_model_without_linear_or_recurrent_layers_cannot_be_quantized_dynamically():
    from bigmodel_core.optimize.quantize import quantize_model

    with pytest.raises(ModelError, match="nothing") as err:
        quantize_model(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU()))
    assert "static quantization" in err.value.hint


def noisy_copy(csv: Path, out: Path, share: float = 0.35) -> Path:
    """The same texts with `share` of their labels flipped: what a student learns from alone is wrong that often."""
    import csv as csvlib

    rows = list(csvlib.reader(open(csv, encoding="utf-8")))
    rng = random.Random(1)
    flip = {"positive": "negative", "negative": "positive"}
    body = [[t, flip[y] if rng.random() < share else y] for t, y in rows[1:]]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        csvlib.writer(fh).writerows([rows[0], *body])
    return out


def test_a_distilled_student_beats_the_same_student_trained_alone_when_the_teacher_knows_more(home, parent, tmp_path):
    from bigmodel_core.evaluate import evaluate_run

    noisy = noisy_copy(parent["csv"], tmp_path / "noisy.csv")
    student = {"embed_dim": 16, "hidden": 16}
    data = DataConfig(spec=f"csv:{noisy}")
    alone = train_run(RunConfig(data, ModelConfig("bag_of_embeddings", student),
                                TrainConfig(epochs=12, batch_size=16, early_stopping_patience=None), name="alone"),
                      home=home)
    distilled = train_run(plan("distil", "parent", home, student="bag_of_embeddings", student_params=student,
                               epochs=12, alpha=1.0, temperature=2.0, data=data, name="distilled"), home=home)
    assert distilled.parent == "parent" and distilled.config.derive["kind"] == "distil"
    clean = f"csv:{parent['csv']}"
    scores = {r: evaluate_run(r, clean, home=home)["metrics"]["accuracy"] for r in ("parent", "alone", "distilled")}
    assert scores["distilled"] > scores["alone"] + 0.08, scores  # measured: 0.76 against 0.60 (teacher 0.955)


def test_derived_runs_are_ordinary_runs_on_the_runs_list(home):
    q = derive_run("quantize", "parent", home)
    listed = {r.id: r for r in list_runs(home)}
    assert listed[q.id].parent == "parent" and listed[q.id].usable


def test_the_cli_prunes_and_ends_with_one_json_line(home, capsys):
    assert main(["optimize", "--run", "parent", "--prune", "0.5", "--json"]) == 0
    end = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert end["event"] == "optimize_end" and end["parent"] == "parent" and end["kind"] == "prune"
    assert end["nonzero_parameters"] < end["parameters"] and end["zipped_bytes"] < end["size_bytes"]
    assert set(end["latency_ms"]) == {"p50_b1", "p95_b1", "p50_b32", "p95_b32"}
    assert 0 <= end["metrics"]["accuracy"] <= 1
    assert main(["predict", "--run", end["run"], "--text", "a good film"]) == 0


@pytest.fixture(scope="module")
def digits_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("digits")
    train_run(RunConfig(DataConfig(spec="builtin:digits", max_rows=600), ModelConfig("convnet", {"block_channels": [8, 16]}),
                        TrainConfig(epochs=3, batch_size=32), name="cnn"), home=home)
    return home


def test_a_cnn_is_quantized_statically_with_conv_bn_relu_fused_and_calibrated(digits_home):
    from bigmodel_core.data.dataset import load_dataset

    q = derive_run("quantize", "cnn", digits_home)
    recipe = q.config.derive["recipe"]
    assert recipe["kind"] == "static_int8" and recipe["backend"] == "x86"
    assert ["features.0.0", "features.0.1", "features.0.2"] in recipe["fused"]
    parent = load_bundle("cnn", home=digits_home)
    images, _ = load_dataset(parent.info.config.data).part("test")
    fp32 = parent.predict_proba(list(images[:40]))
    int8 = load_bundle(q.id, home=digits_home).predict_proba(list(images[:40]))
    assert np.abs(fp32 - int8).max() < 0.1 and (fp32.argmax(1) == int8.argmax(1)).mean() >= 0.95
    assert q.metrics["test_accuracy"] >= parent.info.metrics["test_accuracy"] - 0.03
    size = (Path(parent.info.path) / "weights.safetensors").stat().st_size
    assert q.measure["size_bytes"] < 0.7 * size  # the convolutions are int8 too (scales weigh much in so tiny a net)


def test_a_resnet_cannot_be_quantized_statically_and_says_why():
    from bigmodel_core.models import create_model
    from bigmodel_core.optimize.quantize import quantize_static_model

    model = create_model("resnet", {"in_channels": 1, "image_size": 8, "num_classes": 3}, width=4)
    with pytest.raises(ModelError, match="shortcut") as err:
        quantize_static_model(model, [torch.zeros(2, 1, 8, 8)])
    assert "prune" in err.value.hint.lower()
