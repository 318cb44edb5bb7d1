"""Generate the built-in Chinese synthetic review set, where negation and contrast decide the label.

The same design as the English set (synthetic.py), with a small grammar kept here: every review
has an overall polarity and every opinion in it composes to that polarity. An adjective either
carries it directly ("剧情非常精彩") or is negated from the opposite side ("剧情一点也不无聊",
"这部电影没有让我失望"), and in a contrast ("开头很无聊，但是结尾非常精彩") the clause after 但是
carries it while the one before says the opposite. So each sentiment word shows up often in
the other class too, and a model has to read the order around it.

Every choice that is not a sentiment word (template, subject, negator 不/没有, intensifier 很/非常,
punctuation, filler) is drawn independently of the label, and positive and negative words come in
pairs used the same way ("好"/"差": jieba keeps both "不好" and "不差" as one word), so "不", "很",
"但是" or "电影" say nothing of the class beyond chance. ``sentiment_lexicon()`` lists the words that do.
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from ...errors import msg

LABELS = ("negative", "positive")

DESCRIPTION = msg(
    "engine.synthetic_zh.description",
    "Synthetic Chinese movie reviews (中文影评), generated offline by BigModel Lab from a small "
    "grammar: about 4,000 short reviews, half positive and half negative. They are not real reviews. "
    "They use negation (不, 没有: \"一点也不无聊\", \"没有让我失望\"), intensifiers (很, 非常) and contrast "
    "(\"开头很无聊，但是结尾非常精彩\": the clause after 但是 decides). Every sentiment word also appears "
    "often in reviews of the other class, and other words lean to neither class, so word order matters. "
    "The \"auto\" tokenizer splits them into words with jieba."
)

# the first entries of each list are the everyday ones; positive and negative lists pair up
GRAMMAR: dict[str, Any] = {
    "adjectives": {
        "positive": {"core": ["好", "好看", "精彩"],
                     "general": ["有趣", "感人", "出彩", "动人", "幽默", "紧凑", "自然", "用心"]},
        "negative": {"core": ["差", "难看", "无聊"],
                     "general": ["乏味", "糟糕", "平淡", "拖沓", "沉闷", "老套", "尴尬", "混乱"]},
    },
    "subjects": ["这部电影", "这部片子", "剧情", "故事", "演员的表演", "主角", "音乐", "画面", "特效",
                 "节奏", "结尾", "开头", "对白", "配乐", "镜头"],
    "intensifiers": ["很", "非常", "特别", "十分", "真的很"],
    "adjective_negators": ["不", "并不", "一点也不", "根本不", "没有那么"],
    "feelings": {"positive": ["感动", "惊喜", "满意"], "negative": ["失望", "厌烦", "难受"]},  # 让我 X / 没有让我 X
    "attitudes": {"positive": ["喜欢", "推荐"], "negative": ["讨厌", "后悔看"]},  # 我 X 这部电影 / 我不 X
    "qualities": {"positive": ["亮点", "新意"], "negative": ["漏洞", "毛病"]},  # 有很多 X / 没有什么 X
    "presence": ["有很多", "有不少"],
    "absence": ["没有", "没有什么"],
    "films": ["电影", "片子", "作品"],
    "contrast_templates": ["{a}，但是{b}", "虽然{a}，但是{b}"],
    "and_templates": ["{a}，而且{b}", "{a}，{b}"],
    "fillers": ["我是和{who}一起看的", "这是一部{genre}", "我在{where}看的这部电影", "{when}看了这部电影"],
    "filler_slots": {"who": ["朋友", "家人", "同学", "孩子"], "genre": ["喜剧片", "爱情片", "动作片", "科幻片", "动画片"],
                     "where": ["电影院", "家里", "网上"], "when": ["周末", "昨天晚上", "上个月"]},
}

P_DIRECT = 0.65  # as in the English set: the only (weak) bag-of-words signal is the sentiment words
P_CORE = 0.5  # "好", "无聊": everyday words, learned in the few epochs of a classroom run
P_EVERYDAY = 0.5  # "不" rather than "根本不", "这部电影" rather than "配乐"
SENTENCE_WEIGHTS = {1: 0.3, 2: 0.45, 3: 0.25}  # opinions per review
OPINION_WEIGHTS = {"simple": 0.45, "compound": 0.15, "contrast": 0.25, "fragment": 0.15}
CLAUSE_WEIGHTS = {"copular": 0.55, "feeling": 0.15, "attitude": 0.15, "quality": 0.15}


def generate_reviews_zh(n: int = 4000, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` Chinese reviews, half "negative" and half "positive" (the odd one out is positive).

    The same seed always gives the same reviews in the same order; 4,000 take about 0.1 s.
    """
    rng = random.Random(seed)
    composer = _Composer(rng)
    polarities = [-1] * (n // 2) + [1] * (n - n // 2)
    rng.shuffle(polarities)
    return [composer.review(t) for t in polarities], [LABELS[t > 0] for t in polarities]


def sentiment_lexicon() -> frozenset[str]:
    """The words the grammar's sentiment slots hold; every other word is drawn independently of the label."""
    g = GRAMMAR
    words = [a for side in g["adjectives"].values() for group in side.values() for a in group]
    for key in ("feelings", "attitudes", "qualities"):
        words += [w for side in g[key].values() for w in side]
    return frozenset(words)


class _Composer:
    """Builds reviews whose every opinion composes to a target polarity (+1 or -1)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _pick(self, items: Sequence[Any]) -> Any:
        return self.rng.choice(items)

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _everyday(self, items: Sequence[Any], k: int = 2) -> Any:
        return self._pick(items[:k] if self._chance(P_EVERYDAY) else items)

    def _side(self, key: str, polarity: int) -> list[str]:
        return GRAMMAR[key]["positive" if polarity > 0 else "negative"]

    def _adjective(self, polarity: int) -> str:
        side = self._side("adjectives", polarity)
        return self._pick(side["core"] if self._chance(P_CORE) else side["core"] + side["general"])

    def _intensifier(self) -> str:
        """很, 非常, ... before an adjective. jieba keeps "很差" as one word but splits "很 好", so 很 alone
        leans very slightly to the positive class (log-odds about 0.1, far under the tested 0.3); leaving
        很 out before 好/差 would remove that lean but also "很差", the first thing a student types."""
        return self._everyday(GRAMMAR["intensifiers"])

    def _subject(self) -> str:
        for _ in range(10):  # two clauses of one sentence should not share a subject
            subject = self._everyday(GRAMMAR["subjects"])
            if subject not in self.used:
                break
        self.used.add(subject)
        return subject

    # --- clauses: the polarity of the word used, negated when it differs from the target ---------
    def clause(self, target: int) -> str:
        base = target if self._chance(P_DIRECT) else -target
        kind = self.rng.choices(list(CLAUSE_WEIGHTS), weights=list(CLAUSE_WEIGHTS.values()))[0]
        return getattr(self, f"_{kind}")(base, negated=base != target)

    def _copular(self, base: int, negated: bool) -> str:
        subject, adjective = self._subject(), self._adjective(base)
        if negated:
            return f"{subject}{self._everyday(GRAMMAR['adjective_negators'], 1)}{adjective}"
        return f"{subject}{self._intensifier()}{adjective}"

    def _feeling(self, base: int, negated: bool) -> str:
        feeling = self._pick(self._side("feelings", base))
        return f"{self._subject()}{'没有' if negated else ''}让我{feeling}"

    def _attitude(self, base: int, negated: bool) -> str:
        attitude = self._pick(self._side("attitudes", base))
        return f"我{'不' if negated else self._pick(['', '很'])}{attitude}{self._subject()}"

    def _quality(self, base: int, negated: bool) -> str:
        amount = self._pick(GRAMMAR["absence" if negated else "presence"])
        return f"{self._subject()}{amount}{self._pick(self._side('qualities', base))}"

    # --- sentences ------------------------------------------------------------------------------
    def opinion(self, target: int) -> str:
        self.used.clear()
        kind = self.rng.choices(list(OPINION_WEIGHTS), weights=list(OPINION_WEIGHTS.values()))[0]
        if kind == "simple":
            return self.clause(target)
        if kind == "compound":
            return self._pick(GRAMMAR["and_templates"]).format(a=self.clause(target), b=self.clause(target))
        if kind == "contrast":  # the clause after 但是 carries the target
            return self._pick(GRAMMAR["contrast_templates"]).format(a=self.clause(-target), b=self.clause(target))
        base = target if self._chance(P_DIRECT) else -target
        adjective = self._adjective(base)
        described = f"{self._intensifier()}{adjective}的{self._everyday(GRAMMAR['films'], 1)}"
        return f"{'这不是' if base != target else '这是'}一部{described}"

    def filler(self) -> str:
        slots = {k: self._pick(v) for k, v in GRAMMAR["filler_slots"].items()}
        return self._pick(GRAMMAR["fillers"]).format(**slots)

    def review(self, target: int) -> str:
        count = self.rng.choices(list(SENTENCE_WEIGHTS), weights=list(SENTENCE_WEIGHTS.values()))[0]
        body = [self.opinion(target) for _ in range(count)]
        if self._chance(0.3):
            body.insert(0 if self._chance(0.6) else len(body), self.filler())
        return "".join(s + ("！" if self._chance(0.1) else "。") for s in body)
