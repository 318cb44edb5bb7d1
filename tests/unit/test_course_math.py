"""The sums behind the course's explanations agree with the real layers and behave as the text says."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bigmodel_core import course


@pytest.mark.parametrize("n,kernel,stride,padding", [(28, 3, 1, 1), (28, 3, 1, 0), (28, 5, 2, 2), (32, 3, 2, 0),
                                                     (7, 7, 1, 0), (10, 4, 3, 1), (224, 7, 2, 3), (9, 2, 2, 0)])
def test_conv_output_size_matches_torch(n, kernel, stride, padding):
    conv = torch.nn.Conv2d(1, 2, kernel_size=kernel, stride=stride, padding=padding)
    out = conv(torch.zeros(1, 1, n, n))
    expected = course.conv_output_size(n, kernel, stride, padding)
    assert out.shape[-2:] == (expected, expected)
    assert len(course.conv_windows(n, kernel, stride, padding)) == expected


def test_pooling_uses_the_same_rule():
    pooled = torch.nn.MaxPool2d(kernel_size=2, stride=2)(torch.zeros(1, 1, 28, 28))
    assert pooled.shape[-1] == course.conv_output_size(28, 2, 2, 0) == 14


def test_a_kernel_that_does_not_fit_gives_nothing():
    assert course.conv_output_size(2, 5) == 0


def test_conv_params_match_torch():
    conv = torch.nn.Conv2d(3, 16, kernel_size=5)
    assert course.conv_params(3, 16, 5) == sum(p.numel() for p in conv.parameters())


@pytest.mark.parametrize("values", [np.random.default_rng(0).normal(0, 0.05, 500),
                                    np.linspace(-1.0, 3.0, 101), np.array([0.1, 0.2, 0.7]), -np.arange(1, 9.0)])
def test_int8_round_trip_error_is_at_most_half_a_step(values):
    scale, zero = course.int8_params(values)
    q = course.quantize(values, scale, zero)
    assert q.min() >= -128 and q.max() <= 127
    back = course.dequantize(q, scale, zero)
    assert np.abs(back - values).max() <= scale / 2 + 1e-12
    assert course.dequantize(course.quantize([0.0], scale, zero), scale, zero)[0] == 0.0  # 0 is stored exactly


def test_int8_uses_the_whole_grid():
    values = np.linspace(-2.0, 1.0, 50)
    scale, zero = course.int8_params(values)
    q = course.quantize(values, scale, zero)
    assert (q.min(), q.max()) == (-128, 127)
    assert scale == pytest.approx(3.0 / 255)


def test_int8_of_a_live_models_first_weight_and_of_zeros():
    model = torch.nn.Sequential(torch.nn.Embedding(20, 4), torch.nn.Linear(4, 2))
    w = course.first_weight(model)
    assert w is not None and w.shape == (20, 4)
    scale, zero = course.int8_params(torch.from_numpy(w))
    assert np.abs(course.dequantize(course.quantize(w, scale, zero), scale, zero) - w.ravel()).max() <= scale / 2 + 1e-7
    assert course.int8_params(np.zeros(5)) == (1.0, 0)
    assert course.first_weight("not a model") is None


def test_gradient_descent_converges_for_a_small_lr_and_diverges_for_a_large_one():
    small = course.gd_steps(lr=0.1, start=4.0, steps=30)
    assert abs(small[-1][0]) < 0.01 and small[-1][1] < small[0][1]
    assert all(b[1] <= a[1] for a, b in zip(small, small[1:]))  # the loss only goes down
    big = course.gd_steps(lr=1.5, start=4.0, steps=30)
    assert abs(big[-1][0]) > 1000 * abs(big[0][0])
    huge = course.gd_steps(lr=1e6, start=4.0, steps=100)  # no overflow, it just stops
    assert huge[-1][1] == math.inf
    assert course.converges(0.1) and course.converges(0.9) and not course.converges(1.5)
    tiny = course.gd_steps(lr=0.001, steps=10)
    assert 0 < tiny[-1][0] < tiny[0][0]  # a tiny learning rate moves, slowly


def test_softmax_sums_to_one_and_cross_entropy_is_minus_log_p():
    logits = [2.0, 1.0, 0.1]
    p = course.softmax(logits)
    assert p.sum() == pytest.approx(1.0) and (p > 0).all() and p.argmax() == 0
    assert course.softmax([1000.0, 1000.0]) == pytest.approx([0.5, 0.5])  # no overflow
    torch_loss = torch.nn.functional.cross_entropy(torch.tensor([logits]), torch.tensor([0])).item()
    assert course.cross_entropy(logits, 0) == pytest.approx(torch_loss, rel=1e-6)
    assert course.cross_entropy([0.0] * 4, 2) == pytest.approx(course.guessing_loss(4))


def test_soft_targets_get_flatter_as_the_temperature_grows():
    logits = [5.0, 2.0, 1.0, 0.5]
    spreads = [course.entropy(course.soft_targets(logits, t)) for t in (0.5, 1, 2, 4, 8, 20)]
    assert all(b > a for a, b in zip(spreads, spreads[1:]))
    assert spreads[-1] < math.log(4)
    top = [course.soft_targets(logits, t)[0] for t in (1, 4, 20)]
    assert top[0] > top[1] > top[2] > 0.25


def test_distillation_loss_matches_the_trainers_objective():
    from bigmodel_core.optimize.distil import Distillation

    student, teacher, label, t, a = [1.0, 0.2, -0.5], [3.0, 1.0, 0.0], 0, 4.0, 0.7
    soft = torch.tensor([list(course.soft_targets(teacher, t))], dtype=torch.float32)
    y = torch.cat([torch.tensor([[float(label)]]), soft], dim=1)
    expected = Distillation(t, a).loss(torch.tensor([student]), y).item()
    assert course.distillation_loss(student, teacher, label, t, a) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("cell,cls", [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_rnn_params_match_torch(cell, cls, layers, bidirectional):
    layer = cls(16, 24, num_layers=layers, bidirectional=bidirectional)
    assert course.rnn_params(cell, 16, 24, layers, bidirectional) == sum(p.numel() for p in layer.parameters())


def test_attention_rows_are_probabilities_and_not_matters_to_good():
    words, weights = course.example_attention()
    assert weights.shape == (len(words), len(words))
    assert np.allclose(weights.sum(axis=1), 1.0)
    good, other = words.index("good"), [i for i, w in enumerate(words) if w not in ("good", "not")]
    assert weights[good, words.index("not")] > max(weights[good, i] for i in other)
    q = torch.randn(1, 3, 8)
    torch_w = torch.softmax(q @ q.transpose(-1, -2) / math.sqrt(8), dim=-1)[0].numpy()
    assert np.allclose(course.attention_weights(q[0].numpy(), q[0].numpy()), torch_w, atol=1e-6)
    assert course.head_size(512, 8) == 64


def test_pruning_threshold_removes_the_asked_share():
    w = course.example_weights(1000)
    cut = course.prune_threshold(w, 0.3)
    assert np.mean(np.abs(w) < cut) == pytest.approx(0.3, abs=0.01)
    assert course.prune_threshold(w, 30) == pytest.approx(cut)  # in percent
    assert course.prune_threshold(w, 0) == 0.0


def test_power_law_is_a_straight_line_on_log_log_axes():
    sizes = [1e3, 1e4, 1e5, 1e6]
    losses = course.power_law(sizes, a=5.0, exponent=0.1)
    assert losses[1] / losses[0] == pytest.approx(course.tenfold_factor(0.1))
    a, exponent = course.fit_power_law(sizes, losses)
    assert (a, exponent) == (pytest.approx(5.0), pytest.approx(0.1))


def test_small_counts():
    assert course.steps_per_epoch(1000, 32) == 32
    assert course.batch_slices(10, 3) == [4, 3, 3] == [len(s) for s in np.array_split(np.arange(10), 3)]
    assert course.split_shares(80, 10, 10) == {"train": 0.8, "val": 0.1, "test": 0.1}
    assert course.split_shares(None, None, None)["train"] == 0.0
    assert course.model_megabytes(1_000_000, 32) == 4.0 and course.model_megabytes(1_000_000, 8) == 1.0
