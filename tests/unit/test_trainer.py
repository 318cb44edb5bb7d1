"""The Trainer loop: events, history, lr schedule, stopping, early stopping, best checkpoint, NaN, devices."""
from __future__ import annotations

import csv
import itertools
import json
import math
import random
import threading

import numpy as np
import pytest
import torch

from bigmodel_core.config import DataConfig, TrainConfig
from bigmodel_core.data.text.batching import TextBatches
from bigmodel_core.data.dataset import load_dataset
from bigmodel_core.data.text.pipeline import TextPipeline
from bigmodel_core.errors import ConfigError, DeviceError, TrainingError
from bigmodel_core.models import create_model
from bigmodel_core.runs.store import list_runs, read_history
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.settings import parse_field
from bigmodel_core.training import devices
from bigmodel_core.training.callbacks import BestCheckpoint, EarlyStopping, History
from bigmodel_core.training.events import Callback, StopTraining
from bigmodel_core.training.run import train_run
from bigmodel_core.training.trainer import Trainer


class Recorder(Callback):
    """Keeps every event it is given, in order."""

    def __init__(self) -> None:
        self.events = []

    def _add(self, trainer, event) -> None:
        self.events.append(event.to_dict())

    on_fit_start = on_epoch_start = on_batch_end = on_epoch_end = on_fit_end = _add

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]


class AtStep(Callback):
    """Calls `action(trainer)` once, after batch `step`."""

    def __init__(self, step: int, action) -> None:
        self.step, self.action = step, action

    def on_batch_end(self, trainer, event) -> None:
        if event.step == self.step:
            self.action(trainer)


@pytest.fixture
def data(review_texts):
    """Encoded train/val batches of the tiny review set (96 train = 6 batches of 16, 32 val)."""
    texts, labels = review_texts(128)
    pipe = TextPipeline(DataConfig()).fit(texts[:96])
    ids = {0: "negative", 1: "positive"}
    y = torch.tensor([0 if l == ids[0] else 1 for l in labels]).numpy()
    train = TextBatches(pipe.encode(texts[:96]), y[:96], 16, shuffle=True)
    val = TextBatches(pipe.encode(texts[96:]), y[96:], 16)
    return train, val, pipe.vocab_size


def small_model(vocab_size: int):
    torch.manual_seed(0)
    return create_model("bag_of_embeddings", {"vocab_size": vocab_size, "num_classes": 2}, embed_dim=16, hidden=16)


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", **kw})


# --- events and history -------------------------------------------------------------------------
def test_events_come_in_order_with_metrics(data):
    train, val, vocab = data
    rec = Recorder()
    Trainer(cfg(epochs=2), [rec]).fit(small_model(vocab), train, val)
    expected = ["fit_start"] + (["epoch_start"] + ["batch_end"] * 6 + ["epoch_end"]) * 2 + ["fit_end"]
    assert rec.kinds() == expected
    start, end = rec.events[0], rec.events[-1]
    assert start["total_steps"] == 12
    assert start["metrics"]["device"] == "cpu" and start["metrics"]["train_examples"] == 96
    assert start["metrics"]["parameters"] > 0
    batches = [e for e in rec.events if e["kind"] == "batch_end"]
    assert [e["step"] for e in batches] == list(range(1, 13))
    assert all(math.isfinite(e["metrics"]["loss"]) and e["metrics"]["samples_per_s"] > 0 for e in batches)
    epoch_ends = [e for e in rec.events if e["kind"] == "epoch_end"]
    assert [e["epoch"] for e in epoch_ends] == [1, 2]
    for e in epoch_ends:
        assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_seconds"} <= set(e["metrics"])
        assert 0 <= e["metrics"]["val_accuracy"] <= 1
    assert end["metrics"]["stopped"] is False
    json.dumps(rec.events)  # the UI queue needs JSON-able events


def test_history_gives_one_row_per_epoch(data):
    train, val, vocab = data
    history = History()
    Trainer(cfg(epochs=3, lr=1e-2), [history]).fit(small_model(vocab), train, val)
    epochs = history.epochs()
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert all("val_accuracy" in r and "train_loss" in r for r in epochs)
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert history.rows[0]["kind"] == "fit_start" and history.rows[-1]["kind"] == "fit_end"


def test_training_learns_the_tiny_task(data):
    train, val, vocab = data
    history = History()
    # constant rate: 48 steps are too few for the default decay to leave room to learn in
    Trainer(cfg(epochs=8, lr=2e-2, schedule="constant"), [history]).fit(small_model(vocab), train, val)
    assert history.epochs()[-1]["val_accuracy"] >= 0.9


def test_dry_run_trains_two_batches_of_one_epoch(data):
    train, val, vocab = data
    rec = Recorder()
    Trainer(cfg(epochs=5, dry_run=True), [rec]).fit(small_model(vocab), train, val)
    assert rec.kinds().count("batch_end") == 2 and rec.kinds().count("epoch_end") == 1


def test_unknown_optimizer_suggests_valid_ones(data):
    train, val, vocab = data
    with pytest.raises(ConfigError) as err:
        Trainer(cfg(optimizer="adamm")).fit(small_model(vocab), train, val)
    assert "adam" in err.value.hint


# --- learning-rate schedule ---------------------------------------------------------------------
def batch_lrs(rec: Recorder) -> list[float]:
    return [e["metrics"]["lr"] for e in rec.events if e["kind"] == "batch_end"]


@pytest.mark.parametrize("schedule", ["warmup_linear", "warmup_cosine"])
def test_learning_rate_warms_up_then_decays_batch_by_batch(data, schedule):
    train, val, vocab = data
    rec = Recorder()
    Trainer(cfg(epochs=4, lr=1e-2, schedule=schedule, warmup_fraction=0.25), [rec]).fit(small_model(vocab), train, val)
    lrs = batch_lrs(rec)  # 24 steps: 6 of warm-up, 18 of decay
    assert len(lrs) == 24
    assert lrs[0] == pytest.approx(1e-2 / 6), "the first batch already trains, at a small rate"
    assert all(a < b for a, b in itertools.pairwise(lrs[:6])), "the rate climbs during the warm-up"
    assert lrs[5] == pytest.approx(1e-2) and max(lrs) == pytest.approx(1e-2)
    assert all(a > b for a, b in itertools.pairwise(lrs[5:])), "then it only falls"
    assert 0 < lrs[-1] < 0.1 * 1e-2


def test_constant_schedule_keeps_the_learning_rate(data):
    train, val, vocab = data
    rec = Recorder()
    Trainer(cfg(epochs=2, lr=3e-3, schedule="constant"), [rec]).fit(small_model(vocab), train, val)
    assert batch_lrs(rec) == [pytest.approx(3e-3)] * 12


def test_dry_run_schedule_spans_only_its_two_batches(data):
    train, val, vocab = data
    rec = Recorder()
    Trainer(cfg(epochs=5, lr=1e-2, schedule="warmup_linear", warmup_fraction=0.5, dry_run=True),
            [rec]).fit(small_model(vocab), train, val)
    # one warm-up batch at the full rate, one halfway down; sized to 5 epochs x 6 batches, the
    # warm-up would still be at 1/15 and 2/15 of the rate
    assert batch_lrs(rec) == [pytest.approx(1e-2), pytest.approx(5e-3)]


def test_stop_mid_schedule_keeps_the_rates_seen_so_far(data):
    train, val, vocab = data
    rec = Recorder()
    Trainer(cfg(epochs=3, warmup_fraction=0.5), [rec, AtStep(4, lambda t: t.request_stop())]).fit(
        small_model(vocab), train, val)
    lrs = batch_lrs(rec)
    assert len(lrs) == 4 and lrs == sorted(lrs), "stopped during the warm-up: four rising rates"
    assert rec.events[-1]["metrics"]["stopped"] is True


def test_unknown_schedule_is_a_config_error_with_did_you_mean():
    with pytest.raises(ConfigError) as err:
        TrainConfig(schedule="warmup_cosin")
    assert "warmup_cosine" in err.value.hint
    with pytest.raises(ConfigError) as err:
        parse_field(TrainConfig, "schedule", "cosine")  # as `--set schedule=cosine` gives it
    assert "warmup_cosine" in err.value.hint


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_adamw_strength_weight_decay_with_adam_or_sgd_is_refused_with_a_hint(data, optimizer):
    train, val, vocab = data
    with pytest.raises(ConfigError) as err:  # the default 0.5, kept after switching the optimizer
        Trainer(cfg(optimizer=optimizer)).fit(small_model(vocab), train, val)
    assert "adamw" in err.value.hint
    Trainer(cfg(optimizer=optimizer, weight_decay=1e-4, epochs=1)).fit(small_model(vocab), train, val)


# --- stopping -----------------------------------------------------------------------------------
def test_stop_keeps_partial_history(data):
    train, val, vocab = data
    rec, history = Recorder(), History()
    trainer = Trainer(cfg(epochs=3), [rec, history, AtStep(3, lambda t: t.request_stop())])
    trainer.fit(small_model(vocab), train, val)
    assert rec.kinds().count("batch_end") == 3, "the stop must take effect at the next batch boundary"
    assert rec.kinds()[-1] == "fit_end"
    assert rec.events[-1]["metrics"]["stopped"] is True
    assert rec.events[-1]["metrics"]["stop_reason"]
    assert trainer.stopped_early
    assert [r["step"] for r in history.rows if r["kind"] == "batch_end"] == [1, 2, 3]


def test_stop_requested_from_another_thread_ends_at_a_batch_boundary(data):
    train, val, vocab = data
    reached, resume = threading.Event(), threading.Event()

    def pause_at_step_4(trainer):
        reached.set()
        assert resume.wait(10)

    rec = Recorder()
    trainer = Trainer(cfg(epochs=3), [rec, AtStep(4, pause_at_step_4)])
    worker = threading.Thread(target=trainer.fit, args=(small_model(vocab), train, val))
    worker.start()
    assert reached.wait(30)
    trainer.request_stop()  # from this (the "UI") thread while the worker is mid-epoch
    resume.set()
    worker.join(30)
    assert not worker.is_alive()
    assert rec.kinds().count("batch_end") == 4
    assert rec.events[-1]["kind"] == "fit_end" and rec.events[-1]["metrics"]["stopped"] is True


def test_stop_event_shared_with_the_caller_stops_training(data):
    train, val, vocab = data
    stop = threading.Event()
    rec = Recorder()
    Trainer(cfg(epochs=3), [rec, AtStep(8, lambda t: stop.set())], stop_event=stop).fit(small_model(vocab), train, val)
    assert rec.kinds().count("batch_end") == 8
    assert rec.kinds().count("epoch_end") == 1
    assert rec.events[-1]["metrics"]["stopped"] is True
    # the last finished epoch's metrics are still reported at the end
    assert "val_accuracy" in rec.events[-1]["metrics"]


def test_a_callback_can_stop_training_by_raising_stop_training(data):
    train, val, vocab = data
    rec = Recorder()

    def stop(trainer):
        raise StopTraining("enough")

    trainer = Trainer(cfg(epochs=3), [rec, AtStep(2, stop)])
    trainer.fit(small_model(vocab), train, val)
    assert rec.events[-1]["metrics"]["stopped"] is True
    assert trainer.stop_reason == "enough"


def test_early_stopping_stops_when_the_metric_stalls(data):
    train, val, vocab = data
    rec = Recorder()
    trainer = Trainer(cfg(epochs=5, lr=1e-12), [rec, EarlyStopping("val_accuracy", patience=1)])
    trainer.fit(small_model(vocab), train, val)
    assert rec.kinds().count("epoch_end") == 2
    assert trainer.stopped_early and "early stopping" in trainer.stop_reason
    assert rec.events[-1]["metrics"]["stopped"] is True


def test_callbacks_after_early_stopping_still_see_the_epoch_that_stopped_it(data):
    train, val, vocab = data
    rec = Recorder()  # listed after EarlyStopping, as the CLI printer and the UI log are in a run
    trainer = Trainer(cfg(epochs=5, lr=1e-12), [EarlyStopping("val_accuracy", patience=1), rec])
    trainer.fit(small_model(vocab), train, val)
    assert [e["epoch"] for e in rec.events if e["kind"] == "epoch_end"] == [1, 2]
    assert rec.kinds()[-1] == "fit_end" and rec.events[-1]["metrics"]["stopped"] is True


def test_best_checkpoint_restores_the_best_epoch_weights(data):
    train, val, vocab = data
    fake_scores = {1: 0.5, 2: 0.9, 3: 0.6}
    snapshots = {}

    class FakeScore(Callback):  # runs before BestCheckpoint: epoch 2 is made the best
        def on_epoch_end(self, trainer, event):
            event.metrics["val_accuracy"] = fake_scores[event.epoch]
            snapshots[event.epoch] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    best, rec = BestCheckpoint("val_accuracy"), Recorder()
    model = Trainer(cfg(epochs=3, lr=1e-2), [FakeScore(), best, rec]).fit(small_model(vocab), train, val)
    final = model.state_dict()
    assert all(torch.equal(final[k], snapshots[2][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[3][k]) for k in final)
    assert best.best_epoch == 2
    assert rec.events[-1]["metrics"]["best_epoch"] == 2


def test_best_checkpoint_with_lower_is_better_monitor(data):
    train, val, vocab = data
    best = BestCheckpoint("val_loss")
    Trainer(cfg(epochs=3, lr=1e-2, monitor="val_loss"), [best]).fit(small_model(vocab), train, val)
    assert best.best_epoch == 3  # the loss falls every epoch on this easy task


# --- NaN and failures ---------------------------------------------------------------------------
def runs_folder_entries(home) -> list[str]:
    folder = home / "runs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_nan_loss_is_a_training_error(data):
    train, val, vocab = data
    with pytest.raises(TrainingError) as err:
        Trainer(cfg(optimizer="sgd", lr=10.0, weight_decay=0.0, grad_clip=None, epochs=3)).fit(
            small_model(vocab), train, val)
    assert any(word in err.value.message.lower() for word in ("nan", "inf", "exploded"))
    assert "learning rate" in err.value.hint


def test_nan_loss_in_a_run_leaves_nothing_in_the_workspace(reviews_csv, small_run_config, isolated_home):
    cfg_ = small_run_config(f"csv:{reviews_csv()}", optimizer="sgd", lr=10.0, weight_decay=0.0, grad_clip=None,
                            epochs=3)
    with pytest.raises(TrainingError):
        train_run(cfg_)
    assert runs_folder_entries(isolated_home) == []
    assert list_runs() == []


def test_failure_during_a_run_leaves_nothing_half_saved(reviews_csv, small_run_config, isolated_home):
    class Crash(Callback):
        def on_epoch_end(self, trainer, event):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        train_run(small_run_config(f"csv:{reviews_csv()}"), [Crash()])
    assert runs_folder_entries(isolated_home) == []


def test_failure_while_saving_leaves_nothing_half_saved(reviews_csv, small_run_config, isolated_home, monkeypatch):
    def broken_vocab(*a, **k):
        raise OSError("no space left on device")

    monkeypatch.setattr(TextPipeline, "to_json", broken_vocab)  # the class, wherever the run imports it from
    with pytest.raises(OSError):
        train_run(small_run_config(f"csv:{reviews_csv()}"))
    assert runs_folder_entries(isolated_home) == []


def test_stopped_run_is_still_saved_and_marked_stopped(reviews_csv, small_run_config, isolated_home):
    stop = threading.Event()
    info = train_run(small_run_config(f"csv:{reviews_csv()}", epochs=4), [AtStep(10, lambda t: stop.set())],
                     stop_event=stop)
    assert info.stopped is True and info.stop_reason
    saved = list_runs()
    assert [r.id for r in saved] == [info.id]
    assert saved[0].stopped is True
    history = read_history(info.id)
    assert [r["step"] for r in history if r["kind"] == "batch_end"] == list(range(1, 11))
    assert history[-1]["kind"] == "fit_end" and history[-1]["metrics"]["stopped"] is True
    assert runs_folder_entries(isolated_home) == [info.id]


def test_early_stopping_in_a_run_stops_after_the_stalled_epoch(reviews_csv, small_run_config):
    info = train_run(small_run_config(f"csv:{reviews_csv()}", epochs=5, lr=1e-12, early_stopping_patience=1))
    epochs = [r for r in read_history(info.id) if r["kind"] == "epoch_end"]
    assert len(epochs) == 2
    assert info.status == "finished" and "early stopping" in info.stop_reason  # early stopping is the plan


def noisy_reviews_csv(tmp_path, review_texts, noise: float = 0.2):
    """The tiny review set with a share of its labels flipped: validation accuracy peaks, then wobbles."""
    texts, labels = review_texts(160)
    rng = random.Random(0)
    flip = {"positive": "negative", "negative": "positive"}
    path = tmp_path / "noisy.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        out.writerows([t, flip[l] if rng.random() < noise else l] for t, l in zip(texts, labels))
    return path


def test_early_stopping_is_on_by_default_and_the_run_keeps_the_best_epoch(tmp_path, review_texts, small_run_config):
    patience = TrainConfig().early_stopping_patience
    assert patience is not None
    # val_loss: early stopping and the best checkpoint then judge epochs alike (an accuracy tie goes
    # to the surer epoch in the checkpoint, but is no improvement for early stopping)
    info = train_run(small_run_config(f"csv:{noisy_reviews_csv(tmp_path, review_texts)}", epochs=40,
                                      monitor="val_loss"))
    epochs = [r for r in read_history(info.id) if r["kind"] == "epoch_end"]
    assert "early stopping" in info.stop_reason
    assert len(epochs) < 40 and info.best_epoch == len(epochs) - patience
    best = epochs[info.best_epoch - 1]["metrics"]
    assert info.metrics["val_accuracy"] == pytest.approx(best["val_accuracy"])
    assert info.metrics["val_loss"] == pytest.approx(best["val_loss"], rel=1e-5)
    # the saved weights, loaded back, score the best epoch's validation loss on the run's own val rows
    ds = load_dataset(DataConfig(spec=info.config.data.spec))
    texts, labels = ds.part("val")
    probs = load_bundle(info.id).predict_proba(list(texts))
    assert float((probs.argmax(1) == labels).mean()) == pytest.approx(best["val_accuracy"])
    saved_loss = float(-np.log(probs[np.arange(len(labels)), labels]).mean())
    assert saved_loss == pytest.approx(best["val_loss"], rel=1e-4)


def test_early_stopping_can_be_turned_off(reviews_csv, small_run_config):
    info = train_run(small_run_config(f"csv:{reviews_csv()}", epochs=5, lr=1e-12, early_stopping_patience=None))
    assert len([r for r in read_history(info.id) if r["kind"] == "epoch_end"]) == 5
    assert info.stopped is False and info.stop_reason is None


# --- devices and threads ------------------------------------------------------------------------
def test_cuda_without_a_gpu_is_a_device_error_with_a_hint(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0", "CUDA:1"):
        with pytest.raises(DeviceError) as err:
            devices.resolve_device(name)
        assert "cpu" in err.value.hint or "auto" in err.value.hint


def test_malformed_device_names_are_device_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("gpu", "cuda:first", "tpu"):
        with pytest.raises(DeviceError) as err:
            devices.resolve_device(name)
        assert err.value.hint


def test_cpu_and_auto_always_resolve(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.resolve_device("cpu").type == "cpu"
    assert devices.resolve_device("auto").type == "cpu"
    assert devices.resolve_device(" CPU ").type == "cpu"


def test_device_list_starts_with_auto_and_includes_cpu():
    listed = devices.list_devices()
    assert listed[0]["id"] == "auto"
    assert "cpu" in [d["id"] for d in listed]
    assert all(d["name"] and d["detail"] for d in listed)


def test_thread_count_respects_request_and_running_jobs(monkeypatch):
    assert devices.choose_threads(running_jobs=3, requested=5) == 5
    monkeypatch.setattr(devices, "available_cores", lambda: 2)
    assert devices.choose_threads(1) == 1  # one core left for the server and the browser
    monkeypatch.setattr(devices, "available_cores", lambda: 10)
    assert devices.choose_threads(1) == 8
    assert devices.choose_threads(2) == 4
    assert devices.choose_threads(3) == 2
    assert devices.choose_threads(20) == 1  # never zero


def test_trainer_uses_the_requested_thread_count(data):
    train, val, vocab = data
    trainer = Trainer(cfg(epochs=1, num_threads=1))
    trainer.fit(small_model(vocab), train, val)
    assert trainer.threads == 1 and torch.get_num_threads() == 1
