"""LIME for text: which words pushed the prediction, via the `lime` package's local linear model."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import InputError, msg
from ..settings import Setting

KERNEL_WIDTH = 25.0  # LimeTextExplainer's default
# Samples LIME may draw: fewer give noise, more cost memory and time for a barely steadier answer.
LIME_SAMPLES = Setting(int, 10, 10_000)


@dataclass
class Explanation:
    """Words with a weight per class; drawing them is the UI's job (lime-style data/view split)."""

    tokens: list[str]  # as shown to the user, in order
    class_names: list[str]
    probabilities: list[float]  # the model's prediction for the full text
    label: int  # the explained class
    weights: dict[int, list[float]] = field(default_factory=dict)  # class -> weight per token
    score: float = 0.0  # lime: R^2 of the local linear model (how well it mimics the network here);
    # ig: the convergence delta (how far the scores' sum is from the logit difference they share out)
    known: list[bool] = field(default_factory=list)
    method: str = "lime"  # "lime" | "ig"

    def top(self, label: Optional[int] = None, k: int = 10) -> list[tuple[str, float]]:
        """The k words with the largest |weight| for `label`, strongest first."""
        w = self.weights[self.label if label is None else label]
        order = np.argsort(-np.abs(w), kind="stable")[:k]
        return [(self.tokens[i], float(w[i])) for i in order]

    def to_dict(self) -> dict:
        return {"method": self.method, "label": self.class_names[self.label], "score": self.score,
                "probabilities": dict(zip(self.class_names, self.probabilities)),
                "weights": [{"token": t, "weight": float(w)} for t, w in zip(self.tokens, self.weights[self.label])]}


def explain_tokens(predict_tokens: Callable[[Sequence[Sequence[str]]], np.ndarray], tokens: list[str],
                   class_names: list[str], num_samples: int = 1000, seed: int = 0,
                   label: Optional[int] = None, labels: Optional[Sequence[int]] = None) -> Explanation:
    """LIME over word positions: drop random subsets of words, fit lime's weighted ridge model.

    Sampling follows LimeTextExplainer (sample how many words to drop, then which), but the
    perturbed texts are handed over as token lists in one batch, so no text is re-tokenized.
    Args:
        predict_tokens: token lists -> (n, classes) probabilities; knows nothing else of the model.
        label: the class to explain (default: the predicted one); `labels` adds more classes.
    """
    from lime.lime_base import LimeBase

    d = len(tokens)
    if d == 0:
        raise InputError(msg("errors.explain.no_words", "There are no words to explain."),
                         msg("errors.explain.no_words.hint", "Type a sentence with a few words."))
    rng = np.random.RandomState(seed)
    mask = np.ones((num_samples, d), dtype=np.float64)
    if d > 1:
        sizes = rng.randint(1, d, num_samples - 1)  # words to drop, 1..d-1, like lime
        # a uniform random subset of `size` words per row, drawn for all rows at once
        ranks = rng.random_sample((num_samples - 1, d)).argsort(axis=1).argsort(axis=1)
        mask[1:] = ranks >= sizes[:, None]
    else:
        mask[1:, 0] = rng.randint(0, 2, num_samples - 1)
    token_array = np.asarray(tokens, dtype=object)
    keep = mask.astype(bool)
    samples = [token_array[row].tolist() for row in keep]
    probs = predict_tokens(samples)
    full = probs[0]
    target = int(full.argmax()) if label is None else int(label)
    # cosine distance of each sample to the full text (all ones), scaled as lime does
    distances = (1 - mask.sum(1) / (np.sqrt(mask.sum(1)) * np.sqrt(d) + 1e-12)) * 100
    base = LimeBase(lambda dist: np.sqrt(np.exp(-(dist ** 2) / KERNEL_WIDTH ** 2)), random_state=rng)
    exp = Explanation(list(tokens), list(class_names), full.astype(float).tolist(), target)
    for k in sorted({target, *(labels or [])}):
        _, pairs, score, _ = base.explain_instance_with_data(mask, probs, distances, k, d, feature_selection="none")
        w = np.zeros(d)
        for i, value in pairs:
            w[i] = value
        exp.weights[k] = w.tolist()
        if k == target:
            exp.score = float(score)
    return exp


def explain_text(predictor, text: str, num_samples: int = 1000, seed: int = 0,
                 label: Optional[str] = None) -> Explanation:
    """Explain a Predictor's prediction of `text`; `label` is a class name (default: predicted)."""
    if not text or not text.strip():
        raise InputError(msg("errors.explain.empty_text", "The text to explain is empty."),
                         msg("errors.explain.empty_text.hint",
                             "Type a sentence, for example 'not good at all, a boring film'."))
    num_samples = LIME_SAMPLES.check("samples", num_samples)
    tokens = predictor.pipeline.tokens(text)
    names = predictor.class_names
    from .lime_image import class_index

    exp = explain_tokens(predictor.predict_proba_tokens, tokens, names, num_samples, seed,
                         class_index(label, names), labels=range(len(names)))
    exp.known = [predictor.pipeline.is_known(t) for t in tokens]
    return exp
