"""Scaling page: pick a model and sizes, Run sweep, and watch the log-log plot fill in with a fitted power law."""
from pathlib import Path

import pytest
import streamlit as st
from apphelpers import SMALL_DATA, charts, plotly_array, progress_text, texts
from streamlit.testing.v1 import AppTest

from bigmodel_core.runs import scan_runs
from ui import state

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/8_Scaling.py"
FAST_TRAIN = {"batch_size": 32, "seed": 0, "epochs": 1}


def open_scaling(**session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.session_state["data_cfg"] = SMALL_DATA
    at.session_state["train_cfg"] = FAST_TRAIN
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def points_on_chart(at: AppTest) -> int:
    chart = charts(at).get("scaling_chart")
    return len(plotly_array(chart["data"][0].get("x", []))) if chart else 0


def fit_caption(at: AppTest) -> str:
    return next((c for c in texts(at.caption) if c.startswith("Fitted:")), "")


def sweep_jobs(at: AppTest) -> list:
    return [state.job_manager().get(j) for j in at.session_state["scaling_jobs"]]


@pytest.fixture
def page():
    return open_scaling()


def test_page_opens_with_lstm_default_sizes_and_the_explanation(page):
    at = page
    assert at.selectbox(key="scaling_model").value == "lstm"
    assert at.radio(key="scaling_axis").value == "width"
    assert at.radio(key="scaling_axis").options == ["wider (more units in each layer)", "deeper (more layers)",
                                                    "wider and deeper together",
                                                    "more data (10 % → 100 % of the training set)"]
    assert at.multiselect(key="scaling_sizes").value == ["tiny", "small", "medium", "large"]
    assert at.radio(key="scaling_budget").value == "epochs"
    assert not at.button(key="scaling_run").disabled and at.button(key="scaling_stop").disabled
    prose = " ".join(texts(at.markdown))
    assert "What is a scaling law?" in prose and "L = a·N^−b + c" in prose and "floor" in prose
    assert any("press **Run sweep**" in t for t in texts(at.info))  # no sweep yet
    assert not at.warning


def test_fewer_than_three_sizes_disable_run_sweep_with_a_plain_warning(page):
    at = page
    at.multiselect(key="scaling_sizes").set_value(["tiny", "small"]).run()
    assert at.button(key="scaling_run").disabled
    [warning] = texts(at.warning)
    assert "between 3 and 8 points" in warning and "you chose 2" in warning
    at.multiselect(key="scaling_sizes").set_value(["nano", "tiny", "small"]).run()
    assert not at.button(key="scaling_run").disabled and not at.warning


def test_a_width_sweep_fills_in_point_by_point_and_fits_a_power_law(page, poll, workspace):
    at = page
    at.multiselect(key="scaling_sizes").set_value(["small", "nano", "tiny"]).run()
    at.number_input(key="scaling_epochs").set_value(1).run()
    at.button(key="scaling_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    sweep = at.session_state["scaling_sweep"]
    jobs = sweep_jobs(at)
    assert [j.config.sweep["point"] for j in jobs] == ["nano", "tiny", "small"]  # in size order
    assert [j.config.model.params["hidden"] for j in jobs] == [4, 8, 16]
    assert {j.config.train.epochs for j in jobs} == {1}
    assert at.button(key="scaling_run").disabled and not at.button(key="scaling_stop").disabled
    assert at.selectbox(key="scaling_show").value == sweep
    seen = []
    poll(at, lambda a: points_on_chart(a) == 3 and bool(fit_caption(a)), timeout=120, every=0.3, seen=seen)
    assert any(s and "of 3 runs trained" in s and "training:" in s for s in seen), seen
    assert "3 of 3 runs trained" in progress_text(at)
    poll(at, lambda a: not a.button(key="scaling_run").disabled, timeout=30)  # the last job hands back its run
    assert not at.button(key="scaling_run").disabled and at.button(key="scaling_stop").disabled
    caption = fit_caption(at)
    assert "L = a·N^−b + c" in caption and "b = " in caption and "3 points" in caption
    chart = charts(at)["scaling_chart"]
    assert chart["layout"]["xaxis"]["type"] == "log" and chart["layout"]["yaxis"]["type"] == "log"
    xs = plotly_array(chart["data"][0]["x"])
    assert list(xs) == sorted(xs) and xs[0] < xs[-1]  # parameters grow from nano to small
    assert chart["data"][1]["name"].startswith("fit: L = ")
    table = at.dataframe[0].value
    assert list(table["point"]) == ["nano", "tiny", "small"] and set(table["status"]) == {"finished"}

    runs, damaged = scan_runs(sweep=sweep)
    assert not damaged and len(runs) == 3
    assert {r.config.sweep["id"] for r in runs} == {sweep}
    assert {r.id for r in scan_runs()[0]} == {r.id for r in runs}
    assert sorted(r.id for r in runs) == sorted(table["run"])


def test_a_data_sweep_plans_shares_of_the_training_set(page, poll):
    at = page
    at.radio(key="scaling_axis").set_value("data").run()
    assert at.multiselect(key="scaling_shares").value == [0.1, 0.2, 0.3, 0.5, 0.7, 1.0]
    at.multiselect(key="scaling_shares").set_value([1.0, 0.2, 0.5]).run()
    at.button(key="scaling_run").click().run()
    assert not at.error, texts(at.error)
    jobs = sweep_jobs(at)
    assert [j.config.data.train_fraction for j in jobs] == [0.2, 0.5, 1.0]
    assert [j.config.sweep["point"] for j in jobs] == ["20%", "50%", "100%"]
    assert {j.config.model.params.get("hidden") for j in jobs} == {None}  # the model stays the preset
    assert at.selectbox(key="scaling_x").value == "train_examples"
    poll(at, lambda a: points_on_chart(a) == 3, timeout=120, every=0.3)
    xs = list(plotly_array(charts(at)["scaling_chart"]["data"][0]["x"]))
    assert xs == sorted(xs) and xs[-1] == 480 and xs[0] < xs[1] < 480  # 20 %, 50 %, 100 % of 480 texts


def test_an_earlier_sweep_is_shown_again_in_a_fresh_session(workspace):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run
    from bigmodel_core.training.sweep import plan_sweep, run_sweep

    base = RunConfig(DataConfig(**SMALL_DATA), ModelConfig("gru"), TrainConfig(**FAST_TRAIN))
    older = plan_sweep(base, "depth", ["nano", "tiny", "small"], epochs=1, sweep_id="sweep-20250101-000000-aaaa")
    newer = plan_sweep(base, "width", ["nano", "tiny", "small"], epochs=1, sweep_id="sweep-20250102-000000-bbbb")
    run_sweep(older, train=train_run, home=workspace)
    run_sweep(newer[:1], train=train_run, home=workspace)
    st.cache_resource.clear()
    st.cache_data.clear()

    at = open_scaling()
    show = at.selectbox(key="scaling_show")
    assert show.options[0] == "gru · grows width · builtin:synthetic_reviews · 2025-01-02 00:00"  # newest first
    assert show.value == newer[0].sweep["id"]
    assert points_on_chart(at) == 1 and "a fitted curve needs at least 3 points" in " ".join(texts(at.caption))
    show.set_value(older[0].sweep["id"]).run()
    assert not at.exception
    assert points_on_chart(at) == 3 and fit_caption(at)
    assert "no uncertainty estimate" in fit_caption(at)  # exactly three points
    assert list(at.dataframe[0].value["point"]) == ["nano", "tiny", "small"]
    assert progress_text(at) is None  # nothing is training
