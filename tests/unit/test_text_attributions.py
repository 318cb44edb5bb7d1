"""Inside a text model: Integrated Gradients per word, Transformer attention, and how much the methods agree."""
from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from threads import repeated_in_another_thread

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.data.text.pipeline import PAD_ID
from bigmodel_core.errors import InputError
from bigmodel_core.explain.text_attributions import (
    attention_rollout,
    attention_text,
    integrated_gradients_text,
    rank_agreement,
)
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.training.run import train_run

FILLER = ["the", "a", "film", "story", "plot", "music", "cast", "was", "and", "very", "quite", "long", "short", "loud"]
ZEBRA_TEXT = "the film was long and zebra music"
SMALL = {
    "lstm": {"embed_dim": 16, "hidden": 16},
    "textcnn": {"embed_dim": 16, "filters": 8, "widths": [1, 2]},
    "transformer": {"dim": 16, "heads": 2, "layers": 2, "ff": 32, "dropout": 0.0},
}


def zebra_csv(path: Path, n: int = 240, seed: int = 0) -> Path:
    """Texts of filler words; the label is positive exactly when 'zebra' is among them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = rng.sample(FILLER, rng.randint(3, 8))
        positive = i % 2 == 0
        if positive:
            words.insert(rng.randint(0, len(words)), "zebra")
        rows.append((" ".join(words), "positive" if positive else "negative"))
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def zebra_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small run per model family, trained on the zebra texts in a workspace of this module."""
    home = tmp_path_factory.mktemp("zebra_home")
    data = zebra_csv(home / "zebra.csv")
    runs = {}
    for name, params in SMALL.items():
        cfg = RunConfig(DataConfig(spec=f"csv:{data}"), ModelConfig(name, params),
                        TrainConfig(epochs=4, batch_size=16, lr=1e-2, weight_decay=0.0, schedule="constant"), name=f"zebra-{name}")
        info = train_run(cfg, home=home)
        runs[name] = info
    return {"home": home, "runs": runs}


def predictor_for(zebra_runs: dict, name: str):
    return load_bundle(zebra_runs["runs"][name].id, home=zebra_runs["home"])


def logit_gap(predictor, text: str, label: int) -> float:
    """logit(text) - logit(same text with every word vector zero), computed on a copy of the model."""
    tokens = predictor.pipeline.tokens(text)
    ids = torch.tensor([predictor.pipeline.encode_tokens(tokens)])
    lengths = torch.tensor([len(tokens)])
    model = copy.deepcopy(predictor.model).eval()
    with torch.no_grad():
        full = float(model(ids, lengths)[0, label])
        model.embedding.weight.zero_()
        blank = float(model(ids, lengths)[0, label])
    return full - blank


# --- Integrated Gradients -----------------------------------------------------------------------
@pytest.mark.parametrize("family", ["lstm", "textcnn", "transformer"])
def test_ig_ranks_the_deciding_word_first(zebra_runs, family):
    assert zebra_runs["runs"][family].metrics["val_accuracy"] >= 0.9, zebra_runs["runs"][family].metrics
    predictor = predictor_for(zebra_runs, family)
    exp = integrated_gradients_text(predictor, ZEBRA_TEXT)
    assert exp.method == "ig" and exp.tokens == ZEBRA_TEXT.split()
    assert exp.class_names[exp.label] == "positive"
    word, weight = exp.top(k=1)[0]
    assert word == "zebra" and weight > 0, exp.top(k=3)


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_ig_scores_add_up_to_the_logit_difference(zebra_runs, family):
    predictor = predictor_for(zebra_runs, family)
    exp = integrated_gradients_text(predictor, ZEBRA_TEXT)
    total = sum(exp.weights[exp.label])
    gap = logit_gap(predictor, ZEBRA_TEXT, exp.label)
    assert abs(gap) > 0.5  # the text moves the logit: the check below is not about tiny numbers
    assert total == pytest.approx(gap, rel=0.05, abs=0.05)
    assert exp.score == pytest.approx(abs(total - gap), abs=1e-3)  # the reported convergence delta
    assert exp.score <= 0.05 * max(1.0, abs(gap))


def test_ig_of_the_other_class_points_the_other_way(zebra_runs):
    predictor = predictor_for(zebra_runs, "lstm")
    exp = integrated_gradients_text(predictor, ZEBRA_TEXT, label="negative")
    assert exp.class_names[exp.label] == "negative"
    word, weight = exp.top(k=1)[0]
    assert word == "zebra" and weight < 0


def test_ig_gives_the_same_weights_for_the_same_text(zebra_runs):
    predictor = predictor_for(zebra_runs, "lstm")
    a = integrated_gradients_text(predictor, ZEBRA_TEXT)
    b = integrated_gradients_text(predictor, ZEBRA_TEXT)
    assert a.weights == b.weights and a.score == b.score


def test_ig_marks_words_the_model_never_saw(zebra_runs):
    predictor = predictor_for(zebra_runs, "lstm")
    exp = integrated_gradients_text(predictor, "the zebra was xylophonic")
    assert exp.known == [True, True, True, False]
    assert exp.to_dict()["method"] == "ig" and len(exp.to_dict()["weights"]) == 4


def test_ig_for_an_unknown_class_is_an_input_error(zebra_runs):
    predictor = predictor_for(zebra_runs, "lstm")
    with pytest.raises(InputError) as err:
        integrated_gradients_text(predictor, ZEBRA_TEXT, label="neutral")
    assert "neutral" in err.value.message
    assert "negative" in err.value.hint and "positive" in err.value.hint


@pytest.mark.parametrize("text", ["", "   "])
def test_ig_of_empty_text_is_an_input_error(zebra_runs, text):
    predictor = predictor_for(zebra_runs, "lstm")
    with pytest.raises(InputError) as err:
        integrated_gradients_text(predictor, text)
    assert "empty" in err.value.message and err.value.hint


def test_ig_with_too_few_steps_is_an_input_error(zebra_runs):
    with pytest.raises(InputError, match="at least 2 steps"):
        integrated_gradients_text(predictor_for(zebra_runs, "lstm"), ZEBRA_TEXT, steps=1)


# --- attention ----------------------------------------------------------------------------------
def test_attention_has_a_map_per_layer_and_head_whose_rows_sum_to_one(zebra_runs):
    predictor = predictor_for(zebra_runs, "transformer")
    att = attention_text(predictor, ZEBRA_TEXT)
    n = len(ZEBRA_TEXT.split())
    assert att.tokens == ZEBRA_TEXT.split()
    assert att.weights.shape == (2, 2, n, n) and (att.layers, att.heads) == (2, 2)
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    assert (att.weights >= 0).all()
    assert att.rollout.shape == (n,) and att.rollout.sum() == pytest.approx(1.0, abs=1e-6)
    d = att.to_dict()
    assert d["tokens"] == att.tokens and np.asarray(d["attention"]).shape == (2, 2, n, n)


def test_padding_gets_no_attention(zebra_runs):
    predictor = predictor_for(zebra_runs, "transformer")
    long_ids = predictor.pipeline.encode_tokens(ZEBRA_TEXT.split(" "))
    short_ids = predictor.pipeline.encode_tokens(["zebra", "music"])
    ids = torch.full((2, len(long_ids)), PAD_ID, dtype=torch.long)
    ids[0] = torch.tensor(long_ids)
    ids[1, : len(short_ids)] = torch.tensor(short_ids)
    lengths = torch.tensor([len(long_ids), len(short_ids)])
    per_layer = predictor.model.attention(ids, lengths)
    assert len(per_layer) == 2
    for layer in per_layer:
        assert layer.shape == (2, 2, len(long_ids), len(long_ids))
        short = layer[1, :, : len(short_ids)]  # rows of the short text's real words
        assert torch.allclose(short[..., len(short_ids):], torch.zeros(()), atol=1e-6)  # columns of padding
        assert torch.allclose(short.sum(-1), torch.ones(()), atol=1e-5)
    # the short text's attention among its own words is what it gets when alone
    alone = predictor.model.attention(torch.tensor([short_ids]), torch.tensor([len(short_ids)]))
    for padded, single in zip(per_layer, alone):
        torch.testing.assert_close(padded[1, :, : len(short_ids), : len(short_ids)], single[0], atol=1e-5, rtol=1e-4)


def test_attention_rollout_shares_out_all_attention():
    rng = np.random.default_rng(0)
    weights = rng.random((3, 2, 5, 5))
    weights /= weights.sum(-1, keepdims=True)
    rollout = attention_rollout(weights)
    assert rollout.shape == (5,) and (rollout > 0).all()
    assert rollout.sum() == pytest.approx(1.0)
    uniform = np.full((2, 4, 6, 6), 1 / 6)
    np.testing.assert_allclose(attention_rollout(uniform), np.full(6, 1 / 6))


def test_attention_of_a_model_without_attention_is_an_input_error(zebra_runs):
    predictor = predictor_for(zebra_runs, "lstm")
    with pytest.raises(InputError) as err:
        attention_text(predictor, ZEBRA_TEXT)
    assert "lstm" in err.value.message
    assert "transformer" in err.value.hint.lower()


def test_attention_of_empty_text_is_an_input_error(zebra_runs):
    with pytest.raises(InputError, match="empty"):
        attention_text(predictor_for(zebra_runs, "transformer"), " ")


# --- agreement ----------------------------------------------------------------------------------
def spearman(rows: list[dict], methods: str):
    return next(r for r in rows if r["methods"] == methods)["spearman"]


def test_identical_weights_agree_fully_and_reversed_ones_not_at_all():
    w = [0.5, -0.2, 0.9, 0.1]
    assert spearman(rank_agreement(lime=w, ig=w), "LIME vs Integrated gradients") == pytest.approx(1.0)
    assert spearman(rank_agreement(lime=w, ig=[-x for x in w]), "LIME vs Integrated gradients") == pytest.approx(-1.0)


def test_agreement_is_undefined_for_too_few_words_or_constant_weights():
    assert spearman(rank_agreement(lime=[1.0, 2.0], ig=[1.0, 2.0]), "LIME vs Integrated gradients") is None
    assert spearman(rank_agreement(lime=[1.0, 1.0, 1.0], ig=[1.0, 2.0, 3.0]), "LIME vs Integrated gradients") is None
    assert spearman(rank_agreement(lime=[1.0, 2.0, 3.0], attention=[0.2, 0.2, 0.2]), "LIME vs Attention") is None


def test_comparisons_with_attention_use_the_size_of_the_weights():
    rows = rank_agreement(lime=[-3.0, 1.0, 2.0], ig=[3.0, 1.0, 2.0], attention=[3.0, 1.0, 2.0])
    assert [r["methods"] for r in rows] == ["LIME vs Integrated gradients", "LIME vs Attention",
                                            "Integrated gradients vs Attention"]
    assert spearman(rows, "LIME vs Attention") == pytest.approx(1.0)
    assert spearman(rows, "LIME vs Integrated gradients") == pytest.approx(-0.5)  # signed: -3 ranks last
    compared = {r["methods"]: r["compared"] for r in rows}
    assert compared["LIME vs Attention"] == "sizes of the weights"
    assert compared["LIME vs Integrated gradients"] == "signed weights"


def test_a_single_method_has_nothing_to_agree_with():
    assert rank_agreement(lime=[1.0, 2.0, 3.0]) == []


def test_a_one_word_sentence_is_explained_by_a_bigram_model(tmp_path):
    data = zebra_csv(tmp_path / "zebra.csv")
    info = train_run(RunConfig(DataConfig(spec=f"csv:{data}"), ModelConfig("fasttext_bigrams", {"embed_dim": 8}),
                               TrainConfig(epochs=2, batch_size=16)), home=tmp_path)
    predictor = load_bundle(info.id, home=tmp_path)
    one = integrated_gradients_text(predictor, "zebra")  # no bigram in a single word
    assert one.tokens == ["zebra"] and len(one.weights[one.label]) == 1 and one.score < 0.05
    two = integrated_gradients_text(predictor, "zebra film")
    assert len(two.weights[two.label]) == 2


def test_attention_of_a_shared_model_does_not_depend_on_other_predictions(zebra_runs):
    predictor = predictor_for(zebra_runs, "transformer")
    first = attention_text(predictor, ZEBRA_TEXT)
    predictor.predict("the cast was loud")  # another session predicting with the same model in between
    integrated_gradients_text(predictor, "a short story")
    again = attention_text(predictor, ZEBRA_TEXT)
    assert np.array_equal(first.weights, again.weights)


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_predictions_made_while_another_thread_explains_with_the_same_model_are_unchanged(zebra_runs, family):
    """The app caches one predictor per run for every session, and a Streamlit rerun starts its
    script before the previous run has stopped: an explanation (which hooks the model) and a
    prediction can run at the same time on the same model. Neither may see the other's work."""
    predictor = predictor_for(zebra_runs, family)
    texts = ["the cast was loud", "zebra music", "a short story and zebra"]
    expected = predictor.predict_proba(texts)
    ig_alone = integrated_gradients_text(predictor, ZEBRA_TEXT).weights

    def explain() -> None:
        assert integrated_gradients_text(predictor, ZEBRA_TEXT).weights == ig_alone

    with repeated_in_another_thread(explain):
        for _ in range(60):
            for text, probs in zip(texts, expected):
                np.testing.assert_allclose(predictor.predict_proba([text])[0], probs, atol=1e-6)
