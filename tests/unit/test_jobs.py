"""Background jobs: run, queue, stop, cancel and fail without taking the JobManager down."""
from __future__ import annotations

import threading
import time

import pytest

from bigmodel_core.config import RunConfig
from bigmodel_core.runs.store import list_runs
from bigmodel_core.training.jobs import JobManager

TIMEOUT = 60


def wait_until(condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


class GatedRunner:
    """Stands in for train_run: each job waits for its gate (or a stop) so tests control timing."""

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.started: list[str] = []

    def gate(self, name: str) -> threading.Event:
        return self.gates.setdefault(name, threading.Event())

    def __call__(self, cfg: RunConfig, callbacks, home=None, stop_event=None, running_jobs=1) -> dict:
        self.started.append(cfg.name)
        gate = self.gate(cfg.name)
        while not gate.is_set():
            if stop_event.is_set():
                return {"id": cfg.name, "stopped": True}
            time.sleep(0.005)
        return {"id": cfg.name, "stopped": False}


def test_job_trains_and_finishes_with_a_result_and_batch_events(reviews_csv, small_run_config, isolated_home):
    jobs = JobManager(max_running=1, home=str(isolated_home))
    job = jobs.submit(small_run_config(f"csv:{reviews_csv()}"), owner="browser-1")
    wait_until(lambda: job.finished)
    assert job.status == "done", job.error
    assert job.result["metrics"]["val_accuracy"] >= 0
    kinds = [e["kind"] for e in job.log]
    assert kinds[0] == "fit_start" and "batch_end" in kinds and "epoch_end" in kinds
    assert kinds[-2:] == ["fit_end", "job_end"]
    assert job.log[-1]["status"] == "done"
    assert [r["id"] for r in list_runs(isolated_home)] == [job.result["id"]]
    assert jobs.position(job.id) == 0 and jobs.get(job.id) is job


def test_second_job_waits_in_the_queue_until_the_first_finishes():
    runner = GatedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    first, second = jobs.submit(RunConfig(name="a")), jobs.submit(RunConfig(name="b"))
    wait_until(lambda: runner.started == ["a"])
    assert first.status == "running" and second.status == "queued"
    assert jobs.position(first.id) == 0 and jobs.position(second.id) == 1
    assert [j.id for j in jobs.running()] == [first.id]
    runner.gate("a").set()
    wait_until(lambda: first.finished)
    wait_until(lambda: second.status == "running")
    assert first.status == "done" and jobs.position(second.id) == 0
    runner.gate("b").set()
    wait_until(lambda: second.finished)
    assert second.status == "done"


def test_queue_positions_follow_submission_order():
    runner = GatedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    submitted = [jobs.submit(RunConfig(name=n)) for n in "abcd"]
    wait_until(lambda: runner.started == ["a"])
    assert [jobs.position(j.id) for j in submitted] == [0, 1, 2, 3]
    jobs.stop(submitted[1].id)
    assert [jobs.position(j.id) for j in submitted[2:]] == [1, 2]
    for n in "acd":
        runner.gate(n).set()
    wait_until(lambda: all(j.finished for j in submitted))
    assert runner.started == ["a", "c", "d"]


def test_two_slots_run_two_jobs_at_once():
    runner = GatedRunner()
    jobs = JobManager(max_running=2, runner=runner)
    a, b, c = (jobs.submit(RunConfig(name=n)) for n in "abc")
    wait_until(lambda: sorted(runner.started) == ["a", "b"])
    assert c.status == "queued" and jobs.position(c.id) == 1
    for n in "abc":
        runner.gate(n).set()
    wait_until(lambda: c.finished)


def test_stopping_a_running_job_marks_it_stopped_and_saves_the_run(reviews_csv, small_run_config, isolated_home):
    jobs = JobManager(max_running=1, home=str(isolated_home))
    job = jobs.submit(small_run_config(f"csv:{reviews_csv(n=400)}", epochs=200))
    wait_until(lambda: any(e["kind"] == "batch_end" for e in list(job.log)))
    jobs.stop(job.id)
    wait_until(lambda: job.finished)
    assert job.status == "stopped"
    assert job.log[-1] == {"kind": "job_end", "status": "stopped"}
    fit_end = next(e for e in job.log if e["kind"] == "fit_end")
    assert fit_end["metrics"]["stopped"] is True
    assert fit_end["epoch"] < 200
    saved = list_runs(isolated_home)
    assert len(saved) == 1 and saved[0]["stopped"] is True


def test_stopping_a_queued_job_cancels_it():
    runner = GatedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    first, second = jobs.submit(RunConfig(name="a")), jobs.submit(RunConfig(name="b"))
    wait_until(lambda: runner.started == ["a"])
    jobs.stop(second.id)
    assert second.status == "stopped" and second.finished
    assert jobs.position(second.id) == 0
    runner.gate("a").set()
    wait_until(lambda: first.finished)
    time.sleep(0.05)
    assert runner.started == ["a"], "a cancelled job must never start"
    jobs.stop(second.id)  # stopping a finished job again is harmless
    assert second.status == "stopped"


def test_failing_job_reports_message_and_hint_and_the_manager_keeps_working(
        reviews_csv, small_run_config, isolated_home):
    jobs = JobManager(max_running=1, home=str(isolated_home))
    bad = jobs.submit(small_run_config("csv:/no/such/file.csv"))
    good = jobs.submit(small_run_config(f"csv:{reviews_csv()}", epochs=1))
    wait_until(lambda: bad.finished and good.finished)
    assert bad.status == "failed"
    assert "file.csv" in bad.error["message"] and bad.error["hint"]
    assert "traceback" not in bad.error  # an expected user error shows no traceback
    assert bad.log[-1] == {"kind": "job_end", "status": "failed"}
    assert good.status == "done"
    assert len(list_runs(isolated_home)) == 1


def test_unexpected_crash_is_reported_with_a_traceback_and_the_manager_keeps_working():
    def crashing(cfg, callbacks, home=None, stop_event=None, running_jobs=1):
        if cfg.name == "crash":
            raise ZeroDivisionError("boom")
        return {"id": cfg.name, "stopped": False}

    jobs = JobManager(max_running=1, runner=crashing)
    crash, ok = jobs.submit(RunConfig(name="crash")), jobs.submit(RunConfig(name="ok"))
    wait_until(lambda: crash.finished and ok.finished)
    assert crash.status == "failed"
    assert "ZeroDivisionError" in crash.error["message"] and crash.error["hint"]
    assert "boom" in crash.error["traceback"]
    assert ok.status == "done"


@pytest.mark.parametrize("missing", [None, "", "job-does-not-exist"])
def test_unknown_job_ids_are_harmless(missing):
    jobs = JobManager(runner=lambda *a, **k: {"stopped": False})
    assert jobs.get(missing) is None
    jobs.stop(missing or "x")


def test_a_job_trained_in_a_child_process_reports_progress_and_saves_its_run(tmp_path):
    """The app trains in a spawned process (no GIL shared with the web server); same events, same run."""
    import time

    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.runs.store import list_runs
    from bigmodel_core.training.jobs import JobManager

    manager = JobManager(home=str(tmp_path), processes=True)
    job = manager.submit(RunConfig(DataConfig(max_rows=300), ModelConfig("bag_of_embeddings"), TrainConfig(epochs=2)))
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.status == "done", job.error
    kinds = [e["kind"] for e in job.log]
    assert kinds[0] == "fit_start" and kinds.count("epoch_end") == 2 and "batch_end" in kinds
    assert [r["id"] for r in list_runs(tmp_path)] == [job.result["id"]]


def test_a_child_process_job_with_bad_data_fails_with_the_plain_message(tmp_path):
    import time

    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.jobs import JobManager

    manager = JobManager(home=str(tmp_path), processes=True)
    job = manager.submit(RunConfig(DataConfig(spec=f"csv:{tmp_path / 'missing.csv'}"), ModelConfig("lstm"), TrainConfig(epochs=1)))
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.status == "failed"
    assert "does not exist" in job.error["message"] and job.error["hint"] and "traceback" not in job.error
