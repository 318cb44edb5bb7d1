"""Exact resume: a run killed, stopped or interrupted goes on from its checkpoint as if it had never stopped."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import ConfigError, RunError
from bigmodel_core.runs.store import list_runs, read_history, read_run, run_epochs
from bigmodel_core.training.events import Callback
from bigmodel_core.training.run import train_run

ROOT = Path(__file__).resolve().parents[2]


def lstm_config(spec: str, name: str, epochs: int = 3) -> RunConfig:
    """An LSTM with dropout (it draws random numbers every batch) and no early stopping."""
    return RunConfig(DataConfig(spec=spec), ModelConfig("lstm", {"embed_dim": 16, "hidden": 16}),
                     TrainConfig(epochs=epochs, batch_size=8, early_stopping_patience=None), name=name)


def weights(info) -> dict[str, np.ndarray]:
    return load_file(str(Path(info.path) / "weights.safetensors"))


def assert_same_run(a, b) -> None:
    assert b.metrics["val_loss"] == pytest.approx(a.metrics["val_loss"], abs=1e-6)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    assert max(float(np.abs(wa[k] - wb[k]).max()) for k in wa) < 1e-5


def test_three_epochs_equal_two_then_sigkill_then_resuming_the_third(reviews_csv, isolated_home):
    spec = f"csv:{reviews_csv(200)}"
    straight = train_run(lstm_config(spec, "straight"), home=isolated_home)
    child = textwrap.dedent(f"""
        import os, signal
        from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
        from bigmodel_core.training.events import Callback
        from bigmodel_core.training.run import train_run

        class KillAtEpoch3(Callback):
            def on_epoch_start(self, trainer, event):
                if event.epoch == 3:
                    os.kill(os.getpid(), signal.SIGKILL)

        cfg = RunConfig(DataConfig(spec={spec!r}), ModelConfig("lstm", {{"embed_dim": 16, "hidden": 16}}),
                        TrainConfig(epochs=3, batch_size=8, early_stopping_patience=None), name="killed")
        train_run(cfg, [KillAtEpoch3()], home={str(isolated_home)!r})
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", child], env=env, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    killed = {r.id: r for r in list_runs(isolated_home)}["killed"]
    assert (killed.status, killed.epochs_done) == ("interrupted", 2)
    assert [e["epoch"] for e in run_epochs("killed", isolated_home)] == [1, 2]  # its curves so far are kept

    resumed = train_run(None, resume="killed", home=isolated_home)
    assert (resumed.id, resumed.status, resumed.epochs_done) == ("killed", "finished", 3)
    assert_same_run(straight, resumed)
    assert [e["epoch"] for e in run_epochs("killed", isolated_home)] == [1, 2, 3]  # the same run, curves go on
    assert not (Path(resumed.path) / "checkpoint.safetensors").exists()  # finished: nothing left to resume


def test_a_stop_in_the_middle_of_an_epoch_resumes_from_that_very_batch(reviews_csv, isolated_home):
    spec = f"csv:{reviews_csv(200)}"
    straight = train_run(lstm_config(spec, "straight"), home=isolated_home)
    stop = threading.Event()

    class StopAtStep(Callback):
        def on_batch_end(self, trainer, event):
            if event.step == 37:  # epoch 2 of 3, part-way through
                stop.set()

    stopped = train_run(lstm_config(spec, "stopped"), [StopAtStep()], home=isolated_home, stop_event=stop)
    assert stopped.status == "stopped" and stopped.resumable
    resumed = train_run(None, resume="stopped", home=isolated_home)
    assert resumed.status == "finished"
    assert_same_run(straight, resumed)
    steps = [e["step"] for e in read_history("stopped", isolated_home) if e["kind"] == "batch_end"]
    assert steps == list(range(1, len(steps) + 1))  # every step once: none lost at the stop, none repeated


def test_resume_with_more_epochs_trains_on_and_the_live_chart_gets_the_old_epochs_first(reviews_csv, isolated_home):
    spec = f"csv:{reviews_csv(200)}"
    stop = threading.Event()

    class StopAfterEpoch1(Callback):
        def on_epoch_end(self, trainer, event):
            stop.set()

    train_run(lstm_config(spec, "short", epochs=2), [StopAfterEpoch1()], home=isolated_home, stop_event=stop)

    class Seen(Callback):
        def __init__(self):
            self.epochs = []

        def on_epoch_end(self, trainer, event):
            self.epochs.append(event.epoch)

    seen = Seen()
    info = train_run(None, [seen], resume="short", epochs=4, home=isolated_home)
    assert seen.epochs == [1, 2, 3, 4]  # epoch 1 replayed from the record, then 2-4 trained
    assert (info.epochs_done, info.config.train.epochs, info.status) == (4, 4, "finished")


def test_resuming_a_finished_run_is_refused_plainly(reviews_csv, small_run_config, isolated_home):
    train_run(small_run_config(f"csv:{reviews_csv()}", name="done"), home=isolated_home)
    with pytest.raises(RunError) as err:
        train_run(None, resume="done", home=isolated_home)
    assert "already finished" in err.value.message and "new run" in err.value.hint


def _stopped_run(spec: str, home: Path, name: str = "paused"):
    stop = threading.Event()

    class StopAfterEpoch1(Callback):
        def on_epoch_end(self, trainer, event):
            stop.set()

    return train_run(lstm_config(spec, name), [StopAfterEpoch1()], home=home, stop_event=stop)


def test_resuming_a_run_whose_data_file_is_gone_says_so(reviews_csv, isolated_home):
    path = reviews_csv(200)
    _stopped_run(f"csv:{path}", isolated_home)
    path.unlink()
    with pytest.raises(RunError) as err:
        train_run(None, resume="paused", home=isolated_home)
    assert "cannot be read any more" in err.value.message and str(path) in err.value.hint
    assert read_run("paused", isolated_home).status == "stopped"  # untouched


def test_resuming_a_run_whose_data_changed_is_refused(reviews_csv, isolated_home):
    path = reviews_csv(200)
    _stopped_run(f"csv:{path}", isolated_home)
    reviews_csv(200, seed=5)  # same file name, other reviews
    with pytest.raises(RunError, match="has changed since it started"):
        train_run(None, resume="paused", home=isolated_home)


def test_resuming_with_fewer_epochs_than_done_is_refused(reviews_csv, isolated_home):
    _stopped_run(f"csv:{reviews_csv(200)}", isolated_home)
    with pytest.raises(ConfigError, match="already trained 1 epochs"):
        train_run(None, resume="paused", epochs=1, home=isolated_home)


def test_a_run_without_a_checkpoint_cannot_be_resumed(reviews_csv, isolated_home):
    info = _stopped_run(f"csv:{reviews_csv(200)}", isolated_home)
    (Path(info.path) / "checkpoint.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match="checkpoint .* is damaged"):
        train_run(None, resume="paused", home=isolated_home)
    (Path(info.path) / "checkpoint.safetensors").unlink()
    with pytest.raises(RunError, match="no checkpoint"):
        train_run(None, resume="paused", home=isolated_home)


def test_the_cli_resumes_an_interrupted_run_and_ctrl_c_keeps_it(reviews_csv, isolated_home):
    env = {**os.environ, "BIGMODEL_HOME": str(isolated_home), "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "bigmodel_core", "train", "--data", f"csv:{reviews_csv(400)}", "--model", "lstm",
            "--set", "batch_size=4", "--set", "early_stopping_patience=1000", "--epochs", "30", "--name", "cli-run", "--json"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in proc.stdout:  # the run's own signal: a batch of epoch 2, so epoch 1's checkpoint exists
            if '"event": "batch_end"' in line and json.loads(line)["epoch"] >= 2:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "the run cli-run finished: it is kept as an interrupted run" in err and "train --resume cli-run" in err
    kept = read_run("cli-run", isolated_home)
    assert kept.status == "interrupted" and kept.epochs_done >= 1
    more = str(kept.epochs_done + 1)
    done = subprocess.run([sys.executable, "-m", "bigmodel_core", "train", "--resume", "cli-run", "--epochs", more,
                           "--json"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    end = json.loads(done.stdout.strip().splitlines()[-1])
    assert end["event"] == "fit_end" and end["run"] == "cli-run" and end["status"] == "finished"


def test_the_app_resumes_a_run_as_a_job(reviews_csv, isolated_home):
    from bigmodel_core.training.jobs import JobManager

    info = _stopped_run(f"csv:{reviews_csv(200)}", isolated_home)
    manager = JobManager(max_running=1, home=str(isolated_home))
    job = manager.submit(info.config, owner="tab", resume=info.id)
    again = manager.submit(info.config, owner="other tab", resume=info.id)
    assert again is job  # a second Resume of the same run joins it
    for t in threading.enumerate():
        if t.name == job.id:
            t.join(timeout=120)
    assert job.status == "done" and job.result.id == "paused" and job.result.epochs_done == 3
    assert [e["epoch"] for e in job.log if e.get("kind") == "epoch_end"] == [1, 2, 3]


def test_when_the_app_is_killed_its_training_child_ends_and_leaves_the_run_interrupted(reviews_csv, isolated_home):
    import time

    from bigmodel_core.runs.store import read_run as read

    app = textwrap.dedent(f"""
        import os, signal
        from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
        from bigmodel_core.training.events import Callback
        from bigmodel_core.training.process_runner import run_in_process

        class KillTheApp(Callback):
            def on_epoch_end(self, trainer, event):
                if event.epoch == 2:
                    os.kill(os.getpid(), signal.SIGKILL)

        if __name__ == "__main__":
            cfg = RunConfig(DataConfig(spec={f"csv:{reviews_csv(400)}"!r}),
                            ModelConfig("lstm", {{"embed_dim": 16, "hidden": 16}}),
                            TrainConfig(epochs=100, batch_size=4, early_stopping_patience=None), name="orphan")
            run_in_process(cfg, [KillTheApp()], home={str(isolated_home)!r})
    """)
    script = isolated_home.parent / "app_stand_in.py"
    script.write_text(app)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script)], env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while read("orphan", isolated_home).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)  # the child notices within a second that its parent is gone
    info = read("orphan", isolated_home)
    assert info.status == "interrupted" and info.epochs_done >= 2 and info.epochs_done < 100
    assert train_run(None, resume="orphan", epochs=info.epochs_done + 1, home=isolated_home).status == "finished"


def test_a_second_resume_of_a_run_already_resuming_is_refused(reviews_csv, isolated_home):
    from bigmodel_core.training.run import plan_resume, release_resume

    _stopped_run(f"csv:{reviews_csv(200)}", isolated_home)
    first = plan_resume("paused", isolated_home)  # claimed: status running, owned by this process
    assert read_run("paused", isolated_home).status == "running"
    with pytest.raises(RunError, match="still training"):
        train_run(None, resume="paused", home=isolated_home)
    release_resume(first.info, first.previous, isolated_home)
    assert read_run("paused", isolated_home).status == "stopped"


def test_a_run_stopped_inside_its_first_epoch_can_be_resumed_to_one_epoch(reviews_csv, isolated_home):
    stop = threading.Event()

    class StopEarly(Callback):
        def on_batch_end(self, trainer, event):
            if event.step == 5:
                stop.set()

    train_run(lstm_config(f"csv:{reviews_csv(200)}", "early", epochs=3), [StopEarly()], home=isolated_home,
              stop_event=stop)
    info = train_run(None, resume="early", epochs=1, home=isolated_home)  # none of its epochs was whole yet
    assert (info.status, info.epochs_done) == ("finished", 1)


def test_a_run_killed_inside_its_first_epoch_resumes_from_a_timed_checkpoint(reviews_csv, isolated_home):
    spec = f"csv:{reviews_csv(200)}"
    straight = train_run(lstm_config(spec, "straight", epochs=2), home=isolated_home)
    child = textwrap.dedent(f"""
        import os, signal
        from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
        from bigmodel_core.training import trainer
        from bigmodel_core.training.events import Callback
        from bigmodel_core.training.run import train_run

        trainer.CHECKPOINT_EVERY_S = 0.0  # a long epoch, in short: a timed checkpoint after every batch

        class KillAtStep7(Callback):
            def on_batch_end(self, t, event):
                if event.step == 7:
                    os.kill(os.getpid(), signal.SIGKILL)

        cfg = RunConfig(DataConfig(spec={spec!r}), ModelConfig("lstm", {{"embed_dim": 16, "hidden": 16}}),
                        TrainConfig(epochs=2, batch_size=8, early_stopping_patience=None), name="early-kill")
        train_run(cfg, [KillAtStep7()], home={str(isolated_home)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", child], env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    killed = {r.id: r for r in list_runs(isolated_home)}["early-kill"]
    assert (killed.status, killed.epochs_done) == ("interrupted", 0)  # kept, though no epoch had ended
    assert_same_run(straight, train_run(None, resume="early-kill", home=isolated_home))
