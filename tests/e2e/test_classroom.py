"""The classroom in a real browser: a newcomer (English or Chinese) reaches a LIME explanation of a model they
trained in a few clicks; a teacher's link hides and locks controls; presenter mode enlarges the interface; a
Chinese upload is explained in Chinese words."""
from __future__ import annotations

import csv
import json
import re
import time
from pathlib import Path

import e2ehelpers
import pytest
from playwright.sync_api import expect

from bigmodel_core.data.text.synthetic_zh import generate_reviews_zh

ROOT = Path(__file__).resolve().parents[2]
FIGURES = Path("/tmp/bigmodel_newcomer.json")  # BENCHMARKS.md records them (section "The classroom")
TRAIN_MS = 150_000
CJK = re.compile(r"[\u4e00-\u9fff]")


def locale(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((ROOT / "assets" / "locales" / lang).glob("*.json")):
        out.update(json.loads(path.read_text(encoding="utf-8")))
    return out


def wait_idle(page, timeout_s: float = 90) -> None:
    page.wait_for_timeout(300)  # let the rerun start
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=timeout_s * 1000)


@pytest.fixture
def tab(browser, app_server):
    contexts = []

    def _open(lang: str = "en-US"):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=lang)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        return page

    yield _open
    for context in contexts:
        context.close()


class Clicks:
    """Counts what the newcomer does: every click and every Enter."""

    def __init__(self) -> None:
        self.n = 0

    def click(self, locator) -> None:
        self.n += 1
        locator.click()


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_a_newcomer_reaches_an_explained_prediction_of_their_own_model_in_few_clicks(tab, app_server, lang):
    texts = locale("zh-CN" if lang == "zh-CN" else "en")
    page, clicks, t0 = tab(lang), Clicks(), time.monotonic()
    page.goto(app_server["url"])  # the browser's language picks the interface's
    expect(page.get_by_text(texts["home.path"], exact=True)).to_be_visible()
    clicks.click(page.get_by_role("button", name=texts["home.demo_button"]))
    expect(page.get_by_role("heading", name=re.compile(re.escape(texts["title.train"])))).to_be_visible()
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_be_visible(timeout=TRAIN_MS)
    wait_idle(page)
    clicks.click(page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]',
                              has_text=re.compile(rf"{re.escape(texts['nav.predict'])}\s*$")).first)
    words = page.locator(".bm-highlight:not(.bm-ig) .bm-word")  # LIME's highlight of the example sentence
    expect(words.first).to_be_visible(timeout=90_000)
    wait_idle(page)
    seconds = time.monotonic() - t0
    expect(page.get_by_role("heading", name=re.compile(re.escape(texts["title.predict"])))).to_be_visible()
    body = page.locator('[data-testid="stMain"]').inner_text()
    if lang == "zh-CN":
        assert len(CJK.findall(body)) > 50, "the Chinese interface shows Chinese"
        assert "Type a sentence" not in body and "Prediction:" not in body
    weights = [float(w) for w in words.evaluate_all("els => els.map(e => e.dataset.weight)")]
    assert any(w != 0 for w in weights)
    assert clicks.n <= 6 and seconds <= 120, (clicks.n, seconds)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[lang] = {"clicks": clicks.n, "seconds": round(seconds, 1)}
    FIGURES.write_text(json.dumps(figures))
    print(f"newcomer {lang}: {clicks.n} clicks, {seconds:.1f} s")


def test_a_teacher_link_preselects_the_lstm_hides_the_optimizer_and_locks_the_learning_rate(tab, app_server):
    page = tab()
    page.goto(app_server["url"] + "/Train?model=lstm&set.lr=0.005&hide=optimizer&lock=lr")
    expect(page.get_by_role("heading", name="📈 Train")).to_be_visible()
    wait_idle(page)
    expect(page.locator('[data-testid="stCaptionContainer"]', has_text="model lstm").first).to_be_visible()
    page.get_by_text("Training settings", exact=True).click()
    lr = page.get_by_role("spinbutton", name="Learning rate")
    expect(lr).to_be_visible()
    expect(lr).to_be_disabled()
    expect(lr).to_have_value("0.00500")
    expect(page.get_by_role("combobox", name="Optimizer")).to_have_count(0)
    expect(page.get_by_text("Epochs", exact=True)).to_be_visible()  # the rest is there as usual
    e2ehelpers.nav(page, "Model", url_path="Model")  # the link holds on other pages of the session
    expect(page.get_by_role("combobox", name="Architecture")).to_have_value(re.compile(r"^lstm — "))


def _body_font_px(page) -> float:
    return page.evaluate("""() => parseFloat(getComputedStyle(
        document.querySelector('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p')).fontSize)""")


def test_presenter_mode_makes_the_body_text_at_least_half_again_as_large(tab, app_server):
    page = tab()
    page.goto(app_server["url"])
    expect(page.get_by_text("The guided path", exact=True)).to_be_visible()
    wait_idle(page)
    normal = _body_font_px(page)
    page.goto(app_server["url"] + "/?present=1")
    expect(page.get_by_text("The guided path", exact=True)).to_be_visible()
    wait_idle(page)
    large = _body_font_px(page)
    assert large >= 1.5 * normal, (normal, large)


def test_a_chinese_upload_is_explained_with_chinese_words(tab, app_server, tmp_path):
    zh = locale("zh-CN")
    texts, labels = generate_reviews_zh(1200, seed=3)
    upload = tmp_path / "影评.csv"
    with upload.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["评论", "标签"])
        writer.writerows(zip(texts, labels))
    page = tab("zh-CN")
    page.goto(app_server["url"] + "/Data")
    expect(page.get_by_role("heading", name=re.compile(zh["title.data"]))).to_be_visible()
    page.get_by_text(zh["data.text.source.csv"], exact=True).click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    expect(page.get_by_role("combobox", name=zh["data.text.text_column"])).to_have_value("评论", timeout=60_000)
    # the Chinese file reads through: its overview (the class balance) is drawn
    expect(page.locator(".st-key-data_balance .js-plotly-plot")).to_be_visible(timeout=90_000)
    wait_idle(page)
    e2ehelpers.nav(page, zh["nav.train"], url_path="Train")
    page.get_by_role("button", name=zh["train.start"]).click()
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_be_visible(timeout=TRAIN_MS)
    wait_idle(page)
    e2ehelpers.nav(page, zh["nav.predict"], url_path="Predict")
    box = page.get_by_label(zh["predict.text.input"], exact=True)
    box.fill(generate_reviews_zh(5, seed=99)[0][0])
    box.press("Enter")
    wait_idle(page)
    words = page.locator(".bm-highlight:not(.bm-ig) .bm-word")
    expect(words.first).to_be_visible(timeout=60_000)
    shown = words.evaluate_all("els => els.map(e => [e.textContent, parseFloat(e.dataset.weight)])")
    chinese = [(w, x) for w, x in shown if CJK.search(w)]
    assert len(chinese) >= 2 and any(x != 0 for _, x in chinese), shown
    expect(page.get_by_test_id("stException")).to_have_count(0)
