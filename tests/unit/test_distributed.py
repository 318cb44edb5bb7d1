"""Data-parallel training (torchrun + DDP, gloo on the CPU): N processes train the run one process does.

The torchrun tests start real processes (`python -m torch.distributed.run --standalone`, which picks a
free port itself, so tests running side by side do not clash). Crashes, slow steps and signals are
injected into the ranks by a sitecustomize module on their PYTHONPATH (the `hooks` fixture).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from bigmodel_core.__main__ import main
from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.data.text.batching import TextBatches
from bigmodel_core.errors import ConfigError
from bigmodel_core.runs.info import RunInfo
from bigmodel_core.runs.store import read_history, read_run
from bigmodel_core.training import distributed
from bigmodel_core.training.devices import choose_threads
from bigmodel_core.training.distributed import ShardedBatches, World
from bigmodel_core.training.jobs import JobManager
from bigmodel_core.training.run import train_run

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # a loaded 2-core machine starts three Pythons with torch per torchrun launch
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]

HOOKS = '''
import os
if os.environ.get("TEST_HOOKS"):
    import signal, time
    import bigmodel_core.training.trainer as _trainer

    _step, _rank = _trainer.Trainer._step, os.environ.get("RANK", "0")

    def _hooked(self, i, step, *args, **kwargs):
        n = step + 1
        if os.environ.get("TEST_SLOW_S"):
            time.sleep(float(os.environ["TEST_SLOW_S"]))
        crash = os.environ.get("TEST_CRASH")  # "RANK:STEP"
        if crash and crash.split(":") == [_rank, str(n)]:
            open(os.environ["TEST_MARK"], "w").write(repr(time.time()))
            raise ZeroDivisionError("injected crash")
        if os.environ.get("TEST_SIGTERM_LAUNCHER_AT") == str(n) and _rank == "0":
            os.kill(int(os.environ["BIGMODEL_LAUNCHER_PID"]), signal.SIGTERM)
        return _step(self, i, step, *args, **kwargs)

    _trainer.Trainer._step = _hooked
'''


@pytest.fixture
def hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Set env vars (TEST_CRASH, TEST_SLOW_S, ...) that a sitecustomize acts on inside every rank."""
    folder = tmp_path / "hooks"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(textwrap.dedent(HOOKS), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), str(ROOT)]))
    monkeypatch.setenv("TEST_HOOKS", "1")
    monkeypatch.setenv("TEST_MARK", str(tmp_path / "crashed-at"))

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
    return set_env


def lstm_args(csv: Path, name: str, epochs: int = 2, batch_size: int = 13) -> list[str]:
    """An LSTM without dropout: its run is a pure function of the data order, on 1 or N processes."""
    return ["train", "--data", f"csv:{csv}", "--model", "lstm", "--set", "embed_dim=16", "--set", "hidden=16",
            "--set", "dropout=0", "--set", f"batch_size={batch_size}", "--set", "early_stopping_patience=3",
            "--epochs", str(epochs), "--name", name, "--json"]


def cli(*argv: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}
    return subprocess.run([sys.executable, "-m", "bigmodel_core", *argv], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def epochs_of(run: str, home: Path) -> list[dict]:
    return [r["metrics"] for r in read_history(run, home) if r["kind"] == "epoch_end"]


def step_losses(run: str, home: Path) -> list[float]:
    return [r["metrics"]["loss"] for r in read_history(run, home) if r["kind"] == "batch_end"]


def assert_same_weights(a: Path, b: Path, tol: float = 1e-5) -> None:
    wa, wb = load_file(str(a / "weights.safetensors")), load_file(str(b / "weights.safetensors"))
    assert wa.keys() == wb.keys()
    assert max(float(np.abs(wa[k] - wb[k]).max()) for k in wa) < tol


def fit_ends(stdout: str) -> list[dict]:
    return [row for row in map(json.loads, stdout.splitlines()) if row.get("event") == "fit_end"]


# --- sharding, without processes -----------------------------------------------------------------------
def test_each_global_batch_is_cut_into_contiguous_slices_one_per_rank(review_texts):
    lengths = [np.arange(n % 9 + 1) for n in range(103)]
    batches = TextBatches(lengths, np.zeros(103, dtype=np.int64), 13, shuffle=True, seed=4)
    batches.set_epoch(2)
    whole = batches.batch_indices()
    ranks = [ShardedBatches(batches, World(rank=r, size=2)) for r in range(2)]
    for r in ranks:
        r.set_epoch(2)
    assert all(len(r.batch_indices()) == len(whole) == len(r) for r in ranks)  # the same steps on every rank
    for i, batch in enumerate(whole):
        parts = [r.batch_indices()[i] for r in ranks]
        assert np.array_equal(np.concatenate(parts), batch)  # the one-process batch, bucketed, in order
        weights = [r.share(i) for r in ranks]
        assert sum(n for _, n in weights) == len(batch) and sum(w for w, _ in weights) == pytest.approx(2.0)


def test_a_rank_with_nothing_of_a_tiny_last_batch_trains_a_stand_in_weighed_zero():
    batches = TextBatches([np.arange(3)] * 5, np.zeros(5, dtype=np.int64), 4, shuffle=True, bucket=False)
    second = ShardedBatches(batches, World(rank=1, size=2))
    assert [len(b) for b in second.batch_indices()] == [2, 1]  # the last batch holds one example: rank 0's
    assert second.share(1) == (0.0, 0)
    val = ShardedBatches(TextBatches([np.arange(3)] * 5, np.zeros(5, dtype=np.int64), 4), World(rank=1, size=2),
                         train=False)
    assert [len(b) for b in val.batch_indices()] == [2]  # validation skips it: nothing is counted twice


def test_weighed_slices_average_to_the_whole_batchs_gradient():
    torch.manual_seed(0)
    layer, x, y = torch.nn.Linear(4, 3), torch.randn(7, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0])

    def grad(rows, weight=1.0):
        layer.zero_grad()
        (torch.nn.functional.cross_entropy(layer(x[rows]), y[rows]) * weight).backward()
        return layer.weight.grad.clone()

    whole = grad(slice(0, 7))
    parts = np.array_split(np.arange(7), 2)  # 4 and 3 examples
    averaged = sum(grad(p, 2 * len(p) / 7) for p in parts) / 2  # what DDP's all-reduce makes of them
    assert torch.allclose(averaged, whole, atol=1e-6)


def test_torchruns_environment_names_the_rank_and_threads_are_shared_between_processes():
    w = distributed.world({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                           "TORCHELASTIC_RUN_ID": "x"})
    assert (w.rank, w.size, w.local_rank, w.lead, w.distributed, w.launched) == (1, 2, 1, False, True, True)
    assert distributed.world({}) == World()
    assert distributed.max_processes("cpu") >= 1
    assert choose_threads(1, processes=2) <= max(1, choose_threads(1) // 2)
    assert choose_threads(1, requested=3, processes=2) == 3  # asked for: per process


def test_a_batch_smaller_than_the_processes_is_refused_plainly(monkeypatch, reviews_csv, isolated_home):
    from bigmodel_core.training.trainer import Trainer

    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "0")
    trainer = Trainer(TrainConfig(batch_size=2, device="cpu"))
    with pytest.raises(ConfigError, match="cannot be shared between 4 processes"):
        trainer.fit(torch.nn.Linear(2, 2), TextBatches([np.arange(2)] * 4, np.zeros(4, dtype=np.int64), 2))


def test_more_processes_than_this_computer_has_cores_are_refused_before_anything_starts(capsys, reviews_csv,
                                                                                         isolated_home):
    code = main(["train", "--data", f"csv:{reviews_csv()}", "--processes", "1000", "--device", "cpu"])
    assert code == 2 and "can train in at most" in capsys.readouterr().err
    assert not (isolated_home / "runs").exists() or not any((isolated_home / "runs").iterdir())


def test_a_run_json_from_before_world_size_reads_as_one_process(trained_run):
    data = json.loads((trained_run["path"] / "run.json").read_text())
    data.pop("world_size", None)
    assert RunInfo.from_dict(data).world_size == 1


def test_the_job_manager_sends_a_job_of_two_processes_to_torchrun(monkeypatch, isolated_home):
    import bigmodel_core.training.launch as launch

    calls = []

    def fake(cfg, callbacks, home=None, stop_event=None, running_jobs=1, processes=None):
        calls.append(processes)
        return {"id": cfg.name, "stopped": False}

    monkeypatch.setattr(launch, "run_distributed", fake)
    jobs = JobManager(max_running=2, home=str(isolated_home))
    job = jobs.submit(RunConfig(train=TrainConfig(processes=2), name="two"))
    deadline = time.monotonic() + 30
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == [2] and job.status == "done"


def test_a_job_of_two_processes_takes_two_of_the_places(isolated_home):
    gate, started = threading.Event(), []

    def runner(cfg, callbacks, home=None, stop_event=None, running_jobs=1):
        started.append(cfg.name)
        gate.wait(30)
        return {"id": cfg.name, "stopped": False}

    jobs = JobManager(max_running=2, runner=runner)
    wide = jobs.submit(RunConfig(train=TrainConfig(processes=2), name="wide"))
    narrow = jobs.submit(RunConfig(name="narrow"))
    time.sleep(0.3)
    assert started == ["wide"] and jobs.position(narrow.id) == 1  # both places are taken
    gate.set()
    deadline = time.monotonic() + 30
    while not (wide.finished and narrow.finished) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started == ["wide", "narrow"]


# --- real processes ----------------------------------------------------------------------------------
def test_two_processes_give_the_losses_and_weights_of_one(reviews_csv, isolated_home):
    csv = reviews_csv(300)  # 240 training rows: batches of 13 split 7 + 6, the epoch's last (6) 3 + 3
    assert main(lstm_args(csv, "one")) == 0
    started = time.perf_counter()
    proc = subprocess.run([*TORCHRUN, "-m", "bigmodel_core", *lstm_args(csv, "two")], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    print(f"2 processes under torchrun: {time.perf_counter() - started:.1f} s")
    assert len(fit_ends(proc.stdout)) == 1  # rank 0 alone prints
    one, two = epochs_of("one", isolated_home), epochs_of("two", isolated_home)
    assert len(one) == len(two) == 2
    for a, b in zip(one, two):
        for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], abs=1e-5), key
    assert np.allclose(step_losses("two", isolated_home), step_losses("one", isolated_home), atol=1e-5)
    info = read_run("two", isolated_home)
    assert_same_weights(Path(read_run("one", isolated_home).path), Path(info.path))
    assert (info.world_size, info.status) == (2, "finished")
    assert sorted(p.name for p in (isolated_home / "runs").iterdir()) == ["one", "two"]  # one folder per run


@pytest.mark.parametrize("step, kept", [(3, None), (25, "failed")])
def test_a_crash_in_one_process_ends_the_job_at_once_with_its_error(hooks, reviews_csv, isolated_home, step, kept):
    hooks(TEST_CRASH=f"1:{step}")  # rank 1 raises before step `step` (epoch 1, or epoch 2 after a checkpoint)
    proc = cli(*lstm_args(reviews_csv(300), "crashy", epochs=3, batch_size=16), "--processes", "2")
    ended = time.time()
    assert proc.returncode == 1
    assert "Training process 2 of 2 failed: ZeroDivisionError: injected crash" in proc.stderr
    assert ended - float(Path(os.environ["TEST_MARK"]).read_text()) < 30  # within seconds, never hung
    if kept is None:  # before the first checkpoint: nothing is kept, as for one process
        assert not (isolated_home / "runs" / "crashy").exists()
    else:
        info = read_run("crashy", isolated_home)
        assert (info.status, info.world_size, info.epochs_done) == ("failed", 2, 1)
        assert "Another of the 2 training processes" in info.error["message"]


def test_sigterm_to_the_launcher_stops_every_process_and_a_resume_finishes_the_run(hooks, reviews_csv, isolated_home):
    csv = reviews_csv(300)
    assert main(lstm_args(csv, "straight", epochs=3, batch_size=16)) == 0  # 15 steps an epoch
    hooks(TEST_SLOW_S="0.2", TEST_SIGTERM_LAUNCHER_AT="18")
    proc = cli(*lstm_args(csv, "paused", epochs=3, batch_size=16), "--processes", "2")
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert "Stopped by SIGTERM: the run paused is kept as stopped" in proc.stderr
    stopped = read_run("paused", isolated_home)
    assert stopped.status == "stopped" and stopped.resumable and stopped.world_size == 2
    assert (Path(stopped.path) / "checkpoint.safetensors").exists()
    assert fit_ends(proc.stdout)[0]["stopped"] is True

    resumed = train_run(None, resume="paused", home=isolated_home)  # on one process
    assert (resumed.status, resumed.epochs_done, resumed.world_size) == ("finished", 3, 1)
    assert_same_weights(Path(read_run("straight", isolated_home).path), Path(resumed.path))
    steps = [r["step"] for r in read_history("paused", isolated_home) if r["kind"] == "batch_end"]
    assert steps == list(range(1, 46))  # every step once across the two sessions


def test_stop_in_the_app_stops_both_processes_and_leaves_a_resumable_run(hooks, reviews_csv, isolated_home):
    hooks(TEST_SLOW_S="0.1")
    cfg = RunConfig(DataConfig(spec=f"csv:{reviews_csv(300)}"), ModelConfig("bag_of_embeddings", {"embed_dim": 16, "hidden": 16}),
                    TrainConfig(epochs=3, batch_size=16, processes=2, early_stopping_patience=None), name="app")
    jobs = JobManager(max_running=2, home=str(isolated_home), processes=True)
    job = jobs.submit(cfg)
    deadline = time.monotonic() + TIMEOUT
    while not any(e.get("kind") == "batch_end" and e["step"] >= 20 for e in job.log):
        assert not job.finished and time.monotonic() < deadline, job.error
        time.sleep(0.05)
    jobs.stop(job.id)
    asked = time.monotonic()
    while not job.finished:
        assert time.monotonic() - asked < 60, "the job did not stop"
        time.sleep(0.05)
    assert job.status == "stopped", job.error
    start = next(e for e in job.log if e["kind"] == "fit_start")
    assert start["metrics"]["processes"] == 2  # rank 0's events reached the live charts
    assert next(e["epoch"] for e in job.log if e["kind"] == "epoch_end") == 1
    info = read_run("app", isolated_home)
    assert info.status == "stopped" and info.epochs_done < 3 and (Path(info.path) / "checkpoint.safetensors").exists()
    assert train_run(None, resume="app", home=isolated_home).status == "finished"


def test_the_pretrained_transformer_fine_tunes_in_two_processes(reviews_csv, tiny_bert, isolated_home):
    proc = cli("train", "--data", f"csv:{reviews_csv(160)}", "--model", "pretrained_transformer",
               "--set", f"weights={tiny_bert}", "--set", "batch_size=16", "--set", "lr=3e-3",
               "--epochs", "1", "--name", "bert", "--json", "--processes", "2")
    assert proc.returncode == 0, proc.stderr
    assert "OMP_NUM_THREADS" not in proc.stderr  # torchrun's banner stays out of view
    (end,) = fit_ends(proc.stdout)
    assert end["run"] == "bert" and end["status"] == "finished"
    info = read_run("bert", isolated_home)
    assert info.world_size == 2 and info.config.train.processes == 2 and info.metrics["val_accuracy"] is not None
