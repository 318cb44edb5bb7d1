"""Teacher links: a URL's query parameters preselect a lesson, hide controls and lock settings."""
from __future__ import annotations

from pathlib import Path

from apphelpers import SMALL_DATA, texts
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = {"data": "pages/1_Data.py", "model": "pages/2_Model.py", "train": "pages/3_Train.py"}


def open_with(query: dict, page: str = "train", **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_preselects_the_model_hides_the_optimizer_and_locks_the_learning_rate():
    at = open_with({"model": "lstm", "set.lr": "0.003", "set.epochs": "2", "hide": "optimizer", "lock": "lr"},
                   data_cfg=SMALL_DATA)
    assert at.session_state["model_cfg"]["name"] == "lstm"
    assert "train_optimizer" not in [w.key for w in at.selectbox]  # hidden
    lr = at.number_input(key="train_lr")
    assert lr.disabled and lr.value == 0.003  # locked at the link's value
    assert at.number_input(key="train_epochs").value == 2 and not at.number_input(key="train_epochs").disabled
    assert at.session_state["train_cfg"]["lr"] == 0.003


def test_a_locked_setting_comes_back_even_after_it_was_changed_in_the_session():
    at = open_with({"set.lr": "0.003", "lock": "lr"}, data_cfg=SMALL_DATA)
    cfg = dict(at.session_state["train_cfg"])
    at.session_state["train_cfg"] = {**cfg, "lr": 0.5}  # as if another page had changed it
    at.run()
    assert at.session_state["train_cfg"]["lr"] == 0.003 and at.number_input(key="train_lr").value == 0.003


def test_settings_that_are_not_locked_stay_the_users_after_the_link_was_applied():
    at = open_with({"set.epochs": "2"}, data_cfg=SMALL_DATA)
    at.number_input(key="train_epochs").set_value(5).run()
    at.run()
    assert at.session_state["train_cfg"]["epochs"] == 5  # the link is applied once, not on every rerun


def test_a_link_locks_the_model_and_its_settings_on_the_model_page():
    at = open_with({"model": "gru", "set.hidden": "32", "lock": "model,hidden"}, page="model", data_cfg=SMALL_DATA)
    assert at.selectbox(key="model_name").value == "gru" and at.selectbox(key="model_name").disabled
    assert at.session_state["model_cfg"]["params"]["hidden"] == 32
    assert any(t.disabled and t.value == "32" for t in at.text_input)  # shown greyed out with its value


def test_a_bad_link_is_one_plain_error_and_the_page_stays_up():
    at = open_with({"set.lr": "lots"}, data_cfg=SMALL_DATA)
    [error] = texts(at.error)
    assert "lr" in error and not at.exception


def test_presenter_mode_scales_the_whole_interface():
    at = open_with({"present": "1"}, page="data", data_cfg=SMALL_DATA)
    assert any("font-size: 150%" in t for t in texts(at.markdown))


def test_the_copy_a_link_box_builds_a_link_with_what_to_hide_and_lock():
    at = open_with({}, data_cfg=SMALL_DATA, model_cfg={"name": "gru", "params": {"hidden": 32}, "embeddings": None,
                                                     "freeze_embeddings": False})
    at.checkbox(key="link_hide_optimizer").check()
    at.checkbox(key="link_lock_lr").check().run()
    [code] = [c.value for c in at.code if "model=gru" in c.value]
    assert "set.hidden=32" in code and "hide=optimizer" in code and "lock=lr" in code and "data=builtin" in code
    assert at.checkbox(key="link_lock_optimizer").disabled  # a hidden control cannot also be locked
    at.checkbox(key="link_lock_lr").uncheck().run()
    [code] = [c.value for c in at.code if "model=gru" in c.value]
    assert "lock=" not in code and "hide=optimizer" in code
