"""The text pipeline of a pretrained Transformer: its own sub-word tokenizer instead of a word vocabulary.

It offers what TextPipeline offers (tokens, encode_tokens, encode, is_known, vocab_size, to_json),
so the Trainer, the Predictor, LIME, Integrated Gradients and attention use it unchanged:

- `tokens(text)` are *words*, as the model's own pre-tokenizer splits them (after its normalizer:
  lower-casing and accent stripping for uncased models). LIME removes words, not word pieces.
- `encode_tokens(words)` gives the ids the model reads: [CLS] + every word's pieces + [SEP],
  cut to `max_length` pieces; `word_positions(words)` says which positions hold which word, so a
  per-piece score (gradients, attention) is added up per word.

Built on the `tokenizers` library (the Rust tokenizer under transformers' fast tokenizers): the
tokenizer is kept as its own JSON, so a saved run needs neither the original folder nor the network.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Iterable, Sequence

import numpy as np

from ...config import DataConfig
from ...errors import ModelError, msg

KIND = "pretrained"  # the "kind" field of vocab.json; a word vocabulary has none


class PretrainedPipeline:
    """Raw text -> words -> word-piece ids, with a pretrained model's tokenizer (a `tokenizers.Tokenizer`)."""

    kind = KIND

    def __init__(self, cfg: DataConfig, tokenizer_json: str, max_length: int, encoder: dict[str, Any],
                 source: str = "") -> None:
        from tokenizers import Tokenizer

        self.cfg, self.max_length, self.encoder, self.source = cfg, int(max_length), dict(encoder), source
        self.tokenizer_json = tokenizer_json
        try:
            tok = Tokenizer.from_str(tokenizer_json)
        except Exception as exc:  # noqa: BLE001 - the tokenizers library raises a bare Exception on bad JSON
            raise ModelError(msg("errors.pretrained_pipeline.bad_tokenizer",
                                 "The pretrained model's tokenizer could not be read ({error}).", error=str(exc)[:120]),
                             msg("errors.pretrained_pipeline.bad_tokenizer.hint",
                                 "Use a model folder whose tokenizer.json comes from the transformers "
                                 "library.")) from None
        tok.no_padding()
        tok.no_truncation()  # cut by hand: whole words only, so every word shown is a word the model read
        self._tok = tok
        self._words = self._word_splitter()
        self.pad_id = self._special_id(("[PAD]", "<pad>"), default=0)
        self.unk_id = self._special_id(("[UNK]", "<unk>"), default=None)
        self._specials = self._special_count()

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_folder(cls, cfg: DataConfig, folder, max_length: int, encoder: dict[str, Any],
                    source: str = "") -> "PretrainedPipeline":
        """The tokenizer of a checked Hugging Face folder (tokenizer.json, or vocab.txt converted by transformers)."""
        from pathlib import Path

        path = Path(folder) / "tokenizer.json"
        if path.is_file():
            return cls(cfg, path.read_text(encoding="utf-8"), max_length, encoder, source)
        from ...models.pretrained import quiet_transformers

        quiet_transformers()
        from transformers import AutoTokenizer

        try:  # a folder with only vocab.txt: transformers builds the fast tokenizer from it
            fast = AutoTokenizer.from_pretrained(str(folder), use_fast=True, trust_remote_code=False)
            text = fast.backend_tokenizer.to_str()
        except (OSError, ValueError, AttributeError, KeyError) as exc:
            raise ModelError(msg("errors.pretrained_pipeline.bad_tokenizer",
                                 "The pretrained model's tokenizer could not be read ({error}).",
                                 error=type(exc).__name__),
                             msg("errors.pretrained_pipeline.no_tokenizer.hint",
                                 "Use a model folder with tokenizer.json or vocab.txt.")) from None
        return cls(cfg, text, max_length, encoder, source)

    def _word_splitter(self):
        norm, pre = self._tok.normalizer, self._tok.pre_tokenizer

        def words(text: str) -> list[str]:
            text = norm.normalize_str(text) if norm is not None else text
            return [w for w, _ in pre.pre_tokenize_str(text)] if pre is not None else text.split()
        return words

    def _special_id(self, names: Sequence[str], default):
        for name in names:
            i = self._tok.token_to_id(name)
            if i is not None:
                return int(i)
        return default

    def _special_count(self) -> int:
        """How many ids the post-processor adds ([CLS] and [SEP]: 2 for BERT)."""
        enc = self._tok.encode(["a"], is_pretokenized=True)
        return len(enc.ids) - sum(1 for w in enc.word_ids if w is not None)

    # --- text -> words --------------------------------------------------------------------------
    def clean(self, text: str) -> str:
        """Markup and links removed as for the small models; case is the tokenizer's business."""
        from .pipeline import _HTML_TAG, _URL
        import html

        if self.cfg.strip_html:
            text = html.unescape(_HTML_TAG.sub(" ", text))
        if self.cfg.strip_urls:
            text = _URL.sub(" ", text)
        return text

    def tokens(self, text: str) -> list[str]:
        """The words of `text` the model reads: those whose pieces all fit in `max_length`."""
        words = self._words(self.clean(text))[: self.cfg.max_len]
        if not words:
            return []
        keep = self._fitting(self._tok.encode(words, is_pretokenized=True).word_ids)
        return words[:keep]

    def _fitting(self, word_ids: Sequence[Any]) -> int:
        """How many leading words have all their pieces within max_length (with the special tokens)."""
        room = max(self.max_length - self._specials, 1)
        pieces = [w for w in word_ids if w is not None]
        if len(pieces) <= room:
            return (max(pieces) + 1) if pieces else 0
        cut = pieces[room]  # the first word with a piece past the limit is left out whole
        return max(cut, 1)

    # --- words -> ids ---------------------------------------------------------------------------
    def fit_tokens(self, token_lists: Iterable[Sequence[str]]) -> "PretrainedPipeline":
        """Nothing to learn: the vocabulary came with the model (the training texts are not looked at)."""
        return self

    def fit(self, texts: Iterable[str]) -> "PretrainedPipeline":
        return self

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def _encode(self, toks: Sequence[str]):
        toks = list(toks) or [""]
        return self._tok.encode(toks, is_pretokenized=True)

    def _cut(self, ids: Sequence[int]) -> list[int]:
        """At most max_length ids, keeping the closing special token(s)."""
        ids = list(ids)
        if len(ids) <= self.max_length:
            return ids
        tail = ids[-(self._specials - self._specials // 2):] if self._specials else []
        return ids[: self.max_length - len(tail)] + tail

    def encode_tokens(self, toks: Sequence[str]) -> list[int]:
        return self._cut(self._encode(toks).ids)

    def encode_token_lists(self, token_lists: Iterable[Sequence[str]]) -> list[np.ndarray]:
        lists = [list(t) or [""] for t in token_lists]
        if not lists:
            return []
        encs = self._tok.encode_batch(lists, is_pretokenized=True)  # in Rust, in parallel: LIME's thousands of variants
        return [np.asarray(self._cut(e.ids), dtype=np.int64) for e in encs]

    def encode(self, texts: Iterable[str]) -> list[np.ndarray]:
        return self.encode_token_lists(self.tokens(t) for t in texts)

    def word_positions(self, toks: Sequence[str]) -> list[list[int]]:
        """For each word, the positions of its pieces in `encode_tokens(toks)` (specials belong to no word)."""
        groups: list[list[int]] = [[] for _ in toks]
        for pos, w in enumerate(self._encode(toks).word_ids[: self.max_length]):
            if w is not None and w < len(groups):
                groups[w].append(pos)
        return groups

    def baseline_ids(self, toks: Sequence[str]) -> list[int]:
        """The ids of `toks` with every word piece replaced by padding: "no words", the special tokens kept."""
        ids = self.encode_tokens(toks)
        words = {p for g in self.word_positions(toks) for p in g}
        return [self.pad_id if i in words else t for i, t in enumerate(ids)]

    def pieces(self, toks: Sequence[str]) -> list[str]:
        """The word pieces the model reads, as text ([CLS], the, ##s, ...), for the Data page's trace."""
        enc = self._encode(toks)
        return list(enc.tokens)[: len(self.encode_tokens(toks))]

    def is_known(self, tok: str) -> bool:
        """A word is unknown only when the tokenizer has no piece for it at all ([UNK])."""
        enc = self._tok.encode([tok], is_pretokenized=True)
        pieces = [i for i, w in zip(enc.ids, enc.word_ids) if w is not None]
        return bool(pieces) and any(i != self.unk_id for i in pieces)

    def model_inputs(self) -> dict[str, Any]:
        """What the model is built from: the tokenizer's vocabulary size and the encoder's config."""
        return {"vocab_size": self.vocab_size, "encoder": self.encoder, "tokenizer": "pretrained",
                "max_length": self.max_length}

    # --- persistence (JSON, never pickle) -------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"kind": KIND, "config": asdict(self.cfg), "max_length": self.max_length,
                           "encoder": self.encoder, "source": self.source, "tokenizer": self.tokenizer_json})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PretrainedPipeline":
        from ...config import from_dict

        return cls(from_dict(DataConfig, data["config"]), data["tokenizer"], int(data["max_length"]),
                   dict(data["encoder"]), str(data.get("source", "")))
