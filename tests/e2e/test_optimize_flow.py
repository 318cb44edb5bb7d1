"""In a real browser: prune a trained run on the Optimize page and see it measured in the table beside its parent."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from test_new_user_flow import nav, wait_idle
from test_runs_and_scaling import frame_rows

# Bars in the Optimize chart's first trace ("file"): one per run compared; 0 while it is not drawn.
RUNS_CHARTED_JS = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.data && p.data.length
        && p.data[0].name === 'file');
    return plot ? plot.data[0].x.length : 0;
}"""


def test_prune_a_run_and_see_the_table(page: Page, app_server):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    train_run(RunConfig(DataConfig(max_rows=600), ModelConfig("lstm", {"embed_dim": 16, "hidden": 16}),
                        TrainConfig(epochs=1, batch_size=32), name="to-prune"), home=app_server["home"])
    page.goto(app_server["url"])
    wait_idle(page)
    nav(page, "Optimize")
    expect(page.get_by_role("heading", name=re.compile(r"Optimize$"))).to_be_visible()
    wait_idle(page, 120)
    expect(page.get_by_text("Prune, quantize or distil this run")).to_be_visible(timeout=60_000)  # measured first
    page.get_by_role("button", name="✂️ Prune").click()
    page.wait_for_function(f"({RUNS_CHARTED_JS})() >= 2", timeout=180_000)  # the pruned run is measured and charted
    wait_idle(page, 120)
    rows = frame_rows(page.get_by_test_id("stDataFrame").first)
    assert [r[1] for r in rows][:2] == ["original", "pruned 50%"], rows
    expect(page.get_by_text("keeps its size")).to_be_visible()  # the plain note on a pruned file's size
