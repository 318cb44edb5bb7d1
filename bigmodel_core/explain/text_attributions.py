"""Inside a text model's prediction, beside LIME: Integrated Gradients per word, Transformer attention,
and how much the methods agree.

- Integrated Gradients (captum's LayerIntegratedGradients over the word-embedding layer): the
  word vectors are scaled from a baseline of all-zero vectors (the vector of <pad>, which the
  models read as "no word") up to the real ones, and the gradients along that path are summed.
  A word's score is its attribution summed over the vector's dimensions; the scores add up to
  logit(text) - logit(baseline) (completeness), and `delta` says how far the numerical
  integral is from that. The fastText bigram table is a second embedding layer: a bigram's score
  is shared half-and-half by its two words.
- Attention (Transformer runs): each layer's and head's attention matrix, rows = the word that
  looks, columns = the word looked at; rows sum to one and padding gets none. One number per word
  for comparing with the other methods is attention rollout (Abnar & Zuidema 2020): heads
  averaged, the residual connection added as 0.5 * identity, the layers multiplied, and the
  result averaged over the words, whose mean the model classifies.
- Agreement: Spearman rank correlation of the word weights. LIME and IG are signed (toward or
  against the class) and are compared as they are; attention has no sign, so comparisons with it
  use the size of the LIME / IG weights.
"""
from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError, msg
from .lime_image import class_index
from .gradients import _frozen
from .lime_text import Explanation

TOLERANCE = 0.05  # the scores may miss the logit difference by 5% before more steps are taken
MAX_STEPS = 1600


def why_different(with_attention: bool) -> str:
    """The one-line reason the methods may disagree, for the methods shown (a Msg: the app translates it)."""
    clause = msg("engine.explain.why_different.attention",
                 ", and attention shows where the model looks, not whether that pushes toward the class")
    return msg("engine.explain.why_different",
               "They answer different questions: LIME watches what happens when words are removed, "
               "Integrated Gradients follows the gradient as word vectors grow from zero{attention}, so a "
               "word can matter to one and not to the other.", attention=clause if with_attention else "")


def method_name(name: str) -> str:
    """A method's display name ("LIME", "Integrated gradients", "Attention") as a translatable Msg."""
    return {"LIME": msg("engine.explain.method.lime", "LIME"),
            "Integrated gradients": msg("engine.explain.method.ig", "Integrated gradients"),
            "Attention": msg("engine.explain.method.attention", "Attention")}[name]


def _checked_tokens(predictor, text: str, label: Optional[str]) -> tuple[list[str], int, np.ndarray]:
    """(tokens, target class index, probabilities) for `text`; plain errors for empty text or an unknown class."""
    tokens = predictor.tokens(text, "explain")
    index = class_index(label, list(predictor.class_names))
    probs = predictor.predict_proba_tokens([tokens])[0]
    target = int(probs.argmax()) if index is None else index
    return tokens, target, probs


def _ids(predictor, tokens: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor([predictor.pipeline.encode_tokens(tokens)], dtype=torch.long, device=predictor.device)
    return ids, torch.tensor([ids.size(1)], dtype=torch.long)  # ids, not words: a word may be several pieces


def integrated_gradients_text(predictor, text: str, label: Optional[str] = None, steps: int = 50) -> Explanation:
    """Integrated Gradients of a text Predictor's logit for `label` (default: predicted) per word.

    Returns an Explanation like LIME's (tokens, probabilities, label, weights[label] per token)
    with method "ig" and `delta` = |sum of scores - (logit(text) - logit(baseline))|.
    `steps` is where the integral starts; it is taken again with 4x the steps (up to 1,600)
    while the scores miss the logit difference by more than 5%. A trained LSTM converges at
    50 steps; a Transformer needed 300 here (0.13 s). Deterministic: the same text gives the
    same scores.
    """
    from captum.attr import LayerIntegratedGradients

    if int(steps) < 2:
        raise InputError(msg("errors.explain.ig_steps", "Integrated gradients needs at least 2 steps."),
                         msg("errors.explain.ig_steps.hint", "Use {n} steps or more.", n=50))
    tokens, target, probs = _checked_tokens(predictor, text, label)
    model = predictor.model
    ids, lengths = _ids(predictor, tokens)
    # the bigram table is only used (and so only attributable) when there are two words or more
    bigrams = getattr(model, "bigrams", None) if len(tokens) > 1 else None
    layers = [model.embedding] + ([bigrams] if bigrams is not None else [])
    # "no words": <pad> at every word's position (its vector is all zeros for the small models); a
    # pretrained model keeps its [CLS] and [SEP], so only the words get (and share out) the scores
    baseline = torch.tensor([predictor.pipeline.baseline_ids(tokens)], dtype=torch.long, device=ids.device)

    def forward(x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        return model(x, lens)

    with predictor.lock, _frozen(model), _no_cudnn(predictor.device), warnings.catch_warnings():
        # captum warns when several layers are given; the bigram table reads the word ids, not the word vectors
        warnings.filterwarnings("ignore", message="Multiple layers provided")
        lig = LayerIntegratedGradients(forward, layers if len(layers) > 1 else layers[0])
        gap = _logit_gap(model, ids, lengths, layers, target, baseline)
        n = int(steps)
        while True:  # attention and layer norm bend the path: the Transformer may need more steps
            attrs = lig.attribute(ids, baselines=baseline, target=target, additional_forward_args=(lengths,),
                                  n_steps=n, internal_batch_size=min(n, 128))
            attrs = list(attrs) if isinstance(attrs, (list, tuple)) else [attrs]
            total = float(sum(a.sum() for a in attrs))
            if abs(total - gap) <= TOLERANCE * max(1.0, abs(gap)) or n >= MAX_STEPS:
                break
            n = min(n * 4, MAX_STEPS)
    per_position = attrs[0][0].sum(-1).detach().float().cpu().numpy().astype(np.float64)  # (seq,)
    scores = per_word(per_position, predictor.pipeline.word_positions(tokens))  # a word's pieces added up
    if len(attrs) > 1 and len(tokens) > 1:  # bigram i joins words i and i+1: half to each
        pair = attrs[1][0].sum(-1).detach().float().cpu().numpy()
        scores[:-1] += pair / 2
        scores[1:] += pair / 2
    exp = Explanation(list(tokens), list(predictor.class_names), probs.astype(float).tolist(), target,
                      {target: scores.tolist()}, score=abs(total - gap),
                      known=[predictor.pipeline.is_known(t) for t in tokens], method="ig")
    return exp


def per_word(values: np.ndarray, positions: Sequence[Sequence[int]]) -> np.ndarray:
    """Per-position values (one per id the model read) added up per word (a word may be several pieces)."""
    return np.array([float(values[p].sum()) if len(p) else 0.0 for p in map(list, positions)], dtype=np.float64)


@torch.no_grad()
def _logit_gap(model, ids: torch.Tensor, lengths: torch.Tensor, layers: list, target: int,
               baseline: torch.Tensor) -> float:
    """logit(text) - logit(baseline): what the IG scores should add up to.

    The baseline is the same text with the word-embedding layer's output replaced by that of the
    `baseline` ids (<pad> at the words: zeros for the small models' word vectors) and any other
    embedding layer's by that of <pad>: exactly the path's starting point. Running the model on
    <pad> ids instead would mask every word out and give a different (or undefined) number.
    """
    def blank(module, inputs, output):
        base = baseline if module is layers[0] else torch.zeros_like(inputs[0])
        return F.embedding(base, module.weight, module.padding_idx)

    full = float(model(ids, lengths)[0, target])
    hooks = [layer.register_forward_hook(blank) for layer in layers]
    try:
        base = float(model(ids, lengths)[0, target])
    finally:
        for h in hooks:
            h.remove()
    return full - base


def _no_cudnn(device: torch.device):
    """cuDNN's recurrent kernels refuse a backward pass in eval mode; the native ones do not."""
    return torch.backends.cudnn.flags(enabled=False) if device.type == "cuda" else nullcontext()


@dataclass
class AttentionMap:
    """Attention of every layer and head of a Transformer run for one text."""

    tokens: list[str]
    weights: np.ndarray  # (layers, heads, words, words): row = the looking word, column = the word looked at
    rollout: np.ndarray  # (words,): attention flowing to each word through all layers (sums to one)

    @property
    def layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def heads(self) -> int:
        return int(self.weights.shape[1])

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "rollout": np.round(self.rollout, 5).tolist(),
                "attention": np.round(self.weights, 5).tolist()}


def has_attention(predictor) -> bool:
    return callable(getattr(predictor.model, "attention", None))


def attention_text(predictor, text: str) -> AttentionMap:
    """The attention of each layer and head of a Transformer run over the words of `text`."""
    if not has_attention(predictor):
        name = predictor.info.model_name
        raise InputError(msg("errors.explain.no_attention",
                             "The run '{run}' was trained with the {model} model, which has no attention to show.",
                             run=predictor.run_id, model=name),
                         msg("errors.explain.no_attention.hint",
                             "Attention maps are for Transformer runs; train a transformer model to see them."))
    tokens, _, _ = _checked_tokens(predictor, text, None)
    ids, lengths = _ids(predictor, tokens)
    with predictor.lock:
        per_layer = predictor.model.attention(ids, lengths)  # list of (1, heads, seq, seq)
    weights = torch.stack([a[0] for a in per_layer]).float().cpu().numpy()  # (layers, heads, seq, seq)
    positions = predictor.pipeline.word_positions(tokens)
    if any(len(p) != 1 for p in positions) or sum(map(len, positions)) != weights.shape[-1]:
        weights = words_attention(weights, positions)
    return AttentionMap(list(tokens), weights, attention_rollout(weights))


def words_attention(weights: np.ndarray, positions: Sequence[Sequence[int]]) -> np.ndarray:
    """Attention over word pieces -> over words (Clark et al. 2019): what a word looks at is the mean over
    its pieces' rows, what it receives the sum over its pieces' columns. Attention to the special tokens
    ([CLS], [SEP]) is left out and each row scaled to sum to one again, so rows read as shares among words."""
    groups = [list(p) for p in positions]
    cols = np.stack([weights[..., g].sum(-1) for g in groups], axis=-1)  # (L, H, pieces, words)
    rows = np.stack([cols[..., g, :].mean(-2) for g in groups], axis=-2)  # (L, H, words, words)
    total = rows.sum(-1, keepdims=True)
    return np.divide(rows, total, out=np.full_like(rows, 1.0 / max(len(groups), 1)), where=total > 0)


def attention_rollout(weights: np.ndarray) -> np.ndarray:
    """(layers, heads, n, n) attention -> (n,) share of attention reaching each word (Abnar & Zuidema 2020)."""
    n = weights.shape[-1]
    flow = np.eye(n)
    for layer in weights:
        a = 0.5 * layer.mean(0) + 0.5 * np.eye(n)  # the residual connection carries each word past attention
        a = a / a.sum(-1, keepdims=True)
        flow = a @ flow
    return flow.mean(0)  # the classifier averages over all words


def rank_agreement(lime: Optional[Sequence[float]] = None, ig: Optional[Sequence[float]] = None,
                   attention: Optional[Sequence[float]] = None) -> list[dict]:
    """Spearman rank correlation between each pair of methods' word weights (None when undefined).

    Rows: {"methods", "spearman", "compared"}; "compared" says whether signed weights or their
    sizes were ranked. Undefined (None) for fewer than 3 words or a method that gives every word
    the same weight.
    """
    from scipy.stats import spearmanr

    given = {k: np.asarray(v, dtype=np.float64) for k, v in
             (("LIME", lime), ("Integrated gradients", ig), ("Attention", attention)) if v is not None}
    rows = []
    names = list(given)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            x, y = given[a], given[b]
            signed = "Attention" not in (a, b)
            if not signed:
                x, y = np.abs(x), np.abs(y)
            rho = None
            if len(x) >= 3 and len(x) == len(y) and np.ptp(x) > 0 and np.ptp(y) > 0:
                rho = float(spearmanr(x, y).statistic)
            compared = (msg("engine.explain.compared.signed", "signed weights") if signed else
                        msg("engine.explain.compared.sizes", "sizes of the weights"))
            rows.append({"methods": msg("engine.explain.versus", "{a} vs {b}", a=method_name(a), b=method_name(b)),
                         "spearman": rho, "compared": compared})
    return rows
