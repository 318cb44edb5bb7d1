"""Each layer's gradient norm during training, and the plain sentences about a run's history: over-fitting,
a loss that stopped moving, a loss that exploded."""
from __future__ import annotations

import json
import math
import random

import pytest
import torch
from torch import nn

from bigmodel_core.config import DataConfig, TrainConfig
from bigmodel_core.data.text.batching import TextBatches
from bigmodel_core.data.text.pipeline import TextPipeline
from bigmodel_core.errors import Msg
from bigmodel_core.models import create_model
from bigmodel_core.training import diagnose as dg
from bigmodel_core.training.callbacks import History
from bigmodel_core.training.grad_norms import MAX_EVERY, MOST, GradNorms, layer_groups
from bigmodel_core.training.trainer import Trainer


# --- made-up histories --------------------------------------------------------------------------------
def epochs_of(train_acc, val_acc, train_loss=None):
    loss = train_loss or [1.0 / (i + 1) for i in range(len(train_acc))]
    return [{"epoch": i + 1, "train_accuracy": t, "val_accuracy": v, "train_loss": l}
            for i, (t, v, l) in enumerate(zip(train_acc, val_acc, loss))]


def events_of(losses, lrs=None, norms=None, epochs=(), per_epoch=None):
    """A run's event log as the Trainer reports it: batch_end per loss, then the epoch rows."""
    per_epoch = per_epoch or max(1, len(losses))
    out = [{"kind": "fit_start", "epoch": 1, "step": 0, "metrics": {}}]
    for i, loss in enumerate(losses):
        m = {"loss": loss, "lr": (lrs[i] if lrs else 0.01)}
        if norms and norms[i] is not None:
            m["grad_norms"] = norms[i]
        out.append({"kind": "batch_end", "epoch": i // per_epoch + 1, "step": i + 1, "metrics": m})
    out += [{"kind": "epoch_end", "epoch": r["epoch"], "step": 0, "metrics": {k: v for k, v in r.items() if k != "epoch"}}
            for r in epochs]
    return out


def noisy(rng, values, share=0.05):
    return [v * (1 + rng.gauss(0, share)) for v in values]


def learning_losses(rng, n=300, start=0.69, end=0.05):
    return noisy(rng, [end + (start - end) * math.exp(-i / (n / 5)) for i in range(n)])


@pytest.mark.parametrize("seed", range(5))
def test_a_healthy_run_has_nothing_to_report(seed):
    rng = random.Random(seed)
    losses = learning_losses(rng)
    norms = [{"embedding": rng.lognormvariate(0, 0.5), "fc": rng.lognormvariate(-1, 0.5)} for _ in losses]
    train = [0.6, 0.75, 0.85, 0.9, 0.93, 0.95]
    val = [0.58, 0.7, 0.78, 0.8, 0.81, 0.81]
    events = events_of(losses, norms=norms, epochs=epochs_of(train, val, [0.6, 0.4, 0.3, 0.22, 0.17, 0.13]),
                       per_epoch=50)
    assert dg.run_findings(events) == []


def test_over_fitting_is_validation_falling_for_two_epochs_while_training_rises():
    found = dg.overfitting(epochs_of([0.7, 0.8, 0.9, 0.95, 0.99], [0.7, 0.78, 0.8, 0.77, 0.74]))
    assert isinstance(found, Msg) and found.key == "engine.diagnose.overfitting"
    assert found.startswith("Over-fitting: validation accuracy fell for 2 epochs in a row (80.0% → 74.0%)")
    assert "training accuracy rose (90.0% → 99.0%)" in found and "Try fewer epochs" in found
    assert dg.overfitting(epochs_of([0.7, 0.8, 0.9, 0.95], [0.7, 0.78, 0.8, 0.79])) is None  # one fall: noise
    assert dg.overfitting(epochs_of([0.9, 0.8, 0.7], [0.9, 0.8, 0.7])) is None  # both fall: not memorising
    assert dg.overfitting(epochs_of([0.7, 0.8], [0.7, None])) is None  # no validation split
    assert "3 epochs" in dg.overfitting(epochs_of([0.5, 0.6, 0.7, 0.8], [0.8, 0.7, 0.6, 0.5]))


def test_a_loss_that_stopped_moving_over_epochs_is_stalled():
    stuck = dg.stalled([], epochs_of([0.5] * 5, [0.5] * 5, [0.6931, 0.6932, 0.6930, 0.6931, 0.6932]))
    assert stuck is not None and stuck.key == "engine.diagnose.stalled.epochs"
    assert stuck.startswith("The training loss has hardly moved over the last 3 epochs (by less than 1%; it is now 0.693).")
    assert "try a higher learning rate" in stuck
    assert dg.stalled([], epochs_of([0.5] * 5, [0.5] * 5, [0.69, 0.6, 0.5, 0.45, 0.4])) is None  # still learning
    assert dg.stalled([], epochs_of([0.5] * 3, [0.5] * 3, [0.6931] * 3)) is None  # too few epochs to tell
    # a loss near zero that no longer moves has learned what it can: nothing to warn about
    assert dg.stalled([0.69] * 5, epochs_of([1.0] * 5, [1.0] * 5, [0.003, 0.002, 0.002, 0.002, 0.002])) is None


def test_a_loss_that_stopped_moving_within_an_epoch_is_stalled_unless_the_schedule_is_quiet_on_purpose():
    rng = random.Random(0)
    flat = noisy(rng, [0.6931] * 120, share=0.01)
    found = dg.stalled(flat, [], lrs=[0.01] * 120)
    assert found is not None and found.key == "engine.diagnose.stalled.steps" and "last 100 batches" in found
    assert dg.stalled(learning_losses(rng, 120), [], lrs=[0.01] * 120) is None
    assert dg.stalled(flat, [], lrs=[0.0001 * (i + 1) for i in range(120)]) is None  # warm-up: gentle by design
    assert dg.stalled(flat[:90], [], lrs=[0.01] * 90) is None  # not enough batches yet
    # the end of a decay settling a model that learned is not a stall; a loss still at its start is one
    settled = [1.0] * 5 + noisy(rng, [0.2] * 115, share=0.01)
    decaying = [0.01 * (1 - i / 120) for i in range(120)]
    assert dg.stalled(settled, [], lrs=decaying) is None
    assert dg.stalled(flat, [], lrs=decaying) is not None


def test_a_loss_far_above_its_start_or_not_a_number_has_exploded():
    rng = random.Random(1)
    grown = noisy(rng, [0.7 * 1.05 ** i for i in range(80)])
    found = dg.exploded(grown)
    assert found.key == "engine.diagnose.exploded.loss" and "more than 10 times where it started" in found
    assert "lower the learning rate" in found and dg.is_urgent(found)
    assert dg.exploded([0.7, 0.6, float("nan")]).key == "engine.diagnose.exploded.nan"
    assert dg.exploded(noisy(rng, [0.7 * 1.02 ** i for i in range(80)])) is None  # 4.9x: not yet


def test_a_gradient_far_above_its_usual_size_has_exploded_and_names_the_layer():
    rng = random.Random(2)
    usual = {"embedding": [rng.lognormvariate(0, 0.3) for _ in range(40)],
             "rnn": [rng.lognormvariate(-2, 0.3) for _ in range(40)]}
    assert dg.exploded([0.69] * 40, usual) is None
    spiked = {**usual, "rnn": usual["rnn"][:-1] + [500 * usual["rnn"][-2]]}
    found = dg.exploded([0.69] * 40, spiked)
    assert found.key == "engine.diagnose.exploded.grad" and "the layer rnn jumped" in found
    assert dg.exploded([0.69] * 40, {**usual, "rnn": usual["rnn"] + [float("inf")]}).key == \
        "engine.diagnose.exploded.grad_nan"
    # a layer measured only now and then (None between) is judged on the values it has
    sparse = {"fc": [None if i % 3 else v for i, v in enumerate(usual["embedding"] * 2)]}
    assert dg.exploded([0.69] * 80, sparse) is None


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_the_thresholds_do_not_depend_on_the_scale_of_the_loss_or_the_gradients(scale):
    rng = random.Random(3)
    flat = [scale * v for v in noisy(rng, [0.6931] * 120, share=0.01)]
    grown = [scale * 0.7 * 1.05 ** i for i in range(80)]
    grads = {"fc": [scale * rng.lognormvariate(0, 0.3) for _ in range(30)]}
    assert dg.stalled(flat, [], lrs=[0.01] * 120).key == "engine.diagnose.stalled.steps"
    assert dg.exploded(grown).key == "engine.diagnose.exploded.loss"
    assert dg.exploded([scale] * 30, grads) is None
    assert dg.exploded([scale] * 30, {"fc": grads["fc"] + [scale * 1e3]}).key == "engine.diagnose.exploded.grad"


def test_diagnose_reads_an_event_log_most_urgent_first():
    rng = random.Random(4)
    grown = noisy(rng, [0.7 * 1.05 ** i for i in range(80)])
    epochs = epochs_of([0.7, 0.8, 0.9, 0.95], [0.7, 0.8, 0.75, 0.7])
    found = dg.run_findings(events_of(grown, epochs=epochs, per_epoch=20))
    assert [m.key for m in found] == ["engine.diagnose.exploded.loss", "engine.diagnose.overfitting"]
    assert [dg.is_urgent(m) for m in found] == [True, False]
    assert dg.run_findings([]) == [] and dg.run_findings([{"kind": "fit_start", "metrics": {}}]) == []
    steps, layers = dg.layer_norms(events_of([0.7] * 4, norms=[{"a": 1.0}, None, {"a": 2.0, "b": 3.0}, None]))
    assert steps == [1, 3] and layers == {"a": [1.0, 2.0], "b": [None, 3.0]}


# --- layer groups ---------------------------------------------------------------------------------------
def test_layers_are_grouped_by_module_name_in_the_model_order():
    text = {"vocab_size": 100, "num_classes": 3}
    assert list(layer_groups(create_model("lstm", text, embed_dim=8, hidden=8))) == ["embedding", "rnn", "fc"]
    assert list(layer_groups(create_model("transformer", text))) == ["embedding", "layers.0", "layers.1", "norm", "fc"]
    convnet = create_model("convnet", {"num_classes": 3, "in_channels": 1, "image_size": 28})
    assert list(layer_groups(convnet)) == ["features.0", "features.1", "features.2", "features.3", "classifier"]
    deep = nn.Sequential(nn.Embedding(10, 4), nn.Sequential(*[nn.Linear(4, 4) for _ in range(30)]), nn.Linear(4, 2))
    groups = layer_groups(deep)
    assert len(groups) <= MOST and sum(len(p) for p in groups.values()) == len(list(deep.parameters()))
    frozen = create_model("lstm", text, embed_dim=8, hidden=8)
    frozen.embedding.weight.requires_grad_(False)
    assert list(layer_groups(frozen)) == ["rnn", "fc"]  # a frozen layer has no gradient to show


def test_a_long_run_is_measured_every_few_steps_a_short_one_at_every_step():
    model = nn.Linear(3, 2)
    assert GradNorms(model, updates=150).every == 1
    assert GradNorms(model, updates=1000).every == 5
    assert GradNorms(model, updates=10 ** 7).every == MAX_EVERY
    assert [s for s in range(12) if GradNorms(model, updates=1000).due(s)] == [0, 5, 10]


# --- a real run -------------------------------------------------------------------------------------------
@pytest.fixture
def data(review_texts):
    texts, labels = review_texts(96)
    pipe = TextPipeline(DataConfig()).fit(texts)
    y = [0 if label == "negative" else 1 for label in labels]
    return TextBatches(pipe.encode(texts), y, 16, shuffle=True, seed=0), pipe.vocab_size


def lstm(vocab: int):
    torch.manual_seed(0)
    return create_model("lstm", {"vocab_size": vocab, "num_classes": 2}, embed_dim=16, hidden=16)


def test_a_real_run_reports_each_layers_gradient_norm_at_every_step(data):
    train, vocab = data
    history = History()
    Trainer(TrainConfig(epochs=2, batch_size=16, device="cpu"), [history]).fit(lstm(vocab), train)
    batches = [e for e in history.rows if e["kind"] == "batch_end"]
    assert len(batches) == 12
    for e in batches:
        norms = e["metrics"]["grad_norms"]
        assert list(norms) == ["embedding", "rnn", "fc"]
        assert all(math.isfinite(v) and v > 0 for v in norms.values())
    json.dumps(history.rows)  # the job queue and history.jsonl need JSON
    steps, layers = dg.layer_norms(history.rows)
    assert steps == list(range(1, 13)) and set(layers) == {"embedding", "rnn", "fc"}


def test_gradient_norms_are_measured_at_optimizer_steps_before_clipping(data):
    train, vocab = data
    history = History()
    cfg = TrainConfig(epochs=1, batch_size=16, device="cpu", grad_clip=1e-4, grad_accumulation=2)
    Trainer(cfg, [history]).fit(lstm(vocab), train)
    measured = [e["step"] for e in history.rows if e["kind"] == "batch_end" and "grad_norms" in e["metrics"]]
    assert measured == [2, 4, 6]  # the accumulated gradient, once per optimizer step
    norms = [e["metrics"]["grad_norms"] for e in history.rows if "grad_norms" in e.get("metrics", {})]
    total = [math.sqrt(sum(v * v for v in n.values())) for n in norms]
    assert min(total) > 1e-3  # before clipping to 1e-4


def test_measuring_the_gradients_does_not_change_training(data, monkeypatch):
    train, vocab = data

    def weights():
        model = lstm(vocab)
        Trainer(TrainConfig(epochs=1, batch_size=16, device="cpu", seed=0)).fit(model, train)
        return {k: v.clone() for k, v in model.state_dict().items()}

    measured = weights()
    monkeypatch.setattr(GradNorms, "measure", lambda self, skip_non_finite=False: None)
    plain = weights()
    assert all(torch.equal(measured[k], plain[k]) for k in measured)


# --- on the Train page ------------------------------------------------------------------------------------
def _findings_page():
    import streamlit as st

    from ui.training_view import render_diagnosis

    render_diagnosis(st.session_state["log"])


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_train_page_shows_the_findings_in_the_users_language(lang):
    from streamlit.testing.v1 import AppTest

    rng = random.Random(5)
    log = events_of(noisy(rng, [0.7 * 1.05 ** i for i in range(80)]), per_epoch=20,
                    epochs=epochs_of([0.7, 0.8, 0.9, 0.95], [0.7, 0.8, 0.75, 0.7]))
    at = AppTest.from_function(_findings_page)
    at.session_state["ui_lang"], at.session_state["log"] = lang, log
    at.run()
    assert not at.exception
    [warning], [note] = [w.value for w in at.warning], [i.value for i in at.info]
    if lang == "en":
        assert warning.startswith("The loss has grown to") and note.startswith("Over-fitting:")
    else:
        assert warning.startswith("损失已经涨到") and note.startswith("过拟合：") and "→" in note


def test_the_gradient_chart_draws_one_line_per_layer_on_a_log_scale():
    from ui import charts

    steps, layers = dg.layer_norms(events_of([0.7] * 3, norms=[{"embedding": 1.0, "fc": 0.1}, None,
                                                               {"embedding": 2.0, "fc": float("inf")}]))
    fig = charts.layer_grad_norms(steps, layers).to_plotly_json()
    assert [d["name"] for d in fig["data"]] == ["embedding", "fc"]
    assert fig["data"][0]["x"] == [1, 3] and fig["data"][1]["y"] == [0.1, None]  # inf cannot be drawn on a log axis
    assert fig["layout"]["yaxis"]["type"] == "log"
    # an AppTest before this one may leave its session's language behind: either language's title
    assert fig["layout"]["title"]["text"] in ("Gradient norm of each layer", "每一层的梯度范数")
