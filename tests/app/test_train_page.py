"""Train page: Train starts a job, the live view follows it, the results appear; Stop keeps the run."""
import re

import pytest
from apphelpers import SMALL_DATA, SMALL_MODEL, SMALL_TRAIN, charts, progress_text, texts

from bigmodel_core.runs.store import list_runs
from ui import state

STEP = re.compile(r"Step ([\d,]+) of ([\d,]+) · epoch (\d+)")


def step_of(text: str) -> tuple[int, int, int]:
    """'Step 1,073 of 3,000 · epoch 72 · ...' -> (1073, 3000, 72)."""
    return tuple(int(g.replace(",", "")) for g in STEP.match(text).groups())


@pytest.fixture
def train_page(open_page):
    return open_page("train", data_cfg=SMALL_DATA, model_cfg=SMALL_MODEL, train_cfg=SMALL_TRAIN)


def job_of(at):
    return state.job_manager().get(at.session_state["train_job"])


def finished(at) -> bool:
    return bool(at.success or at.warning or at.error)


def test_before_training_the_page_says_press_train(train_page):
    at = train_page
    assert any("Press **Train**" in t for t in texts(at.info))
    assert not at.button(key="train_start").disabled
    assert at.button(key="train_stop").disabled
    assert "train_job" not in at.session_state
    caption = " ".join(texts(at.caption))
    assert "builtin:synthetic_reviews" in caption and "lstm" in caption and "hidden=16" in caption


def test_train_shows_live_progress_then_results(train_page, poll, workspace):
    at = train_page
    at.button(key="train_start").click().run()
    assert not at.exception
    job = job_of(at)
    assert job is not None
    assert at.button(key="train_start").disabled and not at.button(key="train_stop").disabled
    assert progress_text(at) is not None  # the live view replaces the "Press Train" hint at once
    poll(at, finished, timeout=90)
    at.run()  # the page as the next tick of the live view leaves it
    assert step_of(progress_text(at)) == (15, 15, 1)  # 480 training texts / batch 32, one epoch

    [success] = texts(at.success)
    assert success.startswith("Finished: validation accuracy") and job.result.id in success
    figs = charts(at)
    loss = figs[f"train_steps_{job.id}"]["data"]
    assert loss[0]["x"] == list(range(1, 16)) and len(loss[0]["y"]) == 15  # one point per batch
    assert len(figs[f"train_eacc_{job.id}"]["data"][1]["x"]) == 1  # validation accuracy, one epoch
    cm = figs[f"train_cm_{job.id}"]["data"][0]
    assert cm["type"] == "heatmap" and sum(map(sum, cm["z"])) == 60  # every validation text counted once
    per_class = at.dataframe[0].value
    assert len(per_class) == 2
    assert {m.label for m in at.metric} >= {"Samples per second", "Device", "Validation accuracy", "Training loss"}
    assert not at.button(key="train_start").disabled and at.button(key="train_stop").disabled
    assert at.session_state["predict_run"] == job.result.id
    assert [r.id for r in list_runs(workspace)] == [job.result.id]
    assert any(link.proto.page == "Predict" for link in at.main.get("page_link"))


def test_epochs_chosen_in_training_settings_are_used(train_page, poll):
    at = train_page
    at.number_input(key="train_epochs").set_value(2).run()
    at.button(key="train_start").click().run()
    assert job_of(at).config.train.epochs == 2
    poll(at, finished, timeout=90)
    at.run()
    assert step_of(progress_text(at)) == (30, 30, 2)
    assert len(charts(at)[f"train_eloss_{job_of(at).id}"]["data"][0]["x"]) == 2


def _start_long_job(at, poll):
    at.number_input(key="train_epochs").set_value(200).run()
    at.number_input(key="train_patience").set_value(0).run()  # early stopping off: the job must still run
    at.button(key="train_start").click().run()
    poll(at, lambda a: bool(progress_text(a) and STEP.match(progress_text(a))), timeout=60, every=0.1)
    job = job_of(at)
    assert job.config.train.epochs == 200 and job.status == "running"
    return job


def test_live_view_follows_a_running_job(train_page, poll):
    at = train_page
    job = _start_long_job(at, poll)
    first, _, _ = step_of(progress_text(at))
    poll(at, lambda a: step_of(progress_text(a))[0] >= first + 20, timeout=60, every=0.3)
    points = len(charts(at)[f"train_steps_{job.id}"]["data"][0]["x"])
    assert points >= first + 20  # the loss chart grows with the steps
    poll(at, lambda a: len(charts(a)[f"train_steps_{job.id}"]["data"][0]["x"]) > points, timeout=30, every=0.3)
    assert "left" in progress_text(at)  # an estimate of the time still needed
    assert at.button(key="train_start").disabled and not at.button(key="train_stop").disabled
    assert not at.success and not at.warning


def test_stop_ends_training_and_keeps_the_run(train_page, poll, workspace):
    at = train_page
    job = _start_long_job(at, poll)
    poll(at, lambda a: any(e.get("kind") == "epoch_end" for e in job.log), timeout=60, every=0.1)
    at.button(key="train_stop").click().run()
    poll(at, finished, timeout=30)
    at.run()
    assert job.status == "stopped"
    [warning] = texts(at.warning)
    assert warning.startswith("Training stopped early (stopped by the user)")
    assert re.search(r"from epoch \d+\)", warning), warning
    assert not at.success
    step, total, _ = step_of(progress_text(at))
    assert 0 < step < total
    assert [r.id for r in list_runs(workspace)] == [job.result.id]  # what was learned is saved
    assert list_runs(workspace)[0].stopped is True
    assert not at.button(key="train_start").disabled and at.button(key="train_stop").disabled


def test_stop_in_the_first_epoch_gives_a_sensible_message(train_page, poll):
    at = train_page
    job = _start_long_job(at, poll)
    at.button(key="train_stop").click().run()
    poll(at, finished, timeout=30)
    assert job.status == "stopped"
    [warning] = texts(at.warning)
    assert warning.startswith("Training stopped early (stopped by the user)")
    assert "None" not in warning, warning  # no epoch had ended, so there is no "best epoch" to name


def test_a_failed_job_shows_a_plain_error_and_saves_nothing(open_page, poll, workspace, tmp_path):
    table = tmp_path / "gone.csv"
    table.write_text("text,label\n" + "".join(f"film number {i} was {'good' if i % 2 else 'bad'},{i % 2}\n"
                                               for i in range(40)), encoding="utf-8")
    at = open_page("train", data_cfg={"spec": f"csv:{table}"}, model_cfg=SMALL_MODEL, train_cfg=SMALL_TRAIN)
    table.unlink()  # the file disappears after it was chosen on the Data page
    at.button(key="train_start").click().run()
    poll(at, finished, timeout=60)
    assert job_of(at).status == "failed"
    assert texts(at.error) == [f"The file '{table}' does not exist."]
    assert texts(at.info) == ["Check the path, or upload the file again."]
    assert all(e.label != "Technical details" for e in at.expander)
    assert list_runs(workspace) == []
    assert not at.button(key="train_start").disabled  # the user can try again


def test_training_goes_on_while_the_user_visits_another_page(train_page, poll):
    at = train_page
    job = _start_long_job(at, poll)
    at.switch_page("pages/1_Data.py").run()
    before = len(job.log)
    at.switch_page("pages/3_Train.py").run()
    assert not at.exception
    poll(at, lambda a: len(job.log) > before, timeout=30)  # still learning while the user was away
    assert job.status == "running"
    assert STEP.match(progress_text(at)) and at.button(key="train_start").disabled
    assert not any("Press **Train**" in t for t in texts(at.info))


def test_a_second_learner_waits_in_line_and_can_cancel(open_page, poll):
    """A classroom on one server: one job trains at a time, the next one queues."""
    first = open_page("train", data_cfg=SMALL_DATA, model_cfg=SMALL_MODEL, train_cfg=SMALL_TRAIN)
    running = _start_long_job(first, poll)
    second = open_page("train", data_cfg=SMALL_DATA, model_cfg=SMALL_MODEL, train_cfg=SMALL_TRAIN)
    second.button(key="train_start").click().run()
    assert not second.exception
    waiting = job_of(second)
    assert waiting.status == "queued" and running.status == "running"
    assert any("Your place in line: 1" in t for t in texts(second.info))
    assert not second.button(key="train_stop").disabled
    second.button(key="train_stop").click().run()
    poll(second, lambda a: bool(a.info) and "cancelled" in a.info[-1].value, timeout=10)
    assert texts(second.info)[-1] == "This job was cancelled before it started."
    assert waiting.status == "stopped" and running.status == "running"
    assert not second.button(key="train_start").disabled


def test_a_job_whose_loss_explodes_ends_failed_with_the_reason_on_the_page(open_page, poll, workspace):
    at = open_page("train", data_cfg=SMALL_DATA, model_cfg={"name": "bag_of_embeddings"},
                   train_cfg={"epochs": 3, "batch_size": 32, "lr": 1.0, "grad_clip": None})
    at.button(key="train_start").click().run()
    poll(at, finished, timeout=90)
    assert job_of(at).status == "failed"
    [error] = texts(at.error)
    assert error.startswith("The loss exploded") and "so the model is no longer learning" in error
    assert any(t.startswith("Lower the learning rate") for t in texts(at.info))
    assert list_runs(workspace) == []
    assert not at.button(key="train_start").disabled


def test_a_training_process_that_dies_ends_failed_with_the_reason_on_the_page(train_page, poll):
    import multiprocessing as mp

    at = train_page
    job = _start_long_job(at, poll)
    [child] = [p for p in mp.active_children() if p.name == "bigmodel-train"]
    child.kill()  # as the out-of-memory killer would
    poll(at, finished, timeout=60)
    assert job.status == "failed"
    assert texts(at.error) == ["The training process ended without a result (it may have run out of memory)."]
    assert texts(at.info) == ["Its run is kept as interrupted if an epoch had finished: resume it on the Runs page, "
                              "or try a smaller model or batch size."]
    assert not at.button(key="train_start").disabled


def test_two_learners_with_the_same_settings_watch_one_run_and_one_can_leave_it(open_page, poll):
    first = open_page("train", data_cfg=SMALL_DATA, model_cfg=SMALL_MODEL, train_cfg=SMALL_TRAIN)
    job = _start_long_job(first, poll)
    second = open_page("train", data_cfg=SMALL_DATA, model_cfg=SMALL_MODEL, train_cfg=SMALL_TRAIN)
    second.number_input(key="train_epochs").set_value(200).run()
    second.number_input(key="train_patience").set_value(0).run()  # the same settings as the first learner's
    second.button(key="train_start").click().run()
    assert job_of(second) is job
    assert job.viewers == {first.session_state["viewer_id"], second.session_state["viewer_id"]}
    sentence = "2 people started this same training; you are both watching one run."
    assert sentence in texts(second.info)
    first.run()
    assert sentence in texts(first.info)

    second.button(key="train_stop").click().run()  # the second learner leaves; the run goes on for the first
    assert "train_job" not in second.session_state
    assert "You stopped watching; the run goes on for the others who started it." in texts(second.info)
    assert any("Press **Train**" in t for t in texts(second.info))
    assert not second.button(key="train_start").disabled
    assert job.status == "running" and not job.stop_event.is_set()
    first.run()
    assert sentence not in texts(first.info) and first.button(key="train_start").disabled

    first.button(key="train_stop").click().run()  # the last viewer really stops it
    poll(first, finished, timeout=30)
    assert job.status == "stopped"


def test_the_schedule_is_a_training_setting_and_adam_gets_no_adamw_strength_decay(train_page):
    at = train_page
    at.selectbox(key="train_schedule").set_value("constant").run()
    at.selectbox(key="train_optimizer").set_value("adam").run()
    assert at.number_input(key="train_wd").value == 0.0  # AdamW's strong decay would swamp Adam's L2 term
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    job = job_of(at)
    assert job.config.train.schedule == "constant" and job.config.train.optimizer == "adam"
