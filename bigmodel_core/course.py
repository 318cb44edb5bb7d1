"""The small sums behind the course's explanations and pictures (ui/course.py draws them).

Everything here is pure and cheap (numpy; torch only to read a live model's weight): no Streamlit, no
model loading. The numbers are the same ones the real layers use, so a picture and the live model agree:

    conv_output_size(28, kernel=3, stride=1, padding=1)   # 28, as nn.Conv2d gives
    gd_steps(lr=0.1)                                      # where plain gradient descent goes on L(w) = w^2
    softmax([2.0, 1.0, 0.1]); cross_entropy([2.0, 1.0, 0.1], target=0)
    int8_params(weights)                                  # (scale, zero point) of int8 quantization
    soft_targets([4.0, 1.0, 0.5], temperature=4)          # a teacher's softened answer for distillation
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

# ---------------------------------------------------------------- forward pass, loss, gradient descent


def softmax(logits: Sequence[float], temperature: float = 1.0) -> np.ndarray:
    """Scores -> probabilities that are all positive and add up to 1 (softmax(z / T))."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(initial=-np.inf) if z.size else z  # the same result, without overflow
    e = np.exp(z)
    return e / e.sum() if z.size else e


def cross_entropy(logits: Sequence[float], target: int) -> float:
    """The loss for one example: minus the log of the probability the model gave the right class."""
    p = softmax(logits)
    return float(-math.log(max(float(p[int(target)]), 1e-300)))


def guessing_loss(num_classes: int) -> float:
    """The cross-entropy of a model that gives every class the same probability: log(classes)."""
    return float(math.log(max(int(num_classes), 1)))


def gd_steps(lr: float, start: float = 4.0, steps: int = 12, curvature: float = 1.0) -> list[tuple[float, float]]:
    """Plain gradient descent on the parabola L(w) = curvature * w^2: [(w, L(w))] from `start`, `steps` steps.

    The gradient is 2 * curvature * w, so each step multiplies w by (1 - 2 * lr * curvature): the walk
    settles at the bottom (w = 0) while lr < 1 / curvature, and flies off when lr is larger."""
    w, out = float(start), []
    for i in range(int(steps) + 1):
        out.append((w, curvature * w * w))
        if i < steps:
            w = w - float(lr) * 2.0 * curvature * w
            if not math.isfinite(w) or abs(w) > 1e150:  # diverged: stop before the numbers overflow
                out.append((math.copysign(1e150, w) if math.isfinite(w) else 1e150, math.inf))
                break
    return out


def converges(lr: float, curvature: float = 1.0) -> bool:
    """Whether gradient descent with `lr` reaches the bottom of L(w) = curvature * w^2."""
    return abs(1.0 - 2.0 * float(lr) * curvature) < 1.0


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Weight updates in one pass over the training set (the last batch may be smaller)."""
    return int(math.ceil(max(int(n_train), 0) / max(int(batch_size), 1)))


def split_shares(n_train: int | None, n_val: int | None, n_test: int | None) -> dict[str, float]:
    """{'train', 'val', 'test'} -> share of all examples (0 when a part is missing)."""
    counts = {"train": n_train or 0, "val": n_val or 0, "test": n_test or 0}
    total = sum(counts.values())
    return {k: (v / total if total else 0.0) for k, v in counts.items()}


# ---------------------------------------------------------------- recurrent networks

GATES = {
    "rnn": (),
    "lstm": ("forget", "input", "candidate", "output"),
    "gru": ("reset", "update", "candidate"),
}


def rnn_params(cell: str, embed_dim: int, hidden: int, layers: int = 1, bidirectional: bool = False) -> int:
    """Numbers to learn in torch's nn.RNN / nn.LSTM / nn.GRU: each gate has input weights, memory weights and
    two biases (torch keeps two), so a layer has gates * (hidden * (input + hidden) + 2 * hidden)."""
    blocks = {"rnn": 1, "lstm": 4, "gru": 3}[str(cell).lower()]
    directions = 2 if bidirectional else 1
    total, size_in = 0, int(embed_dim)
    for _ in range(int(layers)):
        total += directions * blocks * (hidden * (size_in + hidden) + 2 * hidden)
        size_in = hidden * directions
    return int(total)


# ---------------------------------------------------------------- attention

EXAMPLE_WORDS = ("the", "film", "was", "not", "good")
# Toy 4-number vectors: "good" and "not" point the same way, so "good" attends to "not" (what flips its meaning).
_EXAMPLE_VECTORS = np.array([[0.2, 0.1, 0.0, 0.1],
                             [1.0, 0.2, 0.1, 0.0],
                             [0.1, 0.1, 0.3, 0.0],
                             [0.2, 0.1, 1.2, 1.4],
                             [0.6, 0.2, 1.0, 1.2]])


def attention_weights(queries: Any, keys: Any) -> np.ndarray:
    """softmax(Q K^T / sqrt(d_k)) row by row: how much each word (row) looks at each word (column)."""
    q, k = np.asarray(queries, dtype=np.float64), np.asarray(keys, dtype=np.float64)
    scores = q @ k.T / math.sqrt(q.shape[-1])
    scores -= scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


def example_attention() -> tuple[tuple[str, ...], np.ndarray]:
    """(words, weights) of a tiny example sentence (the toy vectors serve as queries and keys)."""
    v = _EXAMPLE_VECTORS * 2.0
    return EXAMPLE_WORDS, attention_weights(v, v)


def head_size(d_model: int, heads: int) -> int:
    """Numbers each attention head works with per word: d_model / heads."""
    return int(d_model) // max(int(heads), 1)


# ---------------------------------------------------------------- convolution and pooling


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution (or pooling) along one side: floor((n + 2p - d(k - 1) - 1) / s) + 1,
    which is floor((n + 2p - k) / s) + 1 for the usual dilation 1. 0 when the kernel does not fit."""
    span = dilation * (int(kernel) - 1) + 1
    room = int(n) + 2 * int(padding) - span
    return room // max(int(stride), 1) + 1 if room >= 0 else 0


def conv_windows(n: int, kernel: int, stride: int = 1, padding: int = 0) -> list[int]:
    """Start positions (in the padded input) of every window the kernel visits along one side."""
    return [i * max(int(stride), 1) for i in range(conv_output_size(n, kernel, stride, padding))]


def conv_params(in_channels: int, out_channels: int, kernel: int) -> int:
    """Numbers in a square 2-D convolution layer: out * (in * k * k) weights + out biases."""
    return int(out_channels) * (int(in_channels) * int(kernel) ** 2 + 1)


# ---------------------------------------------------------------- scale


def power_law(sizes: Iterable[float], a: float = 5.0, exponent: float = 0.076) -> np.ndarray:
    """loss = a * size^(-exponent): a straight line on log-log axes, falling by the same factor per 10x."""
    return float(a) * np.asarray(list(sizes), dtype=np.float64) ** (-float(exponent))


def tenfold_factor(exponent: float) -> float:
    """How much the loss is multiplied by when the size grows 10 times: 10^(-exponent)."""
    return float(10.0 ** (-float(exponent)))


def fit_power_law(sizes: Sequence[float], losses: Sequence[float]) -> tuple[float, float]:
    """(a, exponent) of the line log(loss) = log(a) - exponent * log(size) fitted through the points."""
    x, y = np.log(np.asarray(sizes, dtype=np.float64)), np.log(np.asarray(losses, dtype=np.float64))
    slope, intercept = np.polyfit(x, y, 1)
    return float(np.exp(intercept)), float(-slope)


def model_megabytes(params: int, bits: int = 32) -> float:
    """Size of `params` numbers stored with `bits` bits each, in MB (10^6 bytes)."""
    return int(params) * int(bits) / 8 / 1e6


# ---------------------------------------------------------------- pruning


def example_weights(n: int = 2000, seed: int = 0) -> np.ndarray:
    """Bell-shaped toy weights around 0, like a trained layer's."""
    return np.random.default_rng(seed).normal(0.0, 0.05, size=int(n))


def prune_threshold(weights: Any, sparsity: float) -> float:
    """The size |w| below which weights are set to zero so that a share `sparsity` of them is removed."""
    w = np.abs(np.asarray(weights, dtype=np.float64).ravel())
    s = float(sparsity)
    if s > 1:  # given in percent
        s /= 100.0
    s = min(max(s, 0.0), 1.0)
    if w.size == 0 or s == 0:
        return 0.0
    return float(np.quantile(w, s))


# ---------------------------------------------------------------- quantization


def int8_params(x: Any, bits: int = 8) -> tuple[float, int]:
    """(scale, zero_point) of affine (asymmetric) quantization to signed `bits`-bit integers.

    The range always includes 0 (so 0 is stored exactly): scale = (max - min) / (2^bits - 1) and
    zero_point = round(qmin - min / scale), so min -> qmin (-128) and max -> qmax (127)."""
    arr = as_array(x)
    qmin, qmax = -(2 ** (int(bits) - 1)), 2 ** (int(bits) - 1) - 1
    lo = min(float(arr.min()) if arr.size else 0.0, 0.0)
    hi = max(float(arr.max()) if arr.size else 0.0, 0.0)
    scale = (hi - lo) / (qmax - qmin)
    if scale <= 0:
        return 1.0, 0
    zero = int(np.clip(np.round(qmin - lo / scale), qmin, qmax))
    return float(scale), zero


def quantize(x: Any, scale: float, zero_point: int, bits: int = 8) -> np.ndarray:
    """q = clamp(round(x / scale) + zero_point, qmin, qmax), as integers."""
    qmin, qmax = -(2 ** (int(bits) - 1)), 2 ** (int(bits) - 1) - 1
    return np.clip(np.round(as_array(x) / scale) + zero_point, qmin, qmax).astype(np.int64)


def dequantize(q: Any, scale: float, zero_point: int) -> np.ndarray:
    """x ~ scale * (q - zero_point): the float the integer stands for."""
    return float(scale) * (np.asarray(q, dtype=np.float64) - int(zero_point))


def first_weight(model: Any) -> np.ndarray | None:
    """The first weight matrix (2 dimensions or more) of a torch model, as numpy; None if it has none."""
    try:
        for p in model.parameters():
            if p.dim() >= 2 and p.dtype.is_floating_point:
                return p.detach().float().cpu().numpy()
    except Exception:  # noqa: BLE001 - not a torch model: the caller shows the example instead
        return None
    return None


def as_array(x: Any) -> np.ndarray:
    """Numbers (a list, a numpy array or a torch tensor) as a flat float64 numpy array."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64).ravel()


# ---------------------------------------------------------------- distillation


def soft_targets(logits: Sequence[float], temperature: float) -> np.ndarray:
    """A teacher's probabilities at temperature T: softmax(z / T). T = 1 is its normal answer; a larger T
    spreads the probability over more classes, which tells the student which wrong answers are close."""
    return softmax(logits, temperature)


def entropy(p: Sequence[float]) -> float:
    """How spread out probabilities are (0 = all on one class; log(classes) = all equal)."""
    arr = np.asarray(p, dtype=np.float64)
    arr = arr[arr > 0]
    return float(-(arr * np.log(arr)).sum())


def distillation_loss(student_logits: Sequence[float], teacher_logits: Sequence[float], target: int,
                      temperature: float, alpha: float) -> float:
    """alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy(student, label), as the app trains."""
    t = float(temperature)
    pt, ps = soft_targets(teacher_logits, t), soft_targets(student_logits, t)
    kl = float(np.sum(pt * (np.log(np.clip(pt, 1e-300, None)) - np.log(np.clip(ps, 1e-300, None)))))
    return float(alpha) * t * t * kl + (1 - float(alpha)) * cross_entropy(student_logits, target)


# ---------------------------------------------------------------- distributed training


def batch_slices(batch_size: int, processes: int) -> list[int]:
    """How many examples of one batch each process gets (as equal as possible)."""
    n, k = max(int(batch_size), 0), max(int(processes), 1)
    return [n // k + (1 if i < n % k else 0) for i in range(k)]
