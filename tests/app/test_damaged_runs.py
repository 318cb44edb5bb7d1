"""A damaged run is named once on the pages that list runs; the other runs and the app keep working."""
import pytest
from apphelpers import texts

DAMAGE = [b"\x89\xfe\x00garbage", b"[]", b"null", b"{}"]


@pytest.mark.parametrize("content", DAMAGE)
def test_predict_page_names_a_damaged_run_and_predicts_with_the_others(open_page, trained_run, workspace, content):
    trained_run("good-run")
    bad = workspace / "runs" / "zz-broken"
    bad.mkdir()
    (bad / "run.json").write_bytes(content)
    at = open_page("predict")
    assert not at.exception
    [warning] = texts(at.warning)
    assert "'zz-broken'" in warning and "damaged" in warning and "Delete it" in warning
    assert at.selectbox(key="predict_run_pick").value == "good-run"
    assert len(at.selectbox(key="predict_run_pick").options) == 1
    assert any(t.startswith("### Prediction:") for t in texts(at.markdown))


def test_inside_the_cnn_page_stays_up_with_a_damaged_run(open_page, workspace):
    bad = workspace / "runs" / "broken-image-run"
    bad.mkdir(parents=True)
    (bad / "run.json").write_bytes(b"\xff\xfe")
    at = open_page()
    at.switch_page("pages/5_Inside_the_CNN.py").run()
    assert not at.exception
    assert "broken-image-run" in texts(at.warning)[0]
    assert texts(at.info) == ["There is no trained image model yet. Pick images on the Data page, then train one."]


def test_a_sentence_of_only_unknown_words_says_the_prediction_is_a_guess(open_page, trained_run):
    trained_run("good-run")
    at = open_page("predict")
    at.text_input(key="predict_text").set_value("😀 🎬 🍿").run()
    assert not at.exception
    assert any("never seen any of these words" in w for w in texts(at.warning))


def test_while_another_program_holds_the_run_list_pages_still_list_and_a_change_is_refused_plainly(
        open_page, trained_run, workspace, monkeypatch):
    import sqlite3

    from bigmodel_core.runs import index, read_run

    trained_run("good-run")
    monkeypatch.setattr(index, "BUSY_S", 0.2)
    holder = sqlite3.connect(index.index_path(workspace))
    holder.execute("BEGIN EXCLUSIVE")  # another program in the middle of a long write
    try:
        at = open_page("predict")  # reading goes on beside a writer (the index is in WAL mode)
        assert at.selectbox(key="predict_run_pick").value == "good-run"
        at.switch_page("pages/7_Runs.py").run()
        at.text_input(key="runs_rename").set_value("renamed")
        at.button(key="runs_rename_btn").click().run()
        assert not at.exception
        assert "The run list is busy: another BigModel Lab window or command is writing to it." in texts(at.error)
        assert any("try again" in t for t in texts(at.info))
        assert read_run("good-run").name == "good-run"  # refused as a whole
    finally:
        holder.rollback()
        holder.close()
