"""A new user in a real browser: Embeddings -> train Word2Vec -> neighbours, analogy, a 3-D word map, find a word."""
from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from test_new_user_flow import nav, wait_idle

EPOCHS = 3
TRAIN_TIMEOUT_S = 60  # 3 epochs on the 6,000 built-in reviews took ~10 s here, with the page drawing around it
SLOW_MS = 30_000  # placing 400 words on the map (PCA + class lean) after a change took a few seconds here
SEARCHED = "boring"

# What the plotly chart titled `title` holds: its traces (type, name, points, labels) and whether a WebGL scene is drawn.
PLOT_JS = """(title) => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(
        d => d._fullLayout && d._fullLayout.title && String(d._fullLayout.title.text || '').includes(title));
    if (!plot || !plot._fullData || !plot._fullData.length) return null;
    const canvases = [...plot.querySelectorAll('.gl-container canvas')];
    return {
        traces: plot._fullData.map(t => ({type: t.type, name: t.name, n: t.x ? t.x.length : 0,
                                          text: Array.isArray(t.text) ? t.text : []})),
        scene: !!(plot._fullLayout.scene && plot._fullLayout.scene._scene),
        gl_canvas: canvases.some(c => c.width > 0 && c.height > 0),
    };
}"""


def plot(page: Page, title: str) -> dict | None:
    return page.evaluate(PLOT_JS, title)


def wait_for_plot(page: Page, title: str, condition: str, timeout_ms: int = SLOW_MS) -> dict:
    """Wait until the plot titled `title` exists and `condition` (JS on `p`, the PLOT_JS object) holds; return it."""
    page.wait_for_function(f"(title) => {{ const p = ({PLOT_JS})(title); return !!p && ({condition}); }}",
                           arg=title, timeout=timeout_ms)
    return plot(page, title)


def table_rows(page: Page, label: str, count: int) -> list[list[str]]:
    """The `count` rows of the dataframe drawn in the same column as the text box `label` (glide's accessible
    table, which fills in a moment after the frame appears: waited for)."""
    column = page.get_by_test_id("stColumn").filter(has=page.get_by_label(label, exact=True))
    frame = column.get_by_test_id("stDataFrame")
    expect(frame).to_have_count(1)
    expect(frame.locator("tbody tr")).to_have_count(count)
    return frame.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))")


def test_new_user_trains_word2vec_and_explores_the_vectors(page: Page, app_server):
    timings = {}
    t0 = time.monotonic()

    # Embeddings: no vectors yet, so the training panel is open and says how to start
    page.goto(app_server["url"])
    nav(page, "Embeddings")
    expect(page.get_by_role("heading", name=re.compile(r"Word embeddings$"))).to_be_visible()
    expect(page.get_by_text("No word vectors yet")).to_be_visible()
    panel = page.get_by_test_id("stExpander").filter(has_text="Train Word2Vec on the current texts")
    expect(panel.locator("details")).to_have_attribute("open", "")
    epochs = panel.get_by_label("Epochs", exact=True)
    expect(epochs).to_have_value("10")
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    wait_idle(page)
    expect(epochs).to_have_value(str(EPOCHS))

    # Train: the vectors are saved and the loss is drawn once per epoch
    panel.get_by_role("button", name="▶ Train Word2Vec").click()
    t_train = time.monotonic()
    saved = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Saved vectors")
    expect(saved).to_be_attached(timeout=TRAIN_TIMEOUT_S * 1000)
    timings["training_s"] = round(time.monotonic() - t_train, 1)
    # The map below is drawn once the vectors exist: a 3-D scatter ('Dimensions' is 3 by default) with points
    word_map = wait_for_plot(page, "Word map", "p.traces[0].type === 'scatter3d' && p.traces[0].n > 0")
    wait_idle(page)
    expect(panel.locator("details")).to_have_attribute("open", "")  # the panel stays open: the result is in view
    expect(saved).to_be_visible()
    saved_text = re.search(r"Saved vectors .*", saved.inner_text()).group(0)
    vocab = int(re.search(r"([\d,]+) words × 50", saved_text).group(1).replace(",", ""))
    assert vocab > 500, saved_text
    expect(panel.get_by_test_id("stProgress")).to_contain_text(f"Epoch {EPOCHS} of {EPOCHS}")
    loss = wait_for_plot(page, "Word2Vec training loss per epoch", f"p.traces[0].n === {EPOCHS}", 5_000)
    assert loss["traces"][0]["type"] == "scatter", loss
    loss_chart = page.locator(".js-plotly-plot", has_text="Word2Vec training loss per epoch")
    expect(loss_chart).to_have_count(1)  # a stale copy from the live progress may linger for a moment
    expect(loss_chart).to_be_visible()
    expect(page.get_by_role("combobox", name="Vectors")).to_be_visible()

    # Nearest neighbours of 'good': ten other words with their cosine similarity
    expect(page.get_by_label("Nearest neighbours of", exact=True)).to_have_value("good")
    near = table_rows(page, "Nearest neighbours of", 10)
    assert len(near) == 10, near
    assert all(w and w != "good" and -1.0 <= float(s) <= 1.0 for w, s in near), near
    sims = [float(s) for _, s in near]
    assert sims == sorted(sims, reverse=True), near

    # Analogy: the default 'great - good + bad' has answers, none of them an input word
    expect(page.get_by_label("Analogy (a − b + c)", exact=True)).to_have_value("great - good + bad")
    answers = table_rows(page, "Analogy (a − b + c)", 5)
    assert len(answers) == 5, answers
    assert all(w and w not in {"great", "good", "bad"} and -1.0 <= float(s) <= 1.0 for w, s in answers), answers

    # The word map: a WebGL 3-D scene with the 400 most frequent words, 'good' joined to its neighbours
    expect(page.get_by_test_id("stRadio").filter(has_text="Dimensions").get_by_role("radio", name="3")).to_be_checked()
    assert word_map["scene"] and word_map["gl_canvas"], f"no WebGL 3-D scene in the word map: {word_map}"
    assert word_map["traces"][0]["name"] == "words" and word_map["traces"][0]["n"] == 400, word_map["traces"][0]["n"]
    joined = [t for t in word_map["traces"] if t["name"] == "'good' and neighbours"]
    assert joined and joined[0]["n"] == 11 and "good" in joined[0]["text"], [t["name"] for t in word_map["traces"]]
    expect(page.locator(".js-plotly-plot", has_text="Word map (PCA, 400 words)")).to_be_visible()

    # Find a word on the map: it is added as an orange 'searched words' trace
    box = page.get_by_label("Find words on the map", exact=True)
    box.fill(SEARCHED)
    box.press("Enter")
    word_map = wait_for_plot(page, "Word map", f"""p.traces[0].type === 'scatter3d' &&
        p.traces.some(t => t.name === 'searched words' && t.text.includes('{SEARCHED}'))""")
    wait_idle(page)
    searched = next(t for t in word_map["traces"] if t["name"] == "searched words")
    assert searched["type"] == "scatter3d" and searched["n"] == 1, searched
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)  # the word is in the vocabulary

    # Two dimensions: the same map as a flat (SVG) scatter, the searched word still marked
    page.get_by_test_id("stRadio").filter(has_text="Dimensions").get_by_text("2", exact=True).click()
    word_map = wait_for_plot(page, "Word map", f"""p.traces[0].type === 'scatter' && p.traces[0].n > 0 &&
        p.traces.some(t => t.name === 'searched words' && t.text.includes('{SEARCHED}'))""")
    wait_idle(page)
    assert not word_map["scene"] and word_map["traces"][0]["n"] == 400, word_map["traces"][0]
    assert all(t["type"] == "scatter" for t in word_map["traces"]), {t["type"] for t in word_map["traces"]}

    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    timings["total_s"] = round(time.monotonic() - t0, 1)
    print(f"timings: {timings}; {saved_text}; neighbours of 'good': {[w for w, _ in near]}; "
          f"great - good + bad: {[w for w, _ in answers]}")
