"""LIME for text: the deciding word comes first, results are seeded, bad input is a plain error."""
from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data.text.pipeline import TextPipeline
from bigmodel_core.errors import InputError
from bigmodel_core.explain.lime_text import explain_text, explain_tokens
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.training.run import train_run

CLASSES = ["negative", "positive"]
TEXT = "the film about a zebra was long and the music was loud"


def zebra_proba(token_lists) -> np.ndarray:
    """p(positive) = 0.9 when 'zebra' is among the words, else 0.1."""
    pos = np.array([0.9 if "zebra" in toks else 0.1 for toks in token_lists])
    return np.stack([1 - pos, pos], axis=1)


class ZebraPredictor:
    """The part of a Predictor that explain_text uses, with the zebra rule as its model."""

    class_names = CLASSES

    def __init__(self) -> None:
        self.pipeline = TextPipeline(DataConfig()).fit([TEXT])
        self.calls = 0

    def predict_proba_tokens(self, token_lists):
        self.calls += 1
        return zebra_proba(token_lists)


def test_the_deciding_word_is_ranked_first_with_a_positive_weight():
    exp = explain_text(ZebraPredictor(), TEXT, num_samples=500, seed=0)
    assert exp.label == CLASSES.index("positive")
    word, weight = exp.top(k=1)[0]
    assert word == "zebra" and weight > 0.5
    others = [abs(w) for t, w in zip(exp.tokens, exp.weights[exp.label]) if t != "zebra"]
    assert max(others) < 0.1 * weight
    assert exp.score > 0.9  # the local linear model mimics the rule well
    assert exp.probabilities == pytest.approx([0.1, 0.9])


def test_the_other_class_gets_the_opposite_weight():
    exp = explain_text(ZebraPredictor(), TEXT, num_samples=500, seed=0)
    neg = exp.weights[CLASSES.index("negative")]
    assert exp.top(label=0, k=1)[0][0] == "zebra"
    assert neg[exp.tokens.index("zebra")] < -0.5


def test_a_chosen_label_is_explained_even_when_not_predicted():
    exp = explain_text(ZebraPredictor(), TEXT, num_samples=300, seed=0, label="negative")
    assert exp.label == 0
    assert exp.to_dict()["label"] == "negative"
    assert exp.top(k=1)[0] == ("zebra", pytest.approx(exp.weights[0][exp.tokens.index("zebra")]))
    assert exp.top(k=1)[0][1] < 0


def test_all_samples_are_scored_in_one_batch():
    predictor = ZebraPredictor()
    explain_text(predictor, TEXT, num_samples=200, seed=0)
    assert predictor.calls == 1


def test_same_seed_gives_identical_weights_and_another_seed_different_ones():
    tokens = TEXT.split()
    a = explain_tokens(zebra_proba, tokens, CLASSES, num_samples=300, seed=1)
    b = explain_tokens(zebra_proba, tokens, CLASSES, num_samples=300, seed=1)
    c = explain_tokens(zebra_proba, tokens, CLASSES, num_samples=300, seed=2)
    assert a.weights == b.weights
    assert a.weights != c.weights
    assert c.top(k=1)[0][0] == "zebra"


def test_a_single_word_text_can_be_explained():
    # (as in lime, the empty sample is far away and weighs little, so the weight is small, but it points the right way)
    exp = explain_tokens(zebra_proba, ["zebra"], CLASSES, num_samples=200, seed=0)
    assert exp.tokens == ["zebra"] and exp.label == 1
    assert exp.weights[1][0] > 0


def test_explanation_is_json_for_the_ui_and_cli():
    exp = explain_text(ZebraPredictor(), TEXT + " okapi", num_samples=200, seed=0)
    d = exp.to_dict()
    json.dumps(d)
    assert [w["token"] for w in d["weights"]] == exp.tokens
    assert d["label"] == "positive" and set(d["probabilities"]) == set(CLASSES)
    assert exp.known == [t != "okapi" for t in exp.tokens]


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_an_input_error(text):
    with pytest.raises(InputError) as err:
        explain_text(ZebraPredictor(), text)
    assert err.value.hint


def test_text_with_no_words_left_after_cleaning_is_an_input_error():
    with pytest.raises(InputError) as err:
        explain_text(ZebraPredictor(), "<br /> http://example.com")
    assert err.value.hint


def test_label_that_is_not_a_class_is_an_input_error():
    with pytest.raises(InputError) as err:
        explain_text(ZebraPredictor(), TEXT, label="neutral")
    assert "neutral" in err.value.message
    assert "negative" in err.value.hint and "positive" in err.value.hint


def test_lime_finds_the_word_a_trained_model_relies_on(tmp_path, isolated_home):
    """End to end: a bag of embeddings learns that 'zebra' means positive, and LIME says so."""
    rng = random.Random(0)
    filler = "the a film story plot music cast was and very quite long short loud".split()
    rows = []
    for i in range(240):
        words = rng.sample(filler, rng.randint(3, 8))
        positive = i % 2 == 0
        if positive:
            words.insert(rng.randint(0, len(words)), "zebra")
        rows.append((" ".join(words), "positive" if positive else "negative"))
    path = tmp_path / "zebra.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    from bigmodel_core.config import ModelConfig, RunConfig, TrainConfig

    cfg = RunConfig(DataConfig(spec=f"csv:{path}"), ModelConfig("bag_of_embeddings", {"embed_dim": 16, "hidden": 16}),
                    TrainConfig(epochs=6, batch_size=16, lr=1e-2, weight_decay=0.0, schedule="constant"))
    info = train_run(cfg)
    assert info.metrics["val_accuracy"] >= 0.95
    predictor = load_bundle(info.id)
    exp = explain_text(predictor, "the film was long and zebra music", num_samples=400, seed=0)
    assert exp.class_names[exp.label] == "positive"
    word, weight = exp.top(k=1)[0]
    assert word == "zebra" and weight > 0
