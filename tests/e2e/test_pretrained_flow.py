"""In a real browser: choose the pretrained Transformer on the Model page (a tiny random BERT in a folder, built
by the test), fine-tune it on the Train page, and see its attention, word by word, on the Predict page.

With BIGMODEL_SCREENSHOT_WEIGHTS=DIR (a real Hugging Face folder such as MiniLM-L6) the same flow runs on
those weights and writes the README's screenshots to assets/screenshots/ (not part of `make test`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from test_new_user_flow import nav, screenshot, wait_idle

SHOTS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the selectbox `label` as a user does."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()
    wait_idle(page)


def test_fine_tune_a_pretrained_model_and_see_its_attention(page: Page, app_server, tiny_bert):
    weights = os.environ.get("BIGMODEL_SCREENSHOT_WEIGHTS") or str(tiny_bert)
    shots = bool(os.environ.get("BIGMODEL_SCREENSHOT_WEIGHTS"))
    page.goto(app_server["url"])
    wait_idle(page)
    nav(page, "Model")
    wait_idle(page)
    choose(page, "Architecture", "pretrained_transformer")
    expect(page.get_by_text("not on this computer yet")).to_be_visible()  # nothing downloaded by looking
    page.get_by_text("A folder on this computer").click()
    wait_idle(page)
    folder = page.get_by_role("textbox", name=re.compile("Folder with config.json"))
    folder.fill(weights)
    folder.press("Enter")
    wait_idle(page, 120)
    expect(page.get_by_text(re.compile(r"A bert model: \d+ layers"))).to_be_visible()
    expect(page.get_by_text("Fine-tuning preset")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Parameters")).to_be_visible()
    if shots:
        screenshot(page, SHOTS / "pretrained_model.png", 1300)

    nav(page, "Train")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"at most 2,000 examples"))).to_be_visible()
    if not shots:  # the tiny model: a few batches are enough to show the flow
        page.get_by_test_id("stExpander").get_by_text("Training settings").click()
        epochs = page.get_by_role("spinbutton", name="Epochs")
        epochs.fill("1")
        epochs.press("Enter")
        wait_idle(page)
    page.get_by_role("button", name="▶ Train").click()
    expect(page.get_by_text(re.compile(r"^Finished: validation accuracy"))).to_be_visible(timeout=600_000)
    wait_idle(page)

    nav(page, "Predict")
    wait_idle(page, 120)
    expect(page.get_by_text(re.compile(r"Prediction:"))).to_be_visible()
    attention = page.locator(".bm-highlight.bm-attention .bm-word")
    expect(attention).to_have_count(8)  # "not good at all, a boring film": words, not word pieces
    expect(page.get_by_role("combobox", name="Layer", exact=True)).to_be_visible()
    if shots:
        page.locator(".bm-highlight.bm-attention").scroll_into_view_if_needed()
        screenshot(page, SHOTS / "pretrained_predict.png", 2200)
