"""Run configuration as dataclasses of plain values: `asdict()` is JSON, `from_dict()` checks keys."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, TypeVar

from .errors import ConfigError, did_you_mean

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass `cls` from `data`, rejecting unknown keys with a did-you-mean hint."""
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"'{key}' is not a setting of {cls.__name__}.", did_you_mean(key, names))
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        sub = _dataclass_type(f.type)
        kwargs[f.name] = from_dict(sub, value) if sub is not None and isinstance(value, dict) else value
    return cls(**kwargs)


def _dataclass_type(type_name: Any) -> Optional[type]:
    return {"DataConfig": DataConfig, "ModelConfig": ModelConfig, "TrainConfig": TrainConfig}.get(
        str(type_name)
    )


@dataclass
class DataConfig:
    """Which dataset, which columns, and how its text is turned into token ids."""

    spec: str = "builtin:synthetic_reviews"  # builtin:NAME, download:NAME, csv:PATH, ...
    text_column: Optional[str] = None  # None: detected from the file
    label_column: Optional[str] = None  # None: detected from the file
    tokenizer: str = "treebank"  # treebank | tweet | regexp | whitespace (all need no NLTK data)
    lowercase: bool = True
    strip_html: bool = True  # reviews scraped from the web often carry <br /> tags
    strip_urls: bool = True
    stemmer: Optional[str] = None  # None | porter | snowball
    remove_stopwords: bool = False  # negations (not, no, never, n't) are always kept
    min_freq: int = 1  # words seen fewer times in training become <unk>
    max_vocab: int = 30000  # most frequent words kept; the rest become <unk>
    max_len: int = 256  # longer texts are cut; keeps memory bounded on long reviews
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    max_rows: Optional[int] = None  # None: all rows; a number samples that many (quick classroom runs)
    seed: int = 0  # fixes the train/val/test split
    # --- images only ---
    image_size: Optional[int] = None  # None: the dataset's own (square) size; else resized to this
    channels: Optional[int] = None  # None: as stored; 1 = grey, 3 = colour
    augment_shift: int = 0  # random shift by up to this many pixels while training
    augment_flip: bool = False  # random left-right flip (not for digits: a flipped 7 is no 7)
    augment_rotate: float = 0.0  # random rotation by up to this many degrees


@dataclass
class ModelConfig:
    """A registered model name plus overrides of its preset's settings."""

    name: str = "lstm"
    params: dict[str, Any] = field(default_factory=dict)
    # Text models only: start the word vectors from a saved vector set (its id) or a GloVe/word2vec
    # file instead of random numbers. The embedding size follows the vectors unless set in params.
    embeddings: Optional[str] = None
    freeze_embeddings: bool = False  # True: keep those vectors fixed; False: fine-tune them with the model


@dataclass
class TrainConfig:
    """How the Trainer optimises; defaults train the classroom presets in seconds."""

    optimizer: str = "adam"  # sgd | adam | adamw
    lr: float = 5e-3  # high for Adam, but the classroom presets are small and clipped: learns in seconds
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 8  # the built-in reviews need ~8 epochs for an LSTM to master negation and contrast
    grad_clip: Optional[float] = 1.0  # max gradient norm; RNNs explode without it
    early_stopping_patience: Optional[int] = None  # epochs without improvement before stopping
    monitor: str = "val_accuracy"  # metric for early stopping and the best checkpoint
    bucket_by_length: bool = True  # batches of similar length: little compute goes to padding
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    num_threads: Optional[int] = None  # None: chosen from cores and running jobs
    seed: int = 0
    dry_run: bool = False  # two batches per epoch, one epoch: for tests and smoke checks


@dataclass
class RunConfig:
    """Everything needed to reproduce a run; saved as run.json beside the weights."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    name: Optional[str] = None  # None: generated from model name and time

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        return from_dict(cls, json.loads(text))
