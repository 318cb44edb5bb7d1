"""A new user in a real browser: home -> Data -> Model -> Train (watch it learn) -> Predict (see why)."""
from __future__ import annotations

import csv
import re
import shutil
import time

import e2ehelpers
from playwright.sync_api import Page, expect

SENTENCE = "not good at all, a boring film"
TRAIN_TIMEOUT_S = 150  # default settings (8 epochs on the 6,000 built-in reviews) took 38-48 s on a busy 2-core machine


def nav(page: Page, name: str) -> None:
    """Click a page in the sidebar: unlike typing a URL, this keeps the browser's Streamlit session."""
    e2ehelpers.nav(page, name, url_path=name)


def wait_idle(page: Page, timeout_s: float = 60) -> None:
    """Wait until the script run that the last action started has finished drawing."""
    page.wait_for_timeout(300)  # let the rerun start
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=timeout_s * 1000)


def progress_step(page: Page) -> int:
    text = page.get_by_test_id("stProgress").first.inner_text()
    return int(re.search(r"Step ([\d,]+) of", text).group(1).replace(",", ""))


def loss_points(page: Page) -> int:
    """Points in the first trace of the live 'loss per batch' chart."""
    return page.evaluate("""() => {
        const plot = document.querySelector('[class*="st-key-train_steps_"] .js-plotly-plot');
        return plot && plot.data && plot.data.length ? plot.data[0].x.length : 0;
    }""")


def screenshot(page: Page, path, height: int) -> None:
    """Streamlit scrolls inside its own container, so a 'full page' shot is the viewport: make it tall."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(800)  # plotly charts redraw at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def test_new_user_trains_a_model_and_explains_a_prediction(page: Page, app_server, tmp_path):
    timings = {}
    t0 = time.monotonic()

    # Home: what the app is and the guided path
    page.goto(app_server["url"])
    expect(page.get_by_role("heading", name="🧠 BigModel Lab")).to_be_visible()
    expect(page.get_by_text("The guided path")).to_be_visible()
    expect(page.get_by_role("button", name="▶ Run the demo")).to_be_visible()

    # Data: the built-in reviews are the default and the page says what is in them
    nav(page, "Data")
    expect(page.get_by_text("Vocabulary", exact=True)).to_be_visible()
    expect(page.get_by_role("radio", name="Built-in movie reviews (offline)")).to_be_checked()
    expect(page.get_by_text("synthetic", exact=False).first).to_be_visible()
    expect(page.locator(".js-plotly-plot").filter(visible=True)).to_have_count(2)  # the course box is closed

    # Model: the LSTM is chosen
    nav(page, "Model")
    expect(page.get_by_text("Parameters", exact=True)).to_be_visible()
    expect(page.get_by_role("combobox", name="Architecture")).to_have_value(re.compile(r"^lstm — "))
    timings["to_train_page_s"] = time.monotonic() - t0

    # Train: press Train and watch the loss chart and the step counter move
    nav(page, "Train")
    page.get_by_role("button", name="▶ Train").click()
    t_train = time.monotonic()
    expect(page.get_by_test_id("stProgress").filter(has_text=re.compile(r"Step [\d,]+ of"))).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="▶ Train")).to_be_disabled()
    page.wait_for_function("""() => {
        const plot = document.querySelector('[class*="st-key-train_steps_"] .js-plotly-plot');
        return plot && plot.data && plot.data.length && plot.data[0].x.length > 0;
    }""")
    step1, points1 = progress_step(page), loss_points(page)
    page.wait_for_timeout(3000)
    step2, points2 = progress_step(page), loss_points(page)
    assert step2 > step1, f"the step counter did not move in 3 s ({step1} -> {step2})"
    assert points2 > points1 > 0, f"the live loss chart did not gain points in 3 s ({points1} -> {points2})"

    finished = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Finished:")
    expect(finished).to_be_visible(timeout=TRAIN_TIMEOUT_S * 1000)
    timings["training_s"] = time.monotonic() - t_train
    wait_idle(page)
    expect(page.get_by_text("Confusion matrix (validation)")).to_be_visible()
    train_png = tmp_path / "train.png"
    screenshot(page, train_png, height=1750)
    shutil.copy(train_png, "/tmp/bigmodel_train.png")

    # Predict: type a sentence, see the verdict and the words behind it
    nav(page, "Predict")
    expect(page.get_by_text(re.compile(r"^Prediction: "))).to_be_visible()
    box = page.get_by_label("Type a sentence", exact=True)
    box.fill(SENTENCE)
    box.press("Enter")
    wait_idle(page)
    verdict = page.get_by_role("heading", name=re.compile(r"^Prediction: "))
    words = page.locator(".bm-highlight:not(.bm-ig) .bm-word")  # LIME's highlight
    expect(words).to_have_count(8)  # not good at all , a boring film
    expect(page.locator(".bm-ig .bm-word")).to_have_count(8)  # Integrated Gradients beside it
    weights = {w["text"]: float(w["weight"]) for w in words.evaluate_all(
        "els => els.map(e => ({text: e.textContent, weight: e.dataset.weight}))")}
    probs = page.locator(".st-key-predict_probs .js-plotly-plot").evaluate("d => ({y: d.data[0].y, x: d.data[0].x})")
    assert verdict.inner_text().strip() == "Prediction: negative", (verdict.inner_text(), probs)
    for word in ("not", "good", "boring"):
        assert word in weights and weights[word] != 0.0, (word, weights)
    box.blur()
    predict_png = tmp_path / "predict.png"
    screenshot(page, predict_png, height=1250)
    shutil.copy(predict_png, "/tmp/bigmodel_predict.png")

    timings["total_s"] = time.monotonic() - t0
    print(f"timings: {timings}; probabilities {probs}; LIME weights {weights}")


def test_an_upload_is_kept_when_the_user_moves_on_while_the_page_still_reads_it(page: Page, app_server, tmp_path):
    """A class uploads a big file and clicks on to Train as soon as its columns show: the Train page
    trains on their file, not on the built-in set (the Data page reads 80,000 rows for seconds)."""
    from bigmodel_core.data.text.synthetic import generate_reviews

    big = tmp_path / "class_reviews.csv"
    texts, labels = generate_reviews(80_000, seed=1)
    with open(big, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review", "label"])
        writer.writerows(zip(texts, labels))
    page.goto(f"{app_server['url']}/Data")
    page.get_by_text("Upload my own file").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(big))
    expect(page.get_by_role("combobox", name="Text column")).to_have_value("review", timeout=60_000)
    nav(page, "Train")  # at once: the page is still reading the file through
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="Data ")
    expect(caption.first).to_contain_text("class_reviews.csv", timeout=60_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_uploading_a_table_detects_its_columns_and_a_bad_file_is_explained(page: Page, app_server, tmp_path):
    good = tmp_path / "my_reviews.csv"
    with open(good, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review", "sentiment", "id"])
        writer.writerows([f"{'a warm, moving story' if i % 2 else 'a dull and silly plot'} number {i}",
                          "pos" if i % 2 else "neg", i] for i in range(50))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("text,label\ncaf\xe9 tr\xe8s bon,pos\nmauvais,neg\n".encode("latin-1"))

    page.goto(f"{app_server['url']}/Data")  # a fresh session is fine here
    page.get_by_text("Upload my own file").click()
    expect(page.get_by_text("Upload a file to continue")).to_be_visible()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(good))
    expect(page.get_by_text("50 rows. We guessed the columns")).to_be_visible()
    expect(page.get_by_role("combobox", name="Text column")).to_have_value("review")
    expect(page.get_by_role("combobox", name="Label column")).to_have_value("sentiment")
    classes = page.get_by_test_id("stMetric").filter(has_text="Classes")
    expect(classes).to_contain_text("2")

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("is not UTF-8")
    expect(page.get_by_test_id("stAlertContentInfo").filter(has_text="CSV UTF-8")).to_be_visible()
    expect(page.get_by_text("Technical details")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # the message names the file the user chose, not the name it is stored under in the workspace
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("The file 'latin1.csv' is not UTF-8")
