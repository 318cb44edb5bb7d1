"""Runs and Scaling in a real browser: compare two runs, watch a sweep fill in, and resume a run the app was killed in."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

from playwright.sync_api import Page, expect
from e2ehelpers import streamlit_server
from test_new_user_flow import nav, screenshot, wait_idle

ROOT = Path(__file__).resolve().parents[2]
TRAIN_TIMEOUT_S = 180  # CI is a busy 2-core machine: every wait on training is generous
SWEEP_TIMEOUT_S = 180  # the three points below took ~30 s here, with the page redrawing every second
# At 1 epoch every size is still at chance (validation loss ln 2 = 0.693 for all three: a flat "curve");
# at 8 (the Train page's default) tiny and small learn, nano stops early, and the fit has a slope to show.
SWEEP_EPOCHS = 8
KILL_EPOCHS = 5  # short, but leaves epochs 2-4 to kill in (epoch 1's checkpoint is on disk once epoch 2 runs)

# Plotly charts on the page: the title and, per trace, its name and number of points.
PLOTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => ({
    title: String((p._fullLayout && p._fullLayout.title && p._fullLayout.title.text) || ''),
    traces: (p.data || []).map(t => ({name: t.name, n: t.x ? t.x.length : 0, ny: t.y ? t.y.length : 0})),
}))"""
# Points in the first trace ("trained runs") of the Scaling page's log-log chart; -1 while it is not drawn.
SCALING_POINTS_JS = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p._fullLayout && p._fullLayout.title
        && String(p._fullLayout.title.text || '').includes('(log-log)'));
    return plot && plot.data && plot.data.length ? (plot.data[0].x ? plot.data[0].x.length : 0) : -1;
}"""
ROWS_JS = "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))"


def frame_rows(frame) -> list[list[str]]:
    """The rows of a dataframe, from glide's accessible table (it fills in a moment after the frame appears)."""
    expect(frame.locator("tbody tr").first).to_be_attached()
    return frame.locator("tbody tr").evaluate_all(ROWS_JS)


def pick(page: Page, label: str, option: str) -> None:
    """Choose `option` in the multiselect `label` as a user does: open it, click the option, close the list."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    page.get_by_role("listbox", name=label).get_by_role("option", name=option, exact=True).click()
    box.press("Escape")
    wait_idle(page)


def chosen(page: Page, label: str, count: int) -> list[str]:
    """The `count` tags a multiselect shows as chosen (waited for: the widget draws them a moment after itself)."""
    widget = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_role("combobox", name=label, exact=True))
    tags = widget.locator(".react-aria-ComboBox [data-tag]")
    expect(tags).to_have_count(count)
    return tags.evaluate_all("ts => ts.map(t => t.getAttribute('aria-label'))")


def small_run(home: Path, name: str, lr: float):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    cfg = RunConfig(DataConfig(max_rows=600), ModelConfig("lstm", {"embed_dim": 16, "hidden": 16}),
                    TrainConfig(epochs=3, batch_size=32, lr=lr, seed=0), name=name)
    return train_run(cfg, home=home)


def test_a_user_compares_two_runs_in_the_browser(page: Page, app_server, monkeypatch, tmp_path):
    monkeypatch.setenv("BIGMODEL_HOME", str(app_server["home"]))
    fast, slow = small_run(app_server["home"], "lr-high", 0.01), small_run(app_server["home"], "lr-low", 0.003)

    # Runs: both runs written by this process are in the table, finished
    page.goto(app_server["url"])
    nav(page, "Runs")
    expect(page.get_by_role("heading", name=re.compile(r"Runs$"))).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    rows = {r[0]: r for r in frame_rows(table)}
    assert {fast.name, slow.name} <= set(rows), rows
    assert all("finished" in rows[n] for n in (fast.name, slow.name)), rows
    expect(page.get_by_text("Pick 2 to 6 runs to compare")).to_be_visible()

    # Compare: pick both in the multiselect
    pick(page, "Runs to compare", fast.name)
    expect(page.get_by_text("Pick 2 to 6 runs to compare")).to_be_visible()  # one run is not a comparison
    pick(page, "Runs to compare", slow.name)
    assert chosen(page, "Runs to compare", 2) == [fast.name, slow.name]
    expect(page.get_by_text("Settings that differ", exact=True)).to_be_visible()

    # The overlay: one line per run, with a point per epoch
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.data
        && p.data.length === 2 && p.data.every(t => t.x && t.x.length > 0))""", timeout=30_000)
    overlay = [p for p in page.evaluate(PLOTS_JS) if len(p["traces"]) == 2]
    assert len(overlay) == 1, page.evaluate(PLOTS_JS)
    traces = overlay[0]["traces"]
    assert sorted(t["name"] for t in traces) == sorted([fast.name, slow.name]), traces
    assert all(t["n"] == 3 and t["ny"] == 3 for t in traces), traces  # 3 epochs each
    assert "validation loss" in overlay[0]["title"].lower(), overlay[0]["title"]

    # The settings diff: the learning rate, and nothing the two runs share
    diff = page.get_by_test_id("stDataFrame").filter(
        has=page.locator("th", has_text=re.compile(r"^setting$")))
    expect(diff).to_have_count(1)
    diff_rows = frame_rows(diff)
    settings = [r[0] for r in diff_rows]
    assert settings == ["train.lr"], diff_rows
    assert diff_rows[0][1:] == ["0.01", "0.003"], diff_rows
    for shared in ("train.epochs", "train.batch_size", "model", "data.max_rows"):
        assert shared not in settings, diff_rows
    badges = page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"^🏆 lr-(high|low): "))
    expect(badges.first).to_be_visible()  # "Best runs": which of the two did best at what
    expect(page.get_by_test_id("stException")).to_have_count(0)

    shot = tmp_path / "runs.png"
    screenshot(page, shot, height=1600)
    shutil.copy(shot, "/tmp/bigmodel_runs.png")
    print(f"compare: overlay {traces}; settings diff {diff_rows}")


def test_a_three_point_sweep_fills_in_point_by_point(page: Page, app_server, tmp_path):
    page.goto(app_server["url"])
    nav(page, "Scaling")
    expect(page.get_by_role("heading", name=re.compile(r"Scaling$"))).to_be_visible()
    expect(page.get_by_text("Choose the sizes and press")).to_be_visible()  # no sweep in this workspace yet

    # nano, tiny, small instead of the default tiny .. large; SWEEP_EPOCHS each
    sizes = "Model sizes"
    wait_idle(page)
    defaults = chosen(page, sizes, 4)
    assert defaults == ["tiny", "small", "medium", "large"], defaults
    for size in ("medium", "large"):
        page.get_by_role("button", name=f"Remove {size}", exact=True).click()
        wait_idle(page)
    pick(page, sizes, "nano")
    assert sorted(chosen(page, sizes, 3)) == ["nano", "small", "tiny"]
    epochs = page.get_by_label("Epochs per run", exact=True)
    epochs.fill(str(SWEEP_EPOCHS))
    epochs.press("Enter")
    wait_idle(page)
    expect(epochs).to_have_value(str(SWEEP_EPOCHS))
    run = page.get_by_role("button", name="▶ Run sweep")
    expect(run).to_be_enabled()

    run.click()
    t0 = time.monotonic()
    expect(page.get_by_test_id("stProgress").filter(has_text="of 3 runs trained")).to_be_visible(timeout=60_000)
    expect(run).to_be_disabled()
    # the plot fills in point by point: a state with one or two points comes before the third
    partial = page.wait_for_function(f"() => {{ const n = ({SCALING_POINTS_JS})(); return n >= 1 && n <= 2 && n; }}",
                                     timeout=SWEEP_TIMEOUT_S * 1000, polling=100).json_value()
    t_partial = time.monotonic() - t0
    page.wait_for_function(f"() => ({SCALING_POINTS_JS})() === 3", timeout=SWEEP_TIMEOUT_S * 1000, polling=200)
    caption = page.get_by_text(re.compile(r"^Fitted: L = a·N\^−b \+ c, b = -?\d+\.\d\d"))
    expect(caption).to_be_visible(timeout=30_000)
    expect(run).to_be_enabled(timeout=60_000)  # the sweep is over: Run sweep is offered again
    wait_idle(page)
    t_done = time.monotonic() - t0
    assert 1 <= partial <= 2 and page.evaluate(SCALING_POINTS_JS) == 3, partial
    assert "(3 points)" in caption.inner_text(), caption.inner_text()
    expect(page.get_by_test_id("stProgress").filter(has_text="3 of 3 runs trained")).to_be_visible()

    chart = [p for p in page.evaluate(PLOTS_JS) if "(log-log)" in p["title"]]
    assert len(chart) == 1 and chart[0]["traces"][1]["name"].startswith("fit: L = "), chart
    table = page.get_by_test_id("stDataFrame").filter(
        has=page.locator("th", has_text=re.compile(r"^point$")))
    rows = frame_rows(table)
    assert [r[0] for r in rows] == ["nano", "tiny", "small"], rows
    assert all("finished" in r for r in rows), rows
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)

    shot = tmp_path / "scaling.png"
    screenshot(page, shot, height=1600)
    shutil.copy(shot, "/tmp/bigmodel_scaling.png")
    print(f"sweep: {partial} point(s) after {t_partial:.1f} s, all 3 and the fit after {t_done:.1f} s; "
          f"{caption.inner_text()}")


# ---- a server of its own, to kill ------------------------------------------------------------------------


def _group_gone(pgid: int, timeout: float = 30.0) -> bool:
    """True once no process of the group is left (the training child included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _manage_caption(page: Page):
    return page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"^Status \w+ · \d+ of \d+ epochs"))


def test_killing_the_app_mid_run_leaves_an_interrupted_run_that_resume_finishes(browser, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    logs = [tmp_path / "first-streamlit.log", tmp_path / "second-streamlit.log"]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    timings = {}
    try:
        # First server: train on the Train page with a few epochs, and kill everything during epoch 2 or later
        with streamlit_server(home, logs[0]) as (url, proc):
            page.goto(url)
            nav(page, "Train")
            page.get_by_test_id("stExpander").filter(has_text="Training settings").locator("summary").click()
            epochs = page.get_by_label("Epochs", exact=True)
            epochs.fill(str(KILL_EPOCHS))
            epochs.press("Enter")
            wait_idle(page)
            expect(epochs).to_have_value(str(KILL_EPOCHS))
            page.get_by_role("button", name="▶ Train").click()
            t0 = time.monotonic()
            middle = "|".join(str(e) for e in range(2, KILL_EPOCHS))  # not the last: it may end before the kill
            progress = page.get_by_test_id("stProgress").filter(has_text=re.compile(rf"· epoch ({middle})\b"))
            expect(progress).to_be_visible(timeout=TRAIN_TIMEOUT_S * 1000)
            seen = progress.first.inner_text()
            os.killpg(proc.pid, signal.SIGKILL)  # the server and its training child: nobody unwinds anything
            proc.wait(15)
            assert _group_gone(proc.pid), "a process of the killed server's group is still alive"
            timings["to_kill_s"] = round(time.monotonic() - t0, 1)

        runs = [p for p in (home / "runs").iterdir() if p.is_dir() and (p / "run.json").exists()]
        assert len(runs) == 1, list((home / "runs").iterdir())
        run_id = runs[0].name
        assert json.loads((runs[0] / "run.json").read_text())["status"] == "running"  # nobody had time to say more

        # Second server, same workspace: the run is interrupted, and Resume finishes it
        with streamlit_server(home, logs[1]) as (url, proc):
            page.goto(url)
            nav(page, "Runs")
            table = page.get_by_test_id("stDataFrame").first
            rows = frame_rows(table)
            assert len(rows) == 1 and "interrupted" in rows[0], rows
            expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(re.compile(re.escape(run_id)))
            caption = _manage_caption(page)
            expect(caption).to_contain_text(f"of {KILL_EPOCHS} epochs")
            expect(caption).to_contain_text("Status interrupted")
            expect(page.get_by_text("Training was cut off part-way")).to_be_visible()
            page.get_by_role("button", name="▶ Resume training").click()
            t1 = time.monotonic()
            expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Training goes on")).to_be_visible()
            wait_idle(page)

            nav(page, "Train")
            finished = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Finished:")
            expect(finished).to_be_visible(timeout=TRAIN_TIMEOUT_S * 1000)
            timings["resume_s"] = round(time.monotonic() - t1, 1)
            wait_idle(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)

            nav(page, "Runs")
            rows = frame_rows(page.get_by_test_id("stDataFrame").first)
            assert len(rows) == 1 and "finished" in rows[0], rows
            caption = _manage_caption(page)
            expect(caption).to_contain_text("Status finished")
            expect(caption).to_contain_text(f"{KILL_EPOCHS} of {KILL_EPOCHS} epochs")
            expect(caption).to_contain_text(run_id)
        record = json.loads((runs[0] / "run.json").read_text())
        assert record["status"] == "finished" and record["epochs_done"] == KILL_EPOCHS, record
        print(f"killed at '{seen}'; timings {timings}")
    except BaseException:
        for log in logs:
            if log.exists():
                print(f"---- {log.name} (tail) ----\n" + log.read_text(errors="replace")[-4000:])
        raise
    finally:
        context.close()
