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
    assert job.result.metrics["val_accuracy"] >= 0
    kinds = [e["kind"] for e in job.log]
    assert kinds[0] == "fit_start" and "batch_end" in kinds and "epoch_end" in kinds
    assert kinds[-2:] == ["fit_end", "job_end"]
    assert job.log[-1]["status"] == "done"
    assert [r.id for r in list_runs(isolated_home)] == [job.result.id]
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
    assert len(saved) == 1 and saved[0].stopped is True


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
    assert [r.id for r in list_runs(tmp_path)] == [job.result.id]


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


class SeedRunner:
    """A fake train_run for unnamed configs: records the seeds in the order it was called; each waits for its gate."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.gates: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def gate(self, seed: int) -> threading.Event:
        with self._lock:
            return self.gates.setdefault(seed, threading.Event())

    def __call__(self, cfg: RunConfig, callbacks, home=None, stop_event=None, running_jobs=1) -> dict:
        self.calls.append(cfg.train.seed)
        gate = self.gate(cfg.train.seed)
        while not gate.is_set():
            if stop_event.is_set():
                return {"id": f"seed-{cfg.train.seed}", "stopped": True}
            time.sleep(0.005)
        return {"id": f"seed-{cfg.train.seed}", "stopped": False}


def seeded(seed: int) -> RunConfig:
    from bigmodel_core.config import TrainConfig

    return RunConfig(train=TrainConfig(seed=seed))


def test_jobs_start_first_come_first_served_even_when_submitted_from_many_threads():
    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    submitted: list = []
    go = threading.Barrier(8)

    def click(seed: int) -> None:
        go.wait()
        submitted.append(jobs.submit(seeded(seed), owner=f"browser-{seed}"))

    threads = [threading.Thread(target=click, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_seq = sorted(submitted, key=lambda j: j.seq)
    assert [j.seq for j in by_seq] == list(range(1, 9))  # one number per submit, none shared
    for job in by_seq:
        wait_until(lambda: job.status == "running")
        assert [jobs.position(j.id) for j in by_seq if j.status == "queued"] == \
            list(range(1, sum(j.status == "queued" for j in by_seq) + 1))
        runner.gate(job.config.train.seed).set()
        wait_until(lambda: job.finished)
    assert runner.calls == [j.config.train.seed for j in by_seq]  # the runner ran them by submission number
    assert jobs.start_order == [j.id for j in by_seq]


def test_identical_configs_share_one_job_and_one_run():
    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    first = jobs.submit(seeded(0), owner="anna")
    wait_until(lambda: first.status == "running")
    queued = jobs.submit(seeded(1), owner="ben")
    again = [jobs.submit(seeded(0), owner=o) for o in ("carl", "dora")]
    joined_queued = jobs.submit(seeded(1), owner="emil")
    assert all(j is first for j in again) and joined_queued is queued
    assert first.viewers == {"anna", "carl", "dora"} and first.shared
    assert queued.viewers == {"ben", "emil"}
    runner.gate(0).set()
    runner.gate(1).set()
    wait_until(lambda: first.finished and queued.finished)
    assert runner.calls == [0, 1]  # each distinct config trained once
    later = jobs.submit(seeded(0), owner="fred")  # the shared run has finished: a fresh one trains
    assert later is not first and later.viewers == {"fred"} and not later.shared
    runner.gate(0).set()
    wait_until(lambda: later.finished)


def test_a_different_seed_or_a_named_run_gets_its_own_job():
    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    a = jobs.submit(seeded(0), owner="anna")
    b = jobs.submit(seeded(7), owner="ben")
    named = RunConfig(train=seeded(0).train, name="annas-own")
    c, d = jobs.submit(named, owner="carl"), jobs.submit(named, owner="dora")
    assert len({a.id, b.id, c.id, d.id}) == 4
    assert all(not j.shared for j in (a, b, c, d))
    for s in (0, 7):
        runner.gate(s).set()
    wait_until(lambda: all(j.finished for j in (a, b, c, d)))


def test_a_job_that_is_stopping_is_not_joined():
    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    old = jobs.submit(seeded(0), owner="anna")
    wait_until(lambda: old.status == "running")
    assert jobs.stop(old.id, owner="anna") is True
    new = jobs.submit(seeded(0), owner="ben")
    assert new is not old
    wait_until(lambda: old.finished and new.status == "running")
    runner.gate(0).set()
    wait_until(lambda: new.finished)


def test_stop_by_one_of_two_viewers_leaves_the_job_running_for_the_other():
    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    job = jobs.submit(seeded(0), owner="anna")
    assert jobs.submit(seeded(0), owner="ben") is job
    wait_until(lambda: job.status == "running")
    assert jobs.stop(job.id, owner="anna") is False  # anna only stops watching
    time.sleep(0.05)
    assert job.status == "running" and not job.stop_event.is_set()
    assert job.viewers == {"ben"} and not job.shared
    assert jobs.stop(job.id, owner="ben") is True  # the last viewer really stops it
    wait_until(lambda: job.finished)
    assert job.status == "stopped"


def test_stop_by_the_last_viewer_of_a_queued_shared_job_cancels_it():
    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    running = jobs.submit(seeded(0), owner="anna")
    queued = jobs.submit(seeded(1), owner="ben")
    jobs.submit(seeded(1), owner="carl")
    assert jobs.stop(queued.id, owner="ben") is False and queued.status == "queued"
    assert jobs.stop(queued.id, owner="carl") is True and queued.status == "stopped"
    runner.gate(0).set()
    wait_until(lambda: running.finished)
    assert runner.calls == [0]


@pytest.mark.parametrize("cores, memory_mb, expected", [
    (1, 64_000, 1), (2, 64_000, 1),  # a small machine keeps a core for the server
    (4, 64_000, 3), (8, 64_000, 6), (16, 64_000, 14),
    (16, 4_500, 3),  # memory caps it: each job is a child process of about a GiB
    (16, 500, 1),  # never below one
    (8, None, 6),  # memory unknown: cores decide
])
def test_max_running_default_follows_the_cores_and_the_memory(cores, memory_mb, expected, monkeypatch):
    from bigmodel_core.training import jobs as jobs_module

    monkeypatch.delenv("BIGMODEL_MAX_JOBS", raising=False)
    monkeypatch.setattr(jobs_module, "available_memory_mb", lambda: None)
    assert jobs_module.choose_max_running(cores=cores, memory_mb=memory_mb) == expected


def test_bigmodel_max_jobs_overrides_the_default(monkeypatch):
    from bigmodel_core.training.jobs import choose_max_running

    monkeypatch.setenv("BIGMODEL_MAX_JOBS", " 5 ")
    assert choose_max_running(cores=2, memory_mb=1_000) == 5
    assert JobManager(runner=SeedRunner()).max_running == 5
    assert JobManager(max_running=2, runner=SeedRunner()).max_running == 2  # an explicit number wins


@pytest.mark.parametrize("nonsense", ["0", "-3", "two", "1.5"])
def test_nonsense_bigmodel_max_jobs_falls_back_with_a_warning(nonsense, monkeypatch):
    from bigmodel_core.training.jobs import choose_max_running

    monkeypatch.setenv("BIGMODEL_MAX_JOBS", nonsense)
    with pytest.warns(RuntimeWarning, match="BIGMODEL_MAX_JOBS"):
        assert choose_max_running(cores=8, memory_mb=64_000) == 6


def test_old_finished_jobs_are_forgotten_so_memory_stays_bounded(monkeypatch):
    from bigmodel_core.training import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "KEEP_FINISHED", 3)
    jobs = JobManager(max_running=1, runner=lambda *a, **k: {"stopped": False})
    submitted = []
    for s in range(6):
        submitted.append(jobs.submit(seeded(s)))
        wait_until(lambda: submitted[-1].finished)
    time.sleep(0.05)
    assert [jobs.get(j.id) is not None for j in submitted] == [False] * 3 + [True] * 3
    assert jobs.start_order == [j.id for j in submitted[3:]]


def test_a_training_process_that_dies_ends_the_job_as_failed_with_the_reason(tmp_path):
    import multiprocessing as mp

    from bigmodel_core.config import DataConfig, ModelConfig, TrainConfig

    manager = JobManager(max_running=1, home=str(tmp_path), processes=True)
    job = manager.submit(RunConfig(DataConfig(max_rows=600), ModelConfig("lstm", {"embed_dim": 16, "hidden": 16}),
                                   TrainConfig(epochs=200, batch_size=32)))
    wait_until(lambda: any(e["kind"] == "batch_end" for e in list(job.log)), timeout=120)
    [child] = [p for p in mp.active_children() if p.name == "bigmodel-train"]
    child.kill()  # what the kernel's out-of-memory killer does
    wait_until(lambda: job.finished, timeout=60)
    assert job.status == "failed"
    assert "ended without a result" in job.error["message"] and job.error["hint"]
    assert job.log[-1] == {"kind": "job_end", "status": "failed"}


def test_a_viewer_whose_page_is_gone_does_not_keep_a_shared_job_alive():
    from bigmodel_core.training import jobs as jobs_module

    runner = SeedRunner()
    jobs = JobManager(max_running=1, runner=runner)
    job = jobs.submit(seeded(0), owner="anna")
    assert jobs.submit(seeded(0), owner="ben") is job
    wait_until(lambda: job.status == "running")
    job.seen["anna"] -= jobs_module.VIEWER_GONE_S + 1  # anna closed her tab a while ago
    jobs.touch(job.id, "ben")
    assert jobs.stop(job.id, owner="ben") is True  # ben is the only one still watching: it really stops
    runner.gate(0).set()
    wait_until(lambda: job.finished)
    assert job.stop_event.is_set()
