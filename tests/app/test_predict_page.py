"""Predict page: a saved run gives a verdict, class probabilities and a LIME word highlight."""
import re
import shutil

import pytest
import streamlit as st
from apphelpers import charts, texts

WORD = re.compile(r'<span class="bm-word" data-weight="(-?[\d.]+)"[^>]*>([^<]*)</span>')


def highlight(at) -> list[tuple[str, float]]:
    """(word, weight) of each highlighted word, in sentence order."""
    html = next(t for t in texts(at.markdown) if 'class="bm-highlight"' in t)
    return [(word, float(w)) for w, word in WORD.findall(html)]


@pytest.fixture
def predict_page(open_page, trained_run):
    trained_run("tiny-lstm")
    return open_page("predict")


def test_without_a_trained_model_the_page_says_train_first(open_page):
    at = open_page("predict")
    assert texts(at.info) == ["There is no trained model yet. Train one on the Train page first."]
    assert [link.proto.page for link in at.main.get("page_link")] == ["Train"]
    assert not at.text_input


def test_a_sentence_gets_a_prediction_and_probabilities(predict_page):
    at = predict_page
    assert at.selectbox(key="predict_run_pick").value == "tiny-lstm"
    assert at.text_input(key="predict_text").value == "not good at all, a boring film"
    [verdict] = [t for t in texts(at.markdown) if t.startswith("### Prediction:")]
    label = re.fullmatch(r"### Prediction: \*\*(\w+)\*\*", verdict).group(1)
    assert label in ("negative", "positive")
    probs = charts(at)["predict_probs"]["data"][0]
    assert sorted(probs["y"]) == ["negative", "positive"]
    assert sum(probs["x"]) == pytest.approx(1.0, abs=1e-4)
    assert probs["y"][probs["x"].index(max(probs["x"]))] == label  # the verdict is the likeliest class


def test_lime_highlights_every_word_with_a_weight(predict_page):
    at = predict_page
    words = highlight(at)
    assert [w for w, _ in words] == ["not", "good", "at", "all", ",", "a", "boring", "film"]
    assert any(abs(weight) > 0 for _, weight in words)
    assert any("pushes toward" in t for t in texts(at.markdown))  # the colour legend
    bars = charts(at)["predict_weights"]["data"][0]
    assert 0 < len(bars["y"]) <= 8


def test_a_new_sentence_is_predicted_and_explained(predict_page):
    at = predict_page
    at.text_input(key="predict_text").set_value("a warm and moving story").run()
    assert not at.exception
    assert [w for w, _ in highlight(at)] == ["a", "warm", "and", "moving", "story"]


def test_words_never_seen_in_training_are_pointed_out(predict_page):
    at = predict_page
    at.text_input(key="predict_text").set_value("a zzyzxq film").run()
    assert not at.exception
    assert any("`zzyzxq`" in t and "never saw" in t for t in texts(at.caption))


def test_the_same_seed_gives_the_same_explanation(predict_page):
    at = predict_page
    first = highlight(at)
    at.run()
    assert highlight(at) == first


def test_an_empty_sentence_is_a_plain_error(predict_page):
    at = predict_page
    at.text_input(key="predict_text").set_value("   ").run()
    assert not at.exception
    assert texts(at.error) == ["The text to classify is empty."]
    assert len(at.info) == 1 and "Type a sentence" in at.info[0].value
    assert all(e.label != "Technical details" for e in at.expander)
    assert not any(t.startswith("### Prediction:") for t in texts(at.markdown))


def test_the_run_just_trained_is_preselected(open_page, trained_run):
    trained_run("run-1")
    trained_run("run-2")  # listed first (newest first)
    at = open_page("predict", predict_run="run-1")  # what the Train page hands over when a run finishes
    pick = at.selectbox(key="predict_run_pick")
    assert pick.value == "run-1" and len(pick.options) == 2


def test_a_run_deleted_after_it_was_listed_is_a_plain_error(open_page, trained_run, workspace, monkeypatch):
    trained_run("tiny-lstm")
    at = open_page("predict")
    from bigmodel_core.runs import store
    from ui import run_list

    listing = store.scan_runs()
    shutil.rmtree(workspace / "runs" / "tiny-lstm")  # e.g. deleted from another window or the CLI
    monkeypatch.setattr(run_list, "scan_runs", lambda home=None, task=None: listing)  # the page had listed it just before
    st.cache_resource.clear()  # the model is not in memory any more either
    at.run()
    assert not at.exception
    assert texts(at.error) == ["The run 'tiny-lstm' does not exist (it may have been deleted)."]
    assert texts(at.info) == ["Pick another run from the list, or train a new one."]
    assert all(e.label != "Technical details" for e in at.expander)


def test_a_run_with_missing_files_is_a_plain_error(open_page, trained_run, workspace):
    trained_run("broken")
    trained_run("good")
    at = open_page("predict", predict_run="good")
    (workspace / "runs" / "broken" / "weights.safetensors").unlink()
    at.selectbox(key="predict_run_pick").set_value("broken").run()
    assert not at.exception
    assert texts(at.error) == ["The run 'broken' could not be loaded: FileNotFoundError."]
    assert texts(at.info) == ["Its files may be incomplete; delete it and train it again."]


def test_deleting_the_selected_run_falls_back_to_another_one(open_page, trained_run, workspace):
    trained_run("first")
    trained_run("second")
    at = open_page("predict", predict_run="second")
    assert at.selectbox(key="predict_run_pick").value == "second"
    shutil.rmtree(workspace / "runs" / "second")
    at.run()
    assert not at.exception
    pick = at.selectbox(key="predict_run_pick")
    assert pick.value == "first" and len(pick.options) == 1
    assert any(t.startswith("### Prediction:") for t in texts(at.markdown))


def test_deleting_the_only_run_says_train_first(predict_page, workspace):
    at = predict_page
    shutil.rmtree(workspace / "runs" / "tiny-lstm")
    at.run()
    assert not at.exception
    assert texts(at.info) == ["There is no trained model yet. Train one on the Train page first."]


def _highlight_of(at, css_class: str) -> list[tuple[str, float]]:
    html = next(t for t in texts(at.markdown) if f'class="bm-highlight {css_class}"' in t)
    return [(word, float(w)) for w, word in WORD.findall(html)]


def test_integrated_gradients_scores_every_word_beside_lime(predict_page):
    at = predict_page
    words = _highlight_of(at, "bm-ig")
    assert [w for w, _ in words] == ["not", "good", "at", "all", ",", "a", "boring", "film"]
    assert any(abs(weight) > 0 for _, weight in words)
    assert len(charts(at)["predict_ig_weights"]["data"][0]["y"]) > 0
    assert any("off by" in t for t in texts(at.caption))  # how well the scores add up


def test_the_agreement_of_lime_and_gradients_is_a_rank_correlation(predict_page):
    at = predict_page
    [metric] = [m for m in at.metric if m.label == "LIME vs Integrated gradients"]
    assert metric.value == "n/a" or -1.0 <= float(metric.value) <= 1.0
    assert any("different questions" in t for t in texts(at.caption))
    assert not [m for m in at.metric if "Attention" in m.label]  # an LSTM has no attention
    assert "predict_att_layer" not in [s.key for s in at.selectbox]  # nor a layer picker


def test_a_transformer_run_shows_attention_per_layer_and_head(open_page, workspace):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    from apphelpers import SMALL_DATA

    train_run(RunConfig(DataConfig(**SMALL_DATA), ModelConfig("transformer", {"dim": 16, "heads": 2, "layers": 2, "ff": 32}),
                        TrainConfig(epochs=1, batch_size=32), name="tiny-transformer"), home=workspace)
    at = open_page("predict")
    words = _highlight_of(at, "bm-attention")
    assert [w for w, _ in words] == ["not", "good", "at", "all", ",", "a", "boring", "film"]
    assert sum(w for _, w in words) == pytest.approx(1.0, abs=0.01)  # rollout shares out all attention
    assert {m.label for m in at.metric} >= {"LIME vs Attention", "Integrated gradients vs Attention"}
    heat = charts(at)["predict_attention"]
    rows = heat["data"][0]["z"]
    assert len(rows) == 8 and all(sum(r) == pytest.approx(1.0, abs=1e-3) for r in rows)  # each word's attention sums to 1
    assert heat["layout"]["title"]["text"] == "Layer 1, mean of all heads"
    assert at.selectbox(key="predict_att_layer").options == ["1", "2"]
    at.selectbox(key="predict_att_layer").set_value(2)
    at.selectbox(key="predict_att_head").set_value("head 2").run()
    assert not at.exception
    heat2 = charts(at)["predict_attention"]
    assert heat2["layout"]["title"]["text"] == "Layer 2, head 2"
    assert heat2["data"][0]["z"] != rows


def test_the_class_to_explain_follows_a_new_sentence(predict_page):
    at = predict_page
    predicted = at.selectbox(key="predict_label").value
    other = next(c for c in ("negative", "positive") if c != predicted)
    at.selectbox(key="predict_label").set_value(other).run()  # the user asks about the other class
    assert at.selectbox(key="predict_label").value == other
    at.text_input(key="predict_text").set_value("a warm , moving and wonderful story").run()
    [verdict] = [t for t in texts(at.markdown) if t.startswith("### Prediction:")]
    assert at.selectbox(key="predict_label").value == verdict.split("**")[1]  # a new sentence: its own prediction
