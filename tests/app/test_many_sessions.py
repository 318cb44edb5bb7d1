"""A classroom on one server: ten sessions press Train; first come, first served, identical runs shared."""
import multiprocessing as mp
import re
import time

from apphelpers import SMALL_DATA, SMALL_MODEL, charts, texts

from ui import state

SESSIONS = 10
SEEDS = [0, 0, 1, 0, 2, 1, 3, 0, 4, 5]  # four share seed 0, two share seed 1, the rest train alone
DEADLINE_S = 240  # generous: a busy 2-core CI machine; here it takes well under a minute
RUN_ID = re.compile(r"Saved as run \*\*(.+?)\*\*")


def done(at) -> bool:
    return bool(at.success or at.warning or at.error)


def test_ten_sessions_training_at_once_all_finish_in_order_each_seeing_only_its_own_run(open_page):
    sessions = []
    for seed in SEEDS:  # opened and clicked one after another, like a classroom
        at = open_page("train", data_cfg=SMALL_DATA, model_cfg=SMALL_MODEL,
                       train_cfg={"epochs": 1, "batch_size": 32, "seed": seed})
        at.button(key="train_start").click().run()
        assert not at.exception, [e.value for e in at.exception]
        sessions.append(at)
    manager = state.job_manager()
    jobs = [manager.get(at.session_state["train_job"]) for at in sessions]
    first_of_seed = list(dict.fromkeys(SEEDS))
    distinct = list({j.id: j for j in jobs}.values())  # in the order of the first click that submitted each
    assert [j.config.train.seed for j in distinct] == first_of_seed  # identical settings: one job
    assert [j.seq for j in distinct] == sorted(j.seq for j in distinct)

    most_children = 0
    deadline = time.monotonic() + DEADLINE_S
    waiting = list(sessions)
    while waiting:
        trainers = [p for p in mp.active_children() if p.name == "bigmodel-train"]
        most_children = max(most_children, len(trainers))
        for at in list(waiting):
            at.run()  # AppTest never fires run_every: rerun as the live view would
            assert not at.exception, [e.value for e in at.exception]
            if done(at):
                at.run()  # the page as the next tick leaves it
                waiting.remove(at)
        assert time.monotonic() < deadline, f"{len(waiting)} sessions still waiting after {DEADLINE_S} s"
        time.sleep(0.2)

    assert all(j.status == "done" for j in distinct), [(j.status, j.error) for j in distinct]
    assert manager.start_order == [j.id for j in distinct]  # first come, first served
    assert most_children <= manager.max_running  # never more trainers (and their memory) than the cap
    run_ids = {j.id: j.result.id for j in distinct}
    for at, job, seed in zip(sessions, jobs, SEEDS):
        [success] = texts(at.success)
        assert RUN_ID.search(success).group(1) == run_ids[job.id]  # its own run, no one else's
        assert at.session_state["predict_run"] == run_ids[job.id]
        keys = {k for k in charts(at) if not k.startswith("course_")}  # the course's pictures are the same for all
        assert f"train_steps_{job.id}" in keys and f"train_cm_{job.id}" in keys
        assert {key.rsplit("_", 1)[-1] for key in keys} == {job.id}  # no chart of another job
        shared = SEEDS.count(seed)
        sentences = [t for t in texts(at.info) if "watching one run" in t]
        if shared > 1:
            assert sentences == [f"{shared} people started this same training; you are "
                                 f"{'both' if shared == 2 else 'all'} watching one run."]
        else:
            assert sentences == []
