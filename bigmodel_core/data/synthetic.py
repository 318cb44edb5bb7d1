"""Generate the built-in synthetic movie-review set, where word order decides the label.

Every review has an overall polarity, and every opinion in it composes to that polarity:
an adjective either carries it directly ("a boring film") or is negated from the opposite
side ("not good at all", "never boring"), and in a contrast ("a slow start but a great
ending") the main clause carries it while the concession says the opposite. Each positive
and negative word is therefore about as common in one class as in the other, so a
bag-of-words model sees little signal and a model that reads the order does much better.
Labels follow from the composition alone: there is no label noise.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

GRAMMAR_PATH = Path(__file__).resolve().parents[2] / "assets" / "review_grammar.json"
LABELS = ("negative", "positive")

DESCRIPTION = (
    "Synthetic movie reviews, generated offline by BigModel Lab from a small English grammar "
    "(assets/review_grammar.json): about 6,000 short reviews, half positive and half negative, "
    "using about 1,300 distinct everyday review words. They are not real reviews. "
    "They use negation (\"not good at all\", \"never boring\", \"wasn't funny\"), intensifiers "
    "(\"very\", \"a bit\") and contrast (\"a slow start but a great ending\"), and every "
    "sentiment word appears about as often in positive as in negative reviews, so word order "
    "matters: a bag-of-words model does noticeably worse than one that reads the sequence."
)

# Chance that an opinion uses a word of its own polarity rather than a negated opposite.
# 0.5 would make each sentiment word useless on its own; slightly above keeps a weak
# bag-of-words signal (as in real reviews) so that small models start learning quickly.
P_DIRECT = 0.55
# Chance of a common word ("good", "boring") rather than the long tail: real reviews are Zipfian.
P_CORE_ADJECTIVE = 0.35
P_COMMON_NEGATOR = 0.5  # "not good" is far more common than "by no means good"
P_COMMON_FILM_NOUN = 0.4  # "a boring film" is far more common than "a boring mockumentary"
SENTENCE_COUNT_WEIGHTS = {1: 0.15, 2: 0.35, 3: 0.32, 4: 0.18}  # how many sentences a review has
OPINION_KIND_WEIGHTS = {  # the shape of each opinion sentence
    "simple": 0.42, "compound": 0.12, "contrast": 0.20, "np_contrast": 0.08, "fragment": 0.18,
}
CLAUSE_KIND_WEIGHTS = {"copular": 0.55, "verbal": 0.18, "experience": 0.12, "quality": 0.15}
MIN_WORDS, MAX_WORDS = 8, 60
_A_BEFORE_WORD = re.compile(r"\b([Aa]) (\w+)")  # an article to fix in filler: "a ambitious chef"
_ASPECT_KINDS = ("film", "story", "performance", "sound", "visual", "humour", "pacing")


def load_grammar(path: Path = GRAMMAR_PATH) -> dict[str, Any]:
    """Read the review grammar (word lists and templates) from its JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def generate_reviews(n: int = 6000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generate ``n`` synthetic reviews, balanced between the two labels.

    Args:
        n: number of reviews; half are "negative" and half "positive" (the odd one out, if
            any, is positive).
        seed: the same seed always gives the same reviews in the same order.

    Returns:
        ``(texts, labels)``, two lists of length ``n``; labels are "negative" or "positive".
    """
    rng = random.Random(seed)
    composer = _Composer(load_grammar(), rng)
    polarities = [-1] * (n // 2) + [1] * (n - n // 2)
    rng.shuffle(polarities)
    texts = [composer.review(t) for t in polarities]
    labels = [LABELS[1] if t > 0 else LABELS[0] for t in polarities]
    return texts, labels


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(phrase: str) -> str:
    """'a' or 'an' for the phrase that follows."""
    first = phrase.split()[0].lower()
    sounds_like_you = first.startswith(("uniq", "unit", "univ", "use", "usu", "one"))
    vowel = first[0] in "aeiou" and not sounds_like_you
    return "an" if vowel else "a"


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Composer:
    """Builds reviews whose every opinion composes to a target polarity (+1 or -1)."""

    def __init__(self, grammar: dict[str, Any], rng: random.Random) -> None:
        self.g = grammar
        self.rng = rng
        self.tense = "past"
        self.used_subjects: set[str] = set()

    # --- small choices -------------------------------------------------------------------

    def _pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    def _pick_everyday(self, items: list[Any], p_first_two: float) -> Any:
        """Pick from a list whose first two entries are the everyday ones ("not", "film")."""
        return self._pick(items[:2] if self.rng.random() < p_first_two else items)

    def _negator(self, kind: str) -> str:
        return self._pick_everyday(self.g["negators"][kind], P_COMMON_NEGATOR)

    def _base_polarity(self, target: int) -> int:
        """The polarity of the word to use; it is negated when it differs from ``target``."""
        return target if self.rng.random() < P_DIRECT else -target

    def _adjective(self, polarity: int, kind: str, single_word: bool = False) -> str:
        side = self.g["adjectives"]["positive" if polarity > 0 else "negative"]
        if self.rng.random() < P_CORE_ADJECTIVE:
            return self._pick(side["core"])
        pool = list(dict.fromkeys(side["general"] + side.get(kind, [])))
        if single_word:
            pool = [a for a in pool if " " not in a]
        return self._pick(pool)

    def _intensified(self, adjective: str) -> str:
        """Optionally put "very", "a bit" and the like before an adjective."""
        if " " in adjective:  # "a mess", "full of holes": no "very" in front
            return adjective
        r = self.rng.random()
        if r < 0.30:
            return f"{self._pick(self.g['intensifiers']['strong'])} {adjective}"
        if r < 0.42:
            return f"{self._pick(self.g['intensifiers']['mild'])} {adjective}"
        return adjective

    def _negated_intensified(self, adjective: str) -> str:
        """An adjective after a negator, maybe with "very" or "at all": "not very good"."""
        if " " in adjective:
            return adjective
        r = self.rng.random()
        if r < 0.25:
            return f"{self._pick(self.g['intensifiers']['under_negation'])} {adjective}"
        if r < 0.55:
            return f"{adjective} {self.g['negators']['at_all']}"
        return adjective

    def _aspect(self) -> tuple[str, str, str]:
        """(phrase, number, kind) of something a review talks about, e.g. "the plot"."""
        for _ in range(10):  # two clauses of one sentence should not share a subject
            kind = self._pick(_ASPECT_KINDS)
            groups = self.g["aspects"][kind]
            number = "plural" if groups["plural"] and self.rng.random() < 0.25 else "singular"
            phrase = self._pick(groups[number])
            if phrase not in self.used_subjects:
                break
        self.used_subjects.add(phrase)
        return phrase, number, kind

    # --- clauses (lowercase, no final punctuation) ----------------------------------------

    def clause(self, target: int) -> str:
        kind = _weighted(self.rng, CLAUSE_KIND_WEIGHTS)
        return getattr(self, f"_{kind}")(target)

    def _copular(self, target: int) -> str:
        subject, number, kind = self._aspect()
        be = self.g["copula"][self.tense][number]
        base = self._base_polarity(target)
        adjective = self._adjective(base, kind)
        if base == target:
            return f"{subject} {be} {self._intensified(adjective)}"
        negator = self._negator("copula")
        if negator in self.g["negators"]["copula_takes_intensifier"]:
            adjective = self._negated_intensified(adjective)
        return f"{subject} {negator.format(be=be)} {adjective}"

    def _verbal(self, target: int) -> str:
        subject, _, _ = self._aspect()
        base = self._base_polarity(target)
        side = "positive" if base > 0 else "negative"
        past, infinitive = self._pick(self.g["verb_predicates"][side])
        if base == target:
            return f"{subject} {past}"
        negator = self._negator("verb")
        return f"{subject} {negator.format(base=infinitive, past=past)}"

    def _experience(self, target: int) -> str:
        subject, _, _ = self._aspect()
        base = self._base_polarity(target)
        side = "positive" if base > 0 else "negative"
        past, infinitive = self._pick(self.g["experience_verbs"][side])
        if base == target:
            return f"I {past} {subject}"
        negator = self._negator("verb")
        return f"I {negator.format(base=infinitive, past=past)} {subject}"

    def _quality(self, target: int) -> str:
        base = self._base_polarity(target)
        noun = self._pick(self.g["qualities"]["positive" if base > 0 else "negative"])
        if base == target:
            quantifier = self._pick(self.g["quantifiers"]["presence"])
            return f"{self._pick(self.g['quality_subjects'])} {quantifier} {noun}"
        if self.rng.random() < 0.3:
            return f"{self._pick(self.g['quality_negated_subjects'])} {noun}"
        quantifier = self._pick(self.g["quantifiers"]["absence"])
        return f"{self._pick(self.g['quality_subjects'])} {quantifier} {noun}"

    def _film_phrase(self, target: int) -> str:
        """A noun phrase about the whole film: "a boring film", "hardly a gripping thriller"."""
        base = self._base_polarity(target)
        adjective = self._adjective(base, "film", single_word=True)
        noun = self._pick_everyday(self.g["film_nouns"] + self.g["genres"], P_COMMON_FILM_NOUN)
        if base == target:
            described = self._intensified(adjective)
            return f"{_article(described)} {described} {noun}"
        described = adjective
        if self.rng.random() < 0.25:
            intensifier = self._pick(self.g["intensifiers"]["under_negation_attributive"])
            described = f"{intensifier} {adjective}"
        negator = self._negator("noun_phrase")
        return f"{negator} {_article(described)} {described} {noun}"

    def _predicate_phrase(self, target: int) -> str:
        """A verbless adjective phrase: "not good at all", "never boring", "very funny"."""
        base = self._base_polarity(target)
        adjective = self._adjective(base, "film")
        if base == target:
            return self._intensified(adjective)
        negator = self._negator("fragment")
        if negator in self.g["negators"]["fragment_takes_intensifier"]:
            adjective = self._negated_intensified(adjective)
        return f"{negator} {adjective}"

    # --- sentences (capitalised, punctuated) ----------------------------------------------

    def opinion(self, target: int) -> str:
        self.used_subjects.clear()
        kind = _weighted(self.rng, OPINION_KIND_WEIGHTS)
        return getattr(self, f"_{kind}_sentence")(target)

    def _simple_sentence(self, target: int) -> str:
        end = "!" if self.rng.random() < 0.08 else "."
        return _capitalise(self.clause(target)) + end

    def _compound_sentence(self, target: int) -> str:
        a, b = self.clause(target), self.clause(target)
        return self._pick(self.g["and_templates"]).format(A=_capitalise(a), b=b)

    def _contrast_sentence(self, target: int) -> str:
        """The main clause carries ``target``; the concession says the opposite."""
        concession, main = self.clause(-target), self.clause(target)
        group = "main_first" if self.rng.random() < 0.2 else "concession_first"
        template = self._pick(self.g["contrast_templates"][group])
        return template.format(
            A=_capitalise(concession), a=concession, B=_capitalise(main), b=main)

    def _np_contrast_sentence(self, target: int) -> str:
        """Two noun phrases in contrast, "a slow start but a great ending": the second decides."""
        first, second = self._pick(self.g["contrast_parts"])
        phrases = []
        for polarity, part in ((-target, first), (target, second)):
            described = self._intensified(self._adjective(polarity, "pacing", single_word=True))
            phrases.append(f"{_article(described)} {described} {part}")
        template = self._pick(self.g["np_contrast_templates"])
        return template.format(X=_capitalise(phrases[0]), Y=phrases[1])

    def _fragment_sentence(self, target: int) -> str:
        predicate, film = self._predicate_phrase(target), self._film_phrase(target)
        template = self._pick(self.g["fragment_templates"])
        return template.format(P=_capitalise(predicate), p=predicate, N=_capitalise(film), n=film)

    def verdict(self, target: int) -> str:
        base = self._base_polarity(target)
        entry = self._pick([v for v in self.g["verdicts"] if v["polarity"] == base])
        text = self._pick(entry["plain"] if base == target else entry["negated"])
        opener = self._pick(self.g["verdict_openers"])
        return (opener + text if opener else _capitalise(text)) + "."

    def filler(self) -> str:
        """A neutral sentence (when, with whom, what it is about) that carries no opinion."""
        template = self._pick(self.g["filler_templates"])
        slots = {k: self._pick(v) for k, v in self.g["filler_slots"].items()}
        slots["genre"] = self._pick(self.g["genres"])
        sentence = template.format(**slots)
        sentence = _A_BEFORE_WORD.sub(
            lambda m: f"{m.group(1)}{_article(m.group(2))[1:]} {m.group(2)}", sentence)
        return _capitalise(sentence)

    # --- whole reviews ---------------------------------------------------------------------

    def review(self, target: int) -> str:
        """One review of 1-4 sentences and 8-60 words whose meaning composes to ``target``."""
        while True:
            text = self._draft(target)
            words = len(text.split())
            sentences = sum(text.count(mark) for mark in ".!?")
            if MIN_WORDS <= words <= MAX_WORDS and 1 <= sentences <= 4:
                return text

    def _draft(self, target: int) -> str:
        self.tense = "past" if self.rng.random() < 0.7 else "present"
        count = _weighted(self.rng, SENTENCE_COUNT_WEIGHTS)
        fillers = {1: 0, 2: self.rng.randint(0, 1), 3: self.rng.choice([0, 1, 1, 2]),
                   4: self.rng.choice([1, 1, 2])}[count]
        opinions = count - fillers
        has_verdict = opinions >= 2 and self.rng.random() < 0.35
        body = [self.opinion(target) for _ in range(opinions - has_verdict)]
        for _ in range(fillers):
            position = 0 if self.rng.random() < 0.6 else self.rng.randint(0, len(body))
            body.insert(position, self.filler())
        if has_verdict:
            body.append(self.verdict(target))
        return " ".join(body)
