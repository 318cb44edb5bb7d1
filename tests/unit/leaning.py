"""Shared by the synthetic-set tests: which tokens lean to a class beyond what chance explains.

Counts are per review (how many positive and negative reviews contain the token), tokens as the app
makes them, log-odds with add-one smoothing. A token drawn independently of the label still leans by
chance (sd of the log-odds about 2/sqrt(count), 0.28 at 50 reviews), so a lean counts when
|log-odds| >= 0.3 and chance cannot explain it (|z| >= 4).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Sequence

MIN_REVIEWS, MIN_LOG_ODDS, MIN_Z = 50, 0.3, 4


def log_odds(pos: int, neg: int) -> float:
    return math.log((pos + 1) / (neg + 1))


def reviews_with(texts: Sequence[str], labels: Sequence[str]) -> dict[str, Counter]:
    """label -> how many of its reviews contain each token (the app's default text pipeline)."""
    from bigmodel_core.config import DataConfig
    from bigmodel_core.data.text.pipeline import TextPipeline

    pipeline = TextPipeline(DataConfig())
    counts = {"positive": Counter(), "negative": Counter()}
    for text, label in zip(texts, labels):
        counts[label].update(set(pipeline.tokens(text)))
    return counts


def leaning(counts: dict[str, Counter], is_sentiment: Callable[[str], bool]) -> tuple[dict[str, float], int]:
    """({token: log-odds} of the tokens that lean, how many were tested): tokens in MIN_REVIEWS or more
    reviews that are not sentiment words themselves."""
    found, tested = {}, 0
    for token in counts["positive"].keys() | counts["negative"].keys():
        pos, neg = counts["positive"][token], counts["negative"][token]
        if pos + neg < MIN_REVIEWS or is_sentiment(token):
            continue
        tested += 1
        if abs(log_odds(pos, neg)) >= MIN_LOG_ODDS and abs((pos - neg) / math.sqrt(pos + neg)) >= MIN_Z:
            found[token] = round(log_odds(pos, neg), 2)
    return found, tested
