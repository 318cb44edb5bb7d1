"""Questions to word vectors: nearest neighbours, similarity, analogies (a - b + c), the odd one out.

All similarities are cosine similarities. A word that is not in the vocabulary is looked up
lower-cased too (GloVe and the app's pipeline are lower-case); if neither exists, the InputError
suggests close words from the vocabulary. Suggestions come from difflib over the words that
start with the same letter, at most SUGGEST_POOL of them (the most frequent first), so a typo
answers in milliseconds even with GloVe's 400,000 words.
"""
from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Optional, Sequence

from ..errors import Alternatives, InputError, msg

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

SUGGEST_POOL = 20_000
MAX_K = 500
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\uff0d": "-", "\uff0b": "+"})
ANALOGY_HINT = msg("errors.queries.analogy.hint",
                   "Write it as three words joined by - and +, for example: king - man + woman.")


def suggestions(kv: "KeyedVectors", word: str, n: int = 3) -> list[str]:
    """Up to `n` vocabulary words close in spelling to `word`."""
    if not word:
        return []
    first = word[0].lower()
    pool = []
    for w in kv.index_to_key:
        if w[:1].lower() == first:
            pool.append(w)
            if len(pool) >= SUGGEST_POOL:
                break
    return difflib.get_close_matches(word.lower(), pool, n=n, cutoff=0.6)


def spelling(kv: "KeyedVectors", word: str) -> Optional[str]:
    """The vocabulary's spelling of `word`: as written, else lower-cased; None when neither is there."""
    if word in kv.key_to_index:
        return word
    return word.lower() if word.lower() in kv.key_to_index else None


def resolve_word(kv: "KeyedVectors", word: str) -> str:
    """The vocabulary's spelling of `word` (see `spelling`); InputError with suggestions."""
    word = (word or "").strip()
    if not word:
        raise InputError(msg("errors.queries.no_word", "No word was given."),
                         msg("errors.queries.no_word.hint", "Type a word."))
    found = spelling(kv, word)
    if found is not None:
        return found
    close = suggestions(kv, word)
    hint = (msg("errors.did_you_mean", "Did you mean {names}?", names=Alternatives(f"'{w}'" for w in close)) if close
            else msg("errors.queries.unknown_word.hint", "Check the spelling, or try a more common word."))
    raise InputError(msg("errors.queries.unknown_word", "'{word}' is not in the vocabulary of these vectors.",
                         word=word), hint)


def _k(k: int) -> int:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InputError(msg("errors.queries.k", "The number of results must be from 1 to {max}, not {k!r}.",
                             max=MAX_K, k=k),
                         msg("errors.queries.k.hint", "Choose a smaller number."))
    return k


def neighbours(kv: "KeyedVectors", word: str, k: int = 10) -> list[tuple[str, float]]:
    """The `k` words most similar to `word` (cosine), most similar first, `word` itself excluded."""
    w = resolve_word(kv, word)
    return [(n, float(s)) for n, s in kv.most_similar(w, topn=_k(k))]


def similarity(kv: "KeyedVectors", a: str, b: str) -> float:
    """Cosine similarity of two words, from -1 (opposite) to 1 (same direction)."""
    return float(kv.similarity(resolve_word(kv, a), resolve_word(kv, b)))


def analogy(kv: "KeyedVectors", a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
    """Words closest to a - b + c (king - man + woman ~ queen), the three inputs excluded.

    Like word2vec's own analogy tool (3CosAdd): the unit vectors of a and c are added, b's is
    subtracted, and words are ranked by cosine similarity to the result. Without excluding
    the inputs the answer is nearly always a or c themselves.
    """
    a, b, c = (resolve_word(kv, w) for w in (a, b, c))
    return [(w, float(s)) for w, s in kv.most_similar(positive=[a, c], negative=[b], topn=_k(k))]


def odd_one_out(kv: "KeyedVectors", words: Sequence[str]) -> str:
    """The word furthest (cosine) from the mean of the others' unit vectors."""
    resolved = [resolve_word(kv, w) for w in words if w and w.strip()]
    if len(resolved) < 3:
        raise InputError(msg("errors.queries.odd_one_out", "The odd one out needs at least 3 words, not {n}.",
                             n=len(resolved)),
                         msg("errors.queries.odd_one_out.hint", "Type three or more words."))
    return str(kv.doesnt_match(resolved))


def parse_analogy(text: str) -> tuple[str, str, str]:
    """'king - man + woman' -> ('king', 'man', 'woman'), the words of a - b + c.

    Accepts the unicode minus and dashes, any spacing ("king-man+woman"), and either order of
    the two last terms ("king + woman - man"). A hyphen inside a word ("well-made - bad + good")
    is kept when the operators are written with spaces around them.
    """
    text = (text or "").translate(_MINUS).strip()
    spaced = re.split(r"\s+([+-])\s+", text)
    parts = spaced if len(spaced) == 5 else re.split(r"\s*([+-])\s*", text)
    if parts and parts[0] == "":  # a leading '+' before the first word
        parts = parts[2:] if len(parts) > 2 and parts[1] == "+" else parts
    if len(parts) != 5 or not all(p.strip() for p in parts[0::2]) or sorted(parts[1::2]) != ["+", "-"]:
        raise InputError(msg("errors.queries.analogy", "'{text}' is not an analogy of the form a - b + c.",
                             text=text), ANALOGY_HINT)
    a, op1, x, _, y = (p.strip() for p in parts)
    return (a, x, y) if op1 == "-" else (a, y, x)
