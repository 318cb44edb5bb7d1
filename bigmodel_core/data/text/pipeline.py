"""Text pipeline: clean, tokenize (NLTK or jieba, no downloaded data), build a vocabulary, encode to ids."""
from __future__ import annotations

import html
import json
import logging
import re
import tempfile
import threading
from collections import Counter
from dataclasses import asdict
from typing import Callable, Iterable, Sequence

import numpy as np

from ...config import STEMMERS, TOKENIZERS, DataConfig  # noqa: F401 (re-exported for the Data page)
from ...errors import ConfigError, DataError, did_you_mean, msg

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

_HTML_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"(https?://\S+|www\.\S+)")
_NEGATIONS = {"not", "no", "never", "n't", "nor", "neither", "nobody", "nothing", "none", "nowhere",
              "cannot", "without", "hardly", "barely"}
# A compact English stop-word list (NLTK's list needs downloaded data); negations are left out on purpose.
_STOPWORDS = frozenset(
    "a an the and or of to in on at by for with from as is are was were be been being am it its it's "
    "this that these those i me my we our you your he him his she her they them their there here "
    "what which who whom whose do does did doing have has had having so than too very s t can will "
    "just should would could about into over after before again further then once all any both each "
    "few more most other some such only own same up down out off under until while if because".split()
) - _NEGATIONS



def _fast_treebank() -> Callable[[str], list[str]]:
    """NLTK's Treebank tokenizer with its own fixed patterns compiled by the stdlib `re`.

    NLTK 3.10 runs every regex through a timed `regex` wrapper (a guard against hostile
    *patterns*); Treebank's ~30 patterns are NLTK's own constants, so the wrapper only costs time
    (BENCHMARKS.md section 8). Same patterns, same algorithm, same tokens (tested).
    """
    from nltk import redos
    from nltk.tokenize import TreebankWordTokenizer

    mask = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE

    def plain(p):
        return re.compile(p._rx.pattern, p._rx.flags & mask) if isinstance(p, redos.TimedPattern) else p

    tok = TreebankWordTokenizer()
    for name in dir(TreebankWordTokenizer):
        value = getattr(TreebankWordTokenizer, name)
        if not name.isupper() or not isinstance(value, (list, tuple)) or not value:
            continue
        if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], tuple):
            setattr(tok, name, (plain(value[0]), value[1]))
        elif isinstance(value[0], tuple):
            setattr(tok, name, [(plain(a), b) for a, b in value])
        else:
            setattr(tok, name, [plain(a) for a in value])
    return tok.tokenize


# CJK ideographs: the unified block, extension A and the compatibility block (what Chinese text is made of)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")
_JIEBA_LOCK = threading.Lock()


def cjk_share(text: str) -> float:
    """The share of the non-space characters of `text` that are CJK ideographs (0.0 for an empty text)."""
    chars = _SPACE.sub("", text)
    return len(_CJK.findall(chars)) / len(chars) if chars else 0.0


def choose_tokenizer(texts: Iterable[str]) -> str:
    """What "auto" tokenizes `texts` with: "jieba" when more than half of their non-space characters
    are CJK ideographs (Chinese has no spaces between words), else "treebank"."""
    cjk = total = 0
    for text in texts:
        chars = _SPACE.sub("", text)
        cjk += len(_CJK.findall(chars))
        total += len(chars)
    return "jieba" if total and cjk * 2 > total else "treebank"


def _jieba() -> Callable[[str], list[str]]:
    """jieba's word splitter, set up once per process: its start-up log silenced, and the cache of its
    dictionary (built on the first call, ~0.5 s) kept in the workspace cache rather than the shared temp dir."""
    import jieba

    with _JIEBA_LOCK:
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)
            jieba.dt.tmp_dir = _jieba_cache_dir()
            jieba.initialize()
    cut = jieba.dt.lcut
    return lambda text: [t for t in cut(text) if not t.isspace()]


def _jieba_cache_dir() -> str:
    from ..download import cache_dir

    folder = (cache_dir() / "jieba").resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)
    except OSError:  # a read-only workspace: a private temp folder, never one other users write to
        return tempfile.mkdtemp(prefix="bigmodel-jieba-")


def _auto() -> Callable[[str], list[str]]:
    """Per text: jieba for a text that is mostly CJK, Treebank otherwise; so English text gets exactly
    the tokens "treebank" gives, and a saved run that says "auto" reloads with the same rule."""
    treebank, jieba_cut = _fast_treebank(), None

    def tokenize(text: str) -> list[str]:
        nonlocal jieba_cut
        if choose_tokenizer([text]) == "treebank":
            return treebank(text)
        jieba_cut = jieba_cut or _jieba()  # jieba is imported only once a Chinese text comes
        return jieba_cut(text)

    return tokenize


def _make_tokenizer(name: str) -> Callable[[str], list[str]]:
    if name == "auto":
        return _auto()
    if name == "jieba":
        return _jieba()
    if name == "treebank":
        return _fast_treebank()
    if name == "tweet":
        from nltk.tokenize import TweetTokenizer

        return TweetTokenizer(preserve_case=True, reduce_len=True).tokenize
    if name == "regexp":
        from nltk.tokenize import RegexpTokenizer

        return RegexpTokenizer(r"\w+(?:'\w+)?|[^\w\s]").tokenize
    if name == "whitespace":
        return str.split
    raise ConfigError(msg("errors.pipeline.unknown_tokenizer", "'{name}' is not a tokenizer.", name=name),
                      did_you_mean(name, TOKENIZERS))


def _make_stemmer(name: str | None) -> Callable[[str], str] | None:
    if name is None:
        return None
    if name == "porter":
        from nltk.stem import PorterStemmer

        return PorterStemmer().stem
    if name == "snowball":
        from nltk.stem import SnowballStemmer

        return SnowballStemmer("english").stem
    raise ConfigError(msg("errors.pipeline.unknown_stemmer", "'{name}' is not a stemmer.", name=name),
                      did_you_mean(name, STEMMERS))


class TextPipeline:
    """Turns raw text into token ids; `fit` learns the vocabulary from training texts only."""

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg
        self._tokenize = _make_tokenizer(cfg.tokenizer)
        self._stem = _make_stemmer(cfg.stemmer)
        self._stem_cache: dict[str, str] = {}
        self.itos: list[str] = [PAD, UNK]
        self.stoi: dict[str, int] = {PAD: PAD_ID, UNK: UNK_ID}

    # --- text -> tokens -------------------------------------------------------------------------
    def clean(self, text: str) -> str:
        if self.cfg.strip_html:
            text = html.unescape(_HTML_TAG.sub(" ", text))
        if self.cfg.strip_urls:
            text = _URL.sub(" ", text)
        return text.lower() if self.cfg.lowercase else text

    def tokenizer_for(self, text: str) -> str:
        """The tokenizer that splits `text`: the configured one, or what "auto" picks for this text."""
        name = self.cfg.tokenizer
        return choose_tokenizer([self.clean(text)]) if name == "auto" else name

    def tokens(self, text: str) -> list[str]:
        """Cleaned, tokenized, optionally stop-word-filtered and stemmed tokens of one text.

        Stop words and stemmers are English only: they leave Chinese words as they are (and lowercasing
        changes nothing in Chinese), so with jieba they touch only the Latin words of a text.
        """
        toks = self._tokenize(self.clean(text))
        if self.cfg.remove_stopwords:
            toks = [t for t in toks if t.lower() not in _STOPWORDS]
        if self._stem is not None:
            toks = [self._stem_one(t) for t in toks]
        return toks[: self.cfg.max_len]

    def _stem_one(self, tok: str) -> str:
        out = self._stem_cache.get(tok)
        if out is None:
            out = self._stem_cache[tok] = self._stem(tok)
        return out

    # --- vocabulary -----------------------------------------------------------------------------
    def fit(self, texts: Iterable[str]) -> "TextPipeline":
        return self.fit_tokens(self.tokens(text) for text in texts)

    def fit_tokens(self, token_lists: Iterable[Sequence[str]]) -> "TextPipeline":
        """Learn the vocabulary from already-tokenized training texts."""
        counts = Counter(t for toks in token_lists for t in toks)
        kept = [w for w, c in counts.most_common() if c >= self.cfg.min_freq]
        kept = kept[: max(self.cfg.max_vocab - 2, 0)]
        if not kept:
            raise DataError(msg("errors.pipeline.no_words", "The training texts contain no words to learn from."),
                            msg("errors.pipeline.no_words.hint",
                                "Check that the text column holds sentences, or lower the minimum word frequency."))
        self.itos = [PAD, UNK] + kept
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode_tokens(self, toks: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, UNK_ID) for t in toks]

    def encode(self, texts: Iterable[str]) -> list[np.ndarray]:
        """One int64 id array per text; an empty text becomes a single <unk> so models see length 1."""
        return self.encode_token_lists(self.tokens(text) for text in texts)

    def encode_token_lists(self, token_lists: Iterable[Sequence[str]]) -> list[np.ndarray]:
        return [np.asarray(self.encode_tokens(toks) or [UNK_ID], dtype=np.int64) for toks in token_lists]

    def is_known(self, tok: str) -> bool:
        return tok in self.stoi

    pad_id = PAD_ID

    def word_positions(self, toks: Sequence[str]) -> list[list[int]]:
        """For each token, its positions in `encode_tokens(toks)`: one id per word here (a sub-word
        pipeline gives several), so per-position scores are added up per word the same way for both."""
        return [[i] for i in range(len(toks))]

    def baseline_ids(self, toks: Sequence[str]) -> list[int]:
        """"No words": <pad> in every position (its vector is all zeros)."""
        return [PAD_ID] * len(toks)

    def model_inputs(self) -> dict:
        """What the model is built from: the vocabulary size."""
        return {"vocab_size": self.vocab_size}

    # --- persistence (JSON, never pickle) -------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"config": asdict(self.cfg), "itos": self.itos})

    @classmethod
    def from_json(cls, text: str):
        """The pipeline a run saved: a word vocabulary, or a pretrained model's tokenizer ("kind")."""
        from ...config import from_dict

        data = json.loads(text)
        if data.get("kind") == "pretrained":
            from .pretrained_pipeline import PretrainedPipeline

            return PretrainedPipeline.from_dict(data)
        pipe = cls(from_dict(DataConfig, data["config"]))
        pipe.itos = list(data["itos"])
        pipe.stoi = {w: i for i, w in enumerate(pipe.itos)}
        return pipe


def trace(pipeline, text: str) -> dict:
    """The steps one text goes through (raw → cleaned → tokens → ids), for the Data page.

    A pretrained model's pipeline adds "pieces": the word pieces the ids stand for ([CLS], film, ##s, ...).
    """
    toks = pipeline.tokens(text)
    ids = pipeline.encode_tokens(toks)
    out = {"raw": text, "cleaned": pipeline.clean(text), "tokens": toks, "ids": ids,
           "unknown": [t for t in toks if not pipeline.is_known(t)]}
    if hasattr(pipeline, "tokenizer_for"):
        out["tokenizer"] = pipeline.tokenizer_for(text)
    if hasattr(pipeline, "pieces"):
        out["pieces"] = pipeline.pieces(toks)
    return out
