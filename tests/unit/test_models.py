"""Every registered text model: shapes, learning, gradients, saving, settings and the summary table.

Parametrized over the registry, so a newly registered model is tested without a new test.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from bigmodel_core.data.text.pipeline import PAD_ID
from bigmodel_core.errors import BigModelError, ConfigError, ModelError
from bigmodel_core.models import create_model, list_models, model_entry, summarize

TEXT_MODELS = list_models(task="text")
VOCAB, CLASSES = 50, 3
DATA_INFO = {"vocab_size": VOCAB, "num_classes": CLASSES}


def padded_batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (batch, max_len) padded with PAD_ID, lengths (batch,)) with real ids in 2..VOCAB-1."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), max(lengths)), PAD_ID, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(2, VOCAB, (n,), generator=g)
    return ids, torch.tensor(lengths, dtype=torch.long)


# Smaller sizes for the tests that train, applied to whichever of these settings a model has.
SMALL = {"embed_dim": 16, "hidden": 16, "dim": 16, "ff": 32, "filters": 16, "bigram_buckets": 997}


def small_params(name: str) -> dict:
    return {k: v for k, v in SMALL.items() if k in model_entry(name).defaults}


PRETRAINED: dict[str, str] = {}  # the pretrained family's weights: the tiny BERT the tests build


@pytest.fixture(autouse=True)
def pretrained_weights(tiny_bert):
    PRETRAINED["weights"] = str(tiny_bert)


def defaults(name: str) -> dict:
    """What a model needs besides the data: the pretrained family needs its weights."""
    return dict(PRETRAINED) if model_entry(name).pipeline is not None else {}


def build(name: str, **params) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, DATA_INFO, **{**defaults(name), **params})


def first_embedding(model: nn.Module) -> nn.Embedding:
    return next(m for m in model.modules() if isinstance(m, nn.Embedding))


def test_registry_lists_the_text_families():
    assert {"bag_of_embeddings", "lstm", "textcnn", "transformer"} <= set(TEXT_MODELS)
    for name in TEXT_MODELS:
        entry = model_entry(name)
        assert entry.task == "text" and entry.description and entry.family


@pytest.mark.parametrize("name", TEXT_MODELS)
@pytest.mark.parametrize("lengths", [[7, 3, 1, 5], [1, 1], [1], [12, 12, 2]], ids=["mixed", "all-one", "single", "long"])
@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
def test_forward_gives_finite_logits_per_class(name, lengths, train_mode):
    model = build(name)
    model.train(train_mode)
    ids, lens = padded_batch(lengths)
    logits = model(ids, lens)
    assert logits.shape == (len(lengths), CLASSES)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_prediction_of_a_text_does_not_depend_on_its_batch_padding(name):
    model = build(name).eval()
    ids, lens = padded_batch([4, 9])
    alone = model(ids[:1, :4], lens[:1])
    padded = model(ids, lens)[:1]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_loss_falls_on_a_tiny_batch(name):
    model = build(name, **small_params(name))
    ids, lens = padded_batch([6, 4, 8, 3, 5, 7, 2, 6], seed=1)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.eval()
    with torch.no_grad():
        before = F.cross_entropy(model(ids, lens), y).item()
    model.train()
    for _ in range(40):
        opt.zero_grad()
        F.cross_entropy(model(ids, lens), y).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = F.cross_entropy(model(ids, lens), y).item()
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_gradients_reach_the_word_embeddings(name):
    model = build(name).train()
    ids, lens = padded_batch([5, 2, 7])
    F.cross_entropy(model(ids, lens), torch.tensor([0, 1, 2])).backward()
    grad = first_embedding(model).weight.grad
    assert grad is not None
    used = ids[ids != PAD_ID].unique()
    assert grad[used].abs().sum(dim=1).gt(0).all(), "some words in the batch got no gradient"
    assert torch.isfinite(grad).all()
    assert grad[PAD_ID].abs().sum() == 0, "the padding vector must not learn"


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_weights_saved_as_safetensors_give_identical_predictions(name, tmp_path):
    model = build(name).eval()
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    torch.manual_seed(123)  # a different initialisation, then overwritten by the saved weights
    fresh = create_model(name, DATA_INFO, **defaults(name))
    fresh.load_state_dict(load_file(str(path)))
    fresh.eval()
    ids, lens = padded_batch([6, 1, 3])
    assert torch.equal(model(ids, lens), fresh(ids, lens))


def test_unknown_model_name_suggests_the_closest():
    with pytest.raises(ModelError) as err:
        create_model("lstn", DATA_INFO)
    assert "lstn" in err.value.message
    assert "lstm" in err.value.hint


def test_unknown_model_setting_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        create_model("bag_of_embeddings", DATA_INFO, hiden=8)
    assert "hiden" in err.value.message
    assert "hidden" in err.value.hint


def test_setting_given_as_cli_string_is_converted_to_the_preset_type():
    model = create_model("lstm", DATA_INFO, hidden="12", bidirectional="false")
    assert model.rnn.hidden_size == 12 and model.rnn.bidirectional is False


def test_unusable_setting_value_is_a_plain_error():
    with pytest.raises(ConfigError) as err:
        create_model("bag_of_embeddings", DATA_INFO, hidden="lots")
    assert err.value.hint


def test_unknown_recurrent_cell_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        create_model("rnn", DATA_INFO, cell="lsmt")
    assert "lstm" in err.value.hint


def test_transformer_heads_that_do_not_divide_the_width_give_a_plain_error():
    # A classroom user can type --set heads=3 (or pick 3 in the UI); it must not crash with an AssertionError.
    with pytest.raises(BigModelError) as err:
        create_model("transformer", DATA_INFO, heads=3)
    assert err.value.message and err.value.hint


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_summary_lists_layers_with_shapes_and_counts_every_parameter(name):
    model = build(name)
    seq = 12
    info = summarize(model, padded_batch([seq]))
    total = sum(p.numel() for p in model.parameters())
    assert info["total_parameters"] == total
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)  # BERT's unused pooler
    assert info["trainable_parameters"] == total - frozen
    assert info["weight_bytes"] >= 4 * total
    assert info["flops_per_example"] > 0
    rows = info["layers"]
    assert rows, "the layer table is empty"
    for row in rows:
        assert row["layer"] and row["type"] and row["output shape"] not in ("", "-"), row
    assert sum(r["parameters"] for r in rows) == total, "the layer table does not add up to the total"
    assert rows[-1]["output shape"] == f"1 × {CLASSES}"
    emb = next(r for r in rows if r["type"] == "Embedding")
    assert emb["output shape"].startswith(f"1 × {seq} × ")


def test_summary_leaves_the_model_in_its_training_mode():
    model = build("lstm").train()
    summarize(model, padded_batch([5]))
    assert model.training


def test_lstm_costs_far_more_flops_than_a_bag_of_embeddings():
    example = padded_batch([20])
    bag = summarize(build("bag_of_embeddings"), example)["flops_per_example"]
    lstm = summarize(build("lstm"), example)["flops_per_example"]
    assert lstm > 10 * bag


def test_longer_texts_cost_an_lstm_more_flops():
    model = build("lstm")
    short = summarize(model, padded_batch([5]))["flops_per_example"]
    long = summarize(model, padded_batch([40]))["flops_per_example"]
    assert long > 4 * short


def test_transformer_attention_rows_sum_to_one_and_skip_padding():
    model = build("transformer").train()
    lengths = [6, 2, 4]
    ids, lens = padded_batch(lengths)
    maps = model.attention(ids, lens)
    assert len(maps) == model_entry("transformer").defaults["layers"]
    heads = model_entry("transformer").defaults["heads"]
    for attn in maps:
        assert attn.shape == (3, heads, 6, 6)
        torch.testing.assert_close(attn.sum(-1), torch.ones(3, heads, 6))
        for row, n in enumerate(lengths):
            assert attn[row, :, :, n:].abs().sum() < 1e-6, "padding received attention"
            assert attn[row, :, :n, :n].sum() > 0
    assert model.training, "attention() must restore training mode"


def test_transformer_attention_is_the_same_as_the_prediction_sees():
    model = build("transformer")
    ids, lens = padded_batch([5])
    first = model.attention(ids, lens)
    second = model.attention(ids, lens)
    for a, b in zip(first, second):
        assert torch.equal(a, b), "attention in eval mode must be deterministic (no dropout)"
