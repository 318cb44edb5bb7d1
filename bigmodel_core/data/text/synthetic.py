"""Generate the built-in synthetic movie-review set, where word order decides the label.

Every review has an overall polarity, and every opinion in it composes to that polarity:
an adjective either carries it directly ("a boring film") or is negated from the opposite
side ("not good at all", "never boring"), and in a contrast ("a slow start but a great
ending") the main clause carries it while the concession says the opposite. Each positive
and negative word therefore shows up often in the other class too, so a bag-of-words
model sees only a weak signal and a model that reads the order does much better.
Labels follow from the composition alone: there is no label noise.

Every choice that is not a sentiment word (template, punctuation, negator, intensifier,
subject, filler, even "a" or "an") is drawn independently of the label, and every
sentiment slot holds single sentiment words or phrases whose other words are the same on
both sides ("held my attention" / "lost my attention"). So "," or "not" or "film" says
nothing about the class, beyond chance; a model can learn the class only from the sentiment
words and the order around them. ``sentiment_lexicon()`` lists those words.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any, Sequence

from ...errors import msg

GRAMMAR_PATH = Path(__file__).resolve().parents[3] / "assets" / "review_grammar.json"
LABELS = ("negative", "positive")

DESCRIPTION = msg(
    "engine.synthetic.description",
    "Synthetic movie reviews, generated offline by BigModel Lab from a small English grammar "
    "(assets/review_grammar.json): about 6,000 short reviews, half positive and half negative, "
    "using about 1,250 distinct everyday review words. They are not real reviews. "
    "They use negation (\"not good at all\", \"never boring\", \"wasn't funny\"), intensifiers "
    "(\"very\", \"a bit\") and contrast (\"a slow start but a great ending\"). Every "
    "sentiment word also appears often in reviews of the other class, and other words, commas "
    "included, lean to neither class, so word order matters: a bag-of-words model does "
    "noticeably worse than one that reads the sequence."
)

# Chance that an opinion uses a word of its own polarity rather than a negated opposite.
# 0.5 would make each sentiment word useless on its own; above it keeps a weak bag-of-words
# signal (as in real reviews) so that small models start learning quickly. No other word leans
# to a class, so this is the only such signal; much higher and word order would stop mattering.
P_DIRECT = 0.65
# Chance of a common word ("good", "boring") rather than the long tail: real reviews are Zipfian,
# and a word seen often is learned in the few epochs of a classroom run.
P_CORE_ADJECTIVE = 0.5
P_COMMON_NEGATOR = 0.5  # "not good" is far more common than "by no means good"
P_COMMON_FILM_NOUN = 0.4  # "a boring film" is far more common than "a boring mockumentary"
P_AN = 0.25  # "an awful film": the article is drawn first, then an adjective that fits it
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


def sentiment_lexicon(grammar: dict[str, Any] | None = None) -> frozenset[str]:
    """The lowercase words that carry sentiment: what the grammar's sentiment slots hold.

    Adjectives, experience verbs, quality nouns, verdict words, and the words in which a verb
    predicate's positive side differs from its negative side ("held"/"lost" my attention).
    Every other word is drawn independently of the label.
    """
    g = grammar or load_grammar()
    phrases = [a for side in g["adjectives"].values() for words in side.values() for a in words]
    phrases += [form for side in g["experience_verbs"].values() for forms in side for form in forms]
    phrases += [q for side in g["qualities"].values() for q in side]
    phrases += [w for verdict in g["verdicts"] for pair in verdict["words"] for w in pair]
    words = _words_of(phrases)
    for positive, negative in g["verb_predicates"]:
        words |= _words_of(positive) ^ _words_of(negative)
    return frozenset(words)


def _words_of(phrases: list[str]) -> set[str]:
    return {w for phrase in phrases for w in phrase.lower().split()}


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


def _fits(text: str) -> bool:
    """8-60 words and 1-4 sentences, like a short real review."""
    sentences = sum(text.count(mark) for mark in ".!?")
    return MIN_WORDS <= len(text.split()) <= MAX_WORDS and 1 <= sentences <= 4


class _Composer:
    """Builds reviews whose every opinion composes to a target polarity (+1 or -1)."""

    def __init__(self, grammar: dict[str, Any], rng: random.Random) -> None:
        self.g = grammar
        self.rng = rng
        self.film_nouns = grammar["film_nouns"] + grammar["genres"]
        self.attributive_mild = [m for m in grammar["intensifiers"]["mild"] if " " not in m]
        self.tense = "past"
        self.used_subjects: set[str] = set()

    # --- small choices -------------------------------------------------------------------

    def _pick(self, items: Sequence[Any]) -> Any:
        return self.rng.choice(items)

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _pick_everyday(self, items: list[Any], p_first_two: float) -> Any:
        """Pick from a list whose first two entries are the everyday ones ("not", "film")."""
        return self._pick(items[:2] if self._chance(p_first_two) else items)

    def _negator(self, kind: str) -> str:
        return self._pick_everyday(self.g["negators"][kind], P_COMMON_NEGATOR)

    def _base_polarity(self, target: int) -> int:
        """The polarity of the word to use; it is negated when it differs from ``target``."""
        return target if self._chance(P_DIRECT) else -target

    def _adjective(self, polarity: int, kind: str, article: str | None = None) -> str:
        """A sentiment adjective that fits ``article``, drawn first so that "an" says nothing of the label."""
        side = self.g["adjectives"]["positive" if polarity > 0 else "negative"]
        pool = list(dict.fromkeys(side["general"] + side.get(kind, [])))
        if self.rng.random() < P_CORE_ADJECTIVE:
            pool = side["core"]
        fitting = [a for a in pool if article is None or _article(a) == article]
        return self._pick(fitting or [a for a in side["general"] if _article(a) == article])

    def _intensifier(self, attributive: bool = False) -> str:
        """"very", "a bit" and the like before an adjective, or "" (most go bare).

        Before a noun (``attributive``) only one-word ones: "a slightly slow start", not "a a bit slow start".
        """
        r = self.rng.random()
        if r < 0.30:
            return self._pick(self.g["intensifiers"]["strong"])
        if r < 0.42:
            return self._pick(self.attributive_mild if attributive else self.g["intensifiers"]["mild"])
        return ""

    def _intensified(self, polarity: int, kind: str) -> str:
        return " ".join(filter(None, [self._intensifier(), self._adjective(polarity, kind)]))

    def _described(self, polarity: int, kind: str, intensifier: str) -> str:
        """An article and an adjective with its intensifier: "a boring", "an awful", "a very dull"."""
        if intensifier:
            return f"{_article(intensifier)} {intensifier} {self._adjective(polarity, kind)}"
        article = "an" if self._chance(P_AN) else "a"
        return f"{article} {self._adjective(polarity, kind, article)}"

    def _negated_intensified(self, adjective: str) -> str:
        """An adjective after a negator, maybe with "very" or "at all": "not very good"."""
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
            number = "plural" if groups["plural"] and self._chance(0.25) else "singular"
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
        if base == target:
            return f"{subject} {be} {self._intensified(base, kind)}"
        negator = self._negator("copula")
        adjective = self._adjective(base, kind)
        if negator in self.g["negators"]["copula_takes_intensifier"]:
            adjective = self._negated_intensified(adjective)
        return f"{subject} {negator.format(be=be)} {adjective}"

    def _verbal(self, target: int) -> str:
        subject, _, _ = self._aspect()
        base = self._base_polarity(target)
        positive, negative = self._pick(self.g["verb_predicates"])  # same words but the sentiment ones
        past, infinitive = positive if base > 0 else negative
        if base == target:
            return f"{subject} {past}"
        negator = self._negator("verb")
        return f"{subject} {negator.format(base=infinitive, past=past)}"

    def _experience(self, target: int) -> str:
        subject, _, _ = self._aspect()
        base = self._base_polarity(target)
        past, infinitive = self._pick(self.g["experience_verbs"]["positive" if base > 0 else "negative"])
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
        if self._chance(0.3):
            return f"{self._pick(self.g['quality_negated_subjects'])} {noun}"
        quantifier = self._pick(self.g["quantifiers"]["absence"])
        return f"{self._pick(self.g['quality_subjects'])} {quantifier} {noun}"

    def _film_phrase(self, target: int) -> str:
        """A noun phrase about the whole film: "a boring film", "hardly a gripping thriller"."""
        base = self._base_polarity(target)
        noun = self._pick_everyday(self.film_nouns, P_COMMON_FILM_NOUN)
        if base == target:
            return f"{self._described(base, 'film', self._intensifier(attributive=True))} {noun}"
        intensifier = ""
        if self._chance(0.25):
            intensifier = self._pick(self.g["intensifiers"]["under_negation_attributive"])
        negator = self._negator("noun_phrase")
        return f"{negator} {self._described(base, 'film', intensifier)} {noun}"

    def _predicate_phrase(self, target: int) -> str:
        """A verbless adjective phrase: "not good at all", "never boring", "very funny"."""
        base = self._base_polarity(target)
        if base == target:
            return self._intensified(base, "film")
        negator = self._negator("fragment")
        adjective = self._adjective(base, "film")
        if negator in self.g["negators"]["fragment_takes_intensifier"]:
            adjective = self._negated_intensified(adjective)
        return f"{negator} {adjective}"

    # --- sentences (capitalised, punctuated) ----------------------------------------------

    def opinion(self, target: int) -> str:
        self.used_subjects.clear()
        kind = _weighted(self.rng, OPINION_KIND_WEIGHTS)
        return getattr(self, f"_{kind}_sentence")(target)

    def _simple_sentence(self, target: int) -> str:
        end = "!" if self._chance(0.08) else "."
        return _capitalise(self.clause(target)) + end

    def _compound_sentence(self, target: int) -> str:
        a, b = self.clause(target), self.clause(target)
        return self._pick(self.g["and_templates"]).format(A=_capitalise(a), b=b)

    def _contrast_sentence(self, target: int) -> str:
        """The main clause carries ``target``; the concession says the opposite."""
        concession, main = self.clause(-target), self.clause(target)
        group = "main_first" if self._chance(0.2) else "concession_first"
        template = self._pick(self.g["contrast_templates"][group])
        return template.format(
            A=_capitalise(concession), a=concession, B=_capitalise(main), b=main)

    def _np_contrast_sentence(self, target: int) -> str:
        """Two noun phrases in contrast, "a slow start but a great ending": the second decides."""
        first, second = self._pick(self.g["contrast_parts"])
        phrases = [f"{self._described(polarity, 'pacing', self._intensifier(attributive=True))} {part}"
                   for polarity, part in ((-target, first), (target, second))]
        template = self._pick(self.g["np_contrast_templates"])
        return template.format(X=_capitalise(phrases[0]), Y=phrases[1])

    def _fragment_sentence(self, target: int) -> str:
        predicate, film = self._predicate_phrase(target), self._film_phrase(target)
        template = self._pick(self.g["fragment_templates"])
        return template.format(P=_capitalise(predicate), p=predicate, N=_capitalise(film), n=film)

    def verdict(self, target: int) -> str:
        """"I wouldn't skip it", "it was a chore": {w} is one word of a [positive, negative] pair."""
        base = self._base_polarity(target)
        entry = self._pick(self.g["verdicts"])
        template = self._pick(entry["plain" if base == target else "negated"])
        positive, negative = self._pick(entry["words"])
        text = template.format(w=positive if base > 0 else negative)
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
            if _fits(text):
                return text

    def _draft(self, target: int) -> str:
        self.tense = "past" if self._chance(0.7) else "present"
        count = _weighted(self.rng, SENTENCE_COUNT_WEIGHTS)
        fillers = {1: 0, 2: self.rng.randint(0, 1), 3: self.rng.choice([0, 1, 1, 2]),
                   4: self.rng.choice([1, 1, 2])}[count]
        opinions = count - fillers
        has_verdict = opinions >= 2 and self._chance(0.35)
        body = [self.opinion(target) for _ in range(opinions - has_verdict)]
        for _ in range(fillers):
            position = 0 if self._chance(0.6) else self.rng.randint(0, len(body))
            body.insert(position, self.filler())
        if has_verdict:
            body.append(self.verdict(target))
        return " ".join(body)
