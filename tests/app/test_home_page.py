"""Home page: a newcomer sees what the app is, the four steps of the guided path, and a demo button."""
from dataclasses import asdict

from apphelpers import progress_text, texts

from bigmodel_core.training.jobs import demo_config
from ui import state


def test_home_shows_the_guided_path_in_order(open_page):
    at = open_page()
    assert texts(at.title) == ["🧠 BigModel Lab"]
    assert "The guided path" in texts(at.subheader)
    links = [(link.proto.label, link.proto.page) for link in at.main.get("page_link")]
    assert links[:10] == [("1 · Data", "Data"), ("2 · Model", "Model"), ("3 · Train", "Train"), ("4 · Predict", "Predict"),
                          ("5 · Inside the CNN", "Inside_the_CNN"), ("6 · Embeddings", "Embeddings"),
                          ("7 · Runs", "Runs"), ("8 · Scaling", "Scaling"), ("9 · Optimize", "Optimize"),
                          ("10 · Deploy", "Deploy")]
    captions = " ".join(texts(at.caption))
    assert "Movie reviews or handwritten digits" in captions and "Type a sentence or draw a digit" in captions


def test_the_path_marks_what_this_session_did_and_what_comes_next(open_page):
    at = open_page()
    steps = [m.value for m in at.main.markdown if m.value.startswith("**")]
    assert steps[0] == "**👉 Data** · next" and all("⏳" in s for s in steps[1:])
    at.switch_page("pages/1_Data.py").run()
    at.switch_page("pages/2_Model.py").run()
    at.switch_page("app.py").run()
    steps = [m.value for m in at.main.markdown if m.value.startswith("**")]
    assert steps[:3] == ["**✅ Data** · done", "**✅ Model** · done", "**👉 Train** · next"]


def test_the_sidebar_lists_every_page_by_its_name_in_the_chosen_language(open_page):
    at = open_page()
    names = [link.proto.label for link in at.sidebar.get("page_link")]
    assert names[:4] == ["BigModel Lab", "Data", "Model", "Train"] and "Glossary" in names
    at.session_state["ui_lang"] = "zh-CN"
    at.run()
    names = [link.proto.label for link in at.sidebar.get("page_link")]
    assert names[1:4] == ["数据", "模型", "训练"] and "术语表" in names
    assert texts(at.title) == ["🧠 BigModel Lab 大模型实验室"] and "学习路线" in texts(at.subheader)


def test_home_offers_a_one_click_demo(open_page):
    at = open_page()
    assert "One-click demo" in texts(at.subheader)
    demo = at.button(key="home_demo")
    assert demo.label == "▶ Run the demo" and not demo.disabled


def idle_until_stopped(cfg, callbacks, home=None, stop_event=None, running_jobs=1):
    """Stands in for training the demo (seconds of CPU): only its start and its viewers matter here."""
    stop_event.wait(60)
    return {"stopped": True}


def test_demo_button_starts_training_and_opens_the_train_page(open_page, monkeypatch):
    monkeypatch.setattr(state.job_manager(), "_runner", idle_until_stopped)
    at = open_page()
    at.button(key="home_demo").click().run()
    assert not at.exception
    assert texts(at.title) == ["📈 Train"]
    job = state.job_manager().get(at.session_state["train_job"])
    assert job is not None and job.status in ("queued", "running")
    # the demo trains its one named preset: an LSTM on the whole built-in set
    assert asdict(job.config) == asdict(demo_config())
    assert job.config.model.name == "lstm" and job.config.data.spec == "builtin:synthetic_reviews"
    assert at.button(key="train_start").disabled and not at.button(key="train_stop").disabled
    assert progress_text(at) is not None  # the live view is there at once, not the "Press Train" hint
    assert not any("Press **Train**" in t for t in texts(at.info))


def test_a_class_pressing_run_the_demo_watches_one_run_and_is_told_so(open_page, monkeypatch):
    monkeypatch.setattr(state.job_manager(), "_runner", idle_until_stopped)
    sessions = [open_page() for _ in range(3)]
    for at in sessions:
        at.button(key="home_demo").click().run()
        assert not at.exception and texts(at.title) == ["📈 Train"]
    jobs = {at.session_state["train_job"] for at in sessions}
    assert len(jobs) == 1  # one run for the whole class
    job = state.job_manager().get(jobs.pop())
    assert len(job.viewers) == 3
    for at in sessions:
        at.run()
        assert "3 people started this same training; you are all watching one run." in texts(at.info)
