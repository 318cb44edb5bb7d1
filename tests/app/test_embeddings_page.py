"""Embeddings page: train Word2Vec from the page, then neighbours, analogies and the word map."""
import time

from streamlit.testing.v1 import AppTest


def _open(tmp_path, monkeypatch) -> AppTest:
    import streamlit as st

    monkeypatch.setenv("BIGMODEL_HOME", str(tmp_path))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    at.session_state["data_cfg"] = {"spec": "builtin:synthetic_reviews", "max_rows": 1500}
    return at.switch_page("pages/6_Embeddings.py").run()


def _train_and_wait(at: AppTest, timeout: float = 90) -> None:
    """Press Train Word2Vec and rerun the page (AppTest never fires run_every) until the vectors are saved."""
    at.button(key="emb_train").click().run()
    deadline = time.monotonic() + timeout
    while not any("Saved vectors" in s.value for s in at.success) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()


def test_embeddings_page_trains_word2vec_and_shows_neighbours_analogy_and_map(tmp_path, monkeypatch):
    at = _open(tmp_path, monkeypatch)
    assert any("No word vectors yet" in i.value for i in at.info)
    at.number_input(key="emb_epochs").set_value(3).run()
    _train_and_wait(at)
    assert not at.exception
    assert any("Saved vectors" in s.value for s in at.success)
    neighbours = at.dataframe[0].value
    assert list(neighbours.columns) == ["word", "cosine similarity"] and len(neighbours) == 10
    assert "good" not in set(neighbours["word"])  # the word itself is not its own neighbour
    analogy = at.dataframe[1].value
    assert len(analogy) == 5 and not {"great", "good", "bad"} & set(analogy["word"])  # inputs excluded
    charts = at.get("plotly_chart")
    assert any('"Word map' in c.proto.spec for c in charts)


def test_unknown_word_gets_a_plain_error_with_a_hint(tmp_path, monkeypatch):
    at = _open(tmp_path, monkeypatch)
    at.number_input(key="emb_epochs").set_value(2).run()
    _train_and_wait(at)
    at.text_input(key="emb_word").set_value("zzzzq").run()
    assert not at.exception
    assert any("not in the vocabulary" in e.value for e in at.error)
    assert at.info and at.info[-1].value


def test_embeddings_page_asks_for_text_data_when_images_are_chosen(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("BIGMODEL_HOME", str(tmp_path))
    st.cache_resource.clear()
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    at.session_state["data_cfg"] = {"spec": "builtin:digits"}
    at.switch_page("pages/6_Embeddings.py").run()
    assert not at.exception and any("learned from texts" in i.value for i in at.info)
