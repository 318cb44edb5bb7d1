"""Optimize page: prune, quantize and distil a trained run, each a new run shown in one table beside its parent."""
from __future__ import annotations

import pytest
from apphelpers import charts, texts

from ui import state


def finished(at) -> bool:
    job = state.job_manager().get(at.session_state.get("optimize_job"))
    return job is not None and job.finished


@pytest.fixture
def optimize_page(open_page, trained_run):
    trained_run("tiny-lstm", epochs=2)
    return open_page("optimize")


def test_without_a_trained_run_the_page_says_train_first(open_page):
    at = open_page("optimize")
    assert texts(at.info) == ["There is no trained model yet. Train one on the Train page first."]


def test_the_run_alone_is_measured_and_the_page_says_what_to_do(optimize_page):
    at = optimize_page
    table = at.dataframe[0].value
    assert list(table["run"]) == ["tiny-lstm"] and table["parameters"][0] > 0 and table["file MB"][0] > 0
    assert any("Prune, quantize or distil this run" in t for t in texts(at.info))
    assert not at.button(key="opt_prune").disabled and not at.button(key="opt_quantize").disabled


@pytest.mark.parametrize("button, how", [("opt_prune", "pruned 50%"), ("opt_quantize", "int8 (dynamic)")])
def test_pruning_or_quantizing_adds_a_measured_run_beside_its_parent(optimize_page, poll, button, how):
    at = optimize_page
    at.button(key=button).click().run()
    assert not at.exception
    poll(at, finished, timeout=120)
    at.run()
    table = at.dataframe[0].value
    assert list(table["how"]) == ["original", how]
    child, parent = table.iloc[1], table.iloc[0]
    if how.startswith("pruned"):
        assert child["non-zero parameters"] < 0.6 * parent["non-zero parameters"]
        assert child["zipped MB"] < parent["zipped MB"] and child["file MB"] == pytest.approx(parent["file MB"])
        assert any("keeps its size" in t for t in texts(at.caption))
        assert "opt_sparsity_chart" in charts(at)
    else:
        assert child["file MB"] < parent["file MB"]
    assert "opt_chart" in charts(at)


def test_distilling_trains_a_student_with_live_curves_and_names_its_teacher(optimize_page, poll):
    at = optimize_page
    at.selectbox(key="opt_student").set_value("bag_of_embeddings")
    at.number_input(key="opt_epochs").set_value(2)
    at.button(key="opt_distil").click().run()
    poll(at, finished, timeout=120)
    at.run()
    table = at.dataframe[0].value
    assert list(table["how"]) == ["original", "distilled from tiny-lstm"]
    assert list(table["model"]) == ["lstm", "bag_of_embeddings"]


def test_a_run_whose_data_is_gone_fails_with_a_plain_error_and_adds_nothing(open_page, poll, workspace, tmp_path):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.runs.store import list_runs
    from bigmodel_core.training.run import train_run

    csv = tmp_path / "reviews.csv"
    csv.write_text("text,label\n" + "".join(f"a good film {i},pos\na bad film {i},neg\n" for i in range(40)))
    train_run(RunConfig(DataConfig(spec=f"csv:{csv}"), ModelConfig("bag_of_embeddings", {"embed_dim": 8, "hidden": 8}),
                        TrainConfig(epochs=1, batch_size=16), name="gone-data"), home=workspace)
    csv.unlink()
    at = open_page("optimize")
    at.button(key="opt_prune").click().run()
    poll(at, finished, timeout=60)
    at.run()
    [error] = texts(at.error)
    assert "reviews.csv" in error and "does not exist" in error
    assert [r.id for r in list_runs(workspace)] == ["gone-data"]
