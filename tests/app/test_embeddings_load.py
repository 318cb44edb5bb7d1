"""Embeddings page: load GloVe / word2vec vectors (a path, the cached GloVe download) and find words on the map."""
import json

import numpy as np
import pytest

GROUPS = {"good": ["great", "fine", "nice", "superb"], "bad": ["awful", "poor", "boring", "dull"],
          "film": ["movie", "story", "plot", "scene"]}


def _glove_lines(dim: int = 6, seed: int = 0) -> list[str]:
    """Three tight clusters of words (plus noise), as GloVe text lines."""
    rng = np.random.default_rng(seed)
    lines = []
    for centre_word, members in GROUPS.items():
        centre = rng.standard_normal(dim) * 3
        for w in [centre_word, *members]:
            lines.append(" ".join([w, *(f"{v:.5f}" for v in centre + rng.standard_normal(dim) * 0.1)]))
    return lines


def _load_by_path(at, path, text: str):
    """Write `text` to `path` and load it with the page's 'path of a file' box."""
    path.write_text(text, encoding="utf-8")
    at.text_input(key="emb_path").set_value(str(path)).run()
    return at.button(key="emb_path_go").click().run()


@pytest.fixture
def embeddings_page(open_page):
    return open_page(None, data_cfg={"spec": "builtin:synthetic_reviews", "max_rows": 600}).switch_page(
        "pages/6_Embeddings.py").run()


def test_a_glove_file_loaded_by_path_becomes_the_chosen_vectors(embeddings_page, tmp_path):
    at = embeddings_page
    _load_by_path(at, tmp_path / "tiny.glove.txt", "\n".join(_glove_lines()) + "\n")
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("Loaded vectors") for s in at.success)
    assert "15 words × 6" in at.selectbox(key="emb_pick").format_func(at.selectbox(key="emb_pick").value)
    near = at.dataframe[0].value
    assert set(near["word"][:4]) == set(GROUPS["good"])  # the cluster of 'good' comes first


def test_a_broken_vectors_file_is_a_plain_error_and_saves_nothing(embeddings_page, tmp_path, workspace):
    at = embeddings_page
    _load_by_path(at, tmp_path / "broken.txt", "good 0.1 0.2 0.3\nbad 0.1 0.2\n")
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("Line 2 of broken.txt")
    assert at.info  # with a hint
    assert not (workspace / "vectors").exists() or not list((workspace / "vectors").iterdir())  # nothing half-saved


def test_a_missing_file_path_is_a_plain_error(embeddings_page, tmp_path):
    at = embeddings_page
    at.text_input(key="emb_path").set_value(str(tmp_path / "nope.txt")).run()
    at.button(key="emb_path_go").click().run()
    assert not at.exception
    assert any("nope.txt" in e.value for e in at.error)


def test_an_already_downloaded_glove_loads_without_internet(embeddings_page, workspace):
    at = embeddings_page
    cache = workspace / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "glove.6B.50d.txt").write_text("\n".join(_glove_lines(dim=50)) + "\n", encoding="utf-8")
    at.run()
    assert at.button(key="emb_glove_go").label == "Load GloVe 50d"
    at.button(key="emb_glove_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    meta = json.loads(next((workspace / "vectors").glob("*/meta.json")).read_text())
    assert meta["kind"] == "glove" and meta["dim"] == 50 and meta["title"].startswith("GloVe 6B 50d")
    at.button(key="emb_glove_go").click().run()  # loading again reuses the saved set
    assert len(list((workspace / "vectors").glob("*/meta.json"))) == 1


def test_searched_words_are_marked_on_the_map_and_unknown_ones_get_a_suggestion(embeddings_page, tmp_path):
    at = embeddings_page
    _load_by_path(at, tmp_path / "tiny.glove.txt", "\n".join(_glove_lines()) + "\n")
    at.slider(key="emb_n").set_value(50)
    at.text_input(key="emb_search").set_value("boring, movie, borring").run()
    assert not at.exception, [e.value for e in at.exception]
    spec = json.loads(next(c.proto.spec for c in at.get("plotly_chart") if '"Word map' in c.proto.spec))
    [found] = [t for t in spec["data"] if t.get("name") == "searched words"]
    assert sorted(found["text"]) == ["boring", "movie"]
    assert any("'borring' is not in the vocabulary" in w.value and "boring" in w.value for w in at.warning)


def test_a_second_loaded_set_becomes_the_chosen_one(embeddings_page, tmp_path):
    at = embeddings_page
    for name, dim in (("first.txt", 6), ("second.txt", 4)):
        _load_by_path(at, tmp_path / name, "\n".join(_glove_lines(dim=dim)) + "\n")
        assert not at.exception, [e.value for e in at.exception]
        pick = at.selectbox(key="emb_pick")
        assert f"15 words × {dim}" in pick.format_func(pick.value)  # the set just loaded is shown
