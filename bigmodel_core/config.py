"""Run configuration as dataclasses of plain values: `asdict()` is JSON, `from_dict()` checks keys."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, TypeVar

from .errors import ConfigError, did_you_mean, msg
from .settings import check_fields, setting

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass `cls` from `data`, rejecting unknown keys with a did-you-mean hint."""
    if not isinstance(data, dict):
        raise ConfigError(msg("errors.config.not_a_table", "The {part} settings are {kind}, not a table of names and "
                              "values.", part=cls.__name__, kind=type(data).__name__),
                          msg("errors.config.not_a_table.hint", 'Give the settings as a JSON object, like {example}.',
                              example='{"lr": 0.001}'))
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(msg("errors.config.unknown_setting", "'{setting}' is not a setting of {part}.",
                                  setting=key, part=cls.__name__), did_you_mean(key, names))
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


# Hard limits a setting may take; a classroom machine (and a typo) should never get further.
# all need no downloaded data (jieba ships its dictionary); "auto": jieba for a text that is mostly
# Chinese characters, treebank for any other, so English runs get exactly treebank's tokens
TOKENIZERS = ("auto", "treebank", "tweet", "regexp", "whitespace", "jieba")
STEMMERS = ("porter", "snowball")
OPTIMIZERS = ("sgd", "adam", "adamw")
DEFAULT_MODELS = {"text": "lstm", "image": "convnet"}  # what the app and the CLI pick for each kind of data
SCHEDULES = ("constant", "warmup_linear", "warmup_cosine")  # how the learning rate moves over the steps
MONITORS = ("val_accuracy", "val_loss", "train_accuracy", "train_loss")


@dataclass
class DataConfig:
    """Which dataset, which columns, and how its text is turned into token ids."""

    spec: str = setting("builtin:synthetic_reviews", kind=str)  # builtin:NAME, download:NAME, csv:PATH, ...
    text_column: Optional[str] = setting(None, kind=str, optional=True)  # None: detected from the file
    label_column: Optional[str] = setting(None, kind=str, optional=True)  # None: detected from the file
    # "auto": jieba for a mostly-Chinese text (Chinese has no spaces between words), treebank otherwise
    tokenizer: str = setting("auto", kind=str, choices=TOKENIZERS)
    lowercase: bool = setting(True, kind=bool)
    strip_html: bool = setting(True, kind=bool)  # reviews scraped from the web often carry <br /> tags
    strip_urls: bool = setting(True, kind=bool)
    stemmer: Optional[str] = setting(None, kind=str, optional=True, choices=STEMMERS)
    remove_stopwords: bool = setting(False, kind=bool)  # negations (not, no, never, n't) are always kept
    min_freq: int = setting(1, kind=int, low=1, high=1_000_000)  # rarer training words become <unk>
    max_vocab: int = setting(30000, kind=int, low=1, high=2_000_000)  # most frequent words kept
    max_len: int = setting(256, kind=int, low=1, high=100_000)  # longer texts are cut: bounded memory
    val_fraction: float = setting(0.1, kind=float, low=0.0, high=0.5)
    test_fraction: float = setting(0.1, kind=float, low=0.0, high=0.5)
    # None: all rows; a number samples that many (quick classroom runs)
    max_rows: Optional[int] = setting(None, kind=int, low=2, high=100_000_000, optional=True)
    seed: int = setting(0, kind=int, low=0, high=2**32 - 1)  # fixes the train/val/test split
    # share of the training split trained on (the scaling explorer's "more data" axis): taken after
    # the split, so validation and test stay the same whole sets and runs on 10 % and 100 % compare
    train_fraction: float = setting(1.0, kind=float, low=0.0, low_open=True, high=1.0)
    # at most this many training rows (after train_fraction), validation and test unchanged: the
    # pretrained Transformer's classroom preset trains on 2,000 so that a CPU finishes in minutes
    max_train_rows: Optional[int] = setting(None, kind=int, low=2, high=100_000_000, optional=True)
    # --- images only ---
    # None: the dataset's own (square) size; else resized to this
    image_size: Optional[int] = setting(None, kind=int, low=2, high=4096, optional=True)
    channels: Optional[int] = setting(None, kind=int, low=1, high=3, optional=True)  # 1 = grey, 3 = colour
    augment_shift: int = setting(0, kind=int, low=0, high=64)  # random shift by up to this many pixels
    augment_flip: bool = setting(False, kind=bool)  # random left-right flip (not for digits: a flipped 7 is no 7)
    augment_rotate: float = setting(0.0, kind=float, low=0.0, high=180.0)  # random rotation, degrees

    def __post_init__(self) -> None:
        check_fields(self)
        if self.channels == 2:
            raise ConfigError(msg("errors.config.two_channels", "2 is not a valid number of channels."),
                              msg("errors.config.two_channels.hint", "Give 1 (grey) or 3 (colour), or none (as "
                                  "stored)."))


@dataclass
class ModelConfig:
    """A registered model name plus overrides of its preset's settings."""

    name: str = setting("lstm", kind=str)
    params: dict[str, Any] = field(default_factory=dict)  # checked against the preset by the registry
    # Text models only: start the word vectors from a saved vector set (its id) or a GloVe/word2vec
    # file instead of random numbers. The embedding size follows the vectors unless set in params.
    embeddings: Optional[str] = setting(None, kind=str, optional=True)
    freeze_embeddings: bool = setting(False, kind=bool)  # True: keep those vectors fixed; False: fine-tune them

    def __post_init__(self) -> None:
        check_fields(self)
        if not isinstance(self.params, dict):
            raise ConfigError(msg("errors.config.model_params", "The model settings must be a table of names and "
                                  "values."),
                              msg("errors.config.model_params.hint", "Give them as key=value pairs."))


@dataclass
class TrainConfig:
    """How the Trainer optimises; defaults train the classroom presets in seconds."""

    # AdamW: its weight decay shrinks every weight by the same share each step; Adam's L2 term is
    # rescaled with each weight's gradient history, so it regularises unevenly (Loshchilov & Hutter)
    optimizer: str = setting("adamw", kind=str, choices=OPTIMIZERS)
    # the schedule's peak: the warm-up and decay average about half of it, so the presets learn as much
    # as at the old constant 5e-3; high for Adam, but the presets are small and clipped: seconds
    lr: float = setting(1e-2, kind=float, low=0.0, low_open=True, high=10.0)
    momentum: float = setting(0.9, kind=float, low=0.0, high=0.999)  # SGD only
    # strong, because AdamW takes only lr * weight_decay of each weight per step (0.5 % at the peak): a
    # few thousand rows cannot pin down every word vector, and 0.01 changed nothing measurable. adam
    # and sgd add decay to the gradient instead, where this much stops learning: refused above 0.1
    weight_decay: float = setting(0.5, kind=float, low=0.0, high=1.0)
    # a short warm-up: Adam's first steps, from empty moment estimates, are its noisiest; the decay
    # then lets the last epochs settle instead of bouncing around at the full rate. "constant": neither
    # (by itself it measured no gain on small data; the weight decay did: BENCHMARKS.md "Small-data SST-2")
    schedule: str = setting("warmup_cosine", kind=str, choices=SCHEDULES)
    # share of all steps spent ramping the rate up from near zero (warmup_* schedules only)
    warmup_fraction: float = setting(0.06, kind=float, low=0.0, high=0.5)
    batch_size: int = setting(64, kind=int, low=1, high=65536)
    # the built-in reviews need ~8 epochs for an LSTM to master negation and contrast
    epochs: int = setting(8, kind=int, low=1, high=1000)
    grad_clip: Optional[float] = setting(1.0, kind=float, low=0.0, low_open=True, high=1e6, optional=True)
    # epochs without improvement before stopping (the best epoch's weights are kept either way);
    # 3 rides out one or two noisy validation epochs on small data. None: never stop early
    early_stopping_patience: Optional[int] = setting(3, kind=int, low=1, high=1000, optional=True)
    monitor: str = setting("val_accuracy", kind=str, choices=MONITORS)  # for early stopping and the best checkpoint
    # batches whose gradients are added up before one optimizer step: a big model's effective batch
    # without its memory (the learning-rate schedule still counts batches)
    grad_accumulation: int = setting(1, kind=int, low=1, high=1024)
    # autocast: bf16 on CPUs and most GPUs, fp16 (with a gradient scaler) on GPUs; weights stay fp32
    precision: str = setting("fp32", kind=str, choices=("fp32", "bf16", "fp16"))
    # torch.compile the training step (inductor: kernels compiled for this model; the first batches wait
    # for the compiler, later ones may be faster). Needs a C++ compiler on a CPU
    compile: bool = setting(False, kind=bool)
    bucket_by_length: bool = setting(True, kind=bool)  # batches of similar length: little compute goes to padding
    device: str = setting("auto", kind=str)  # auto | cpu | cuda | cuda:N | mps
    num_threads: Optional[int] = setting(None, kind=int, low=1, high=1024, optional=True)  # None: automatic
    # processes that train the run together (data-parallel, torchrun): the CLI's --processes and the
    # app's jobs launch that many; batch_size stays the global batch, so the run is the same on 1 or N.
    # train_run itself trains in whatever world it runs in (RunInfo.world_size records it)
    processes: int = setting(1, kind=int, low=1, high=1024)
    seed: int = setting(0, kind=int, low=0, high=2**32 - 1)
    # stop once training has taken this many seconds (the scaling explorer's compute budget); the epoch
    # in progress is validated and the run is finished. None: train all the epochs
    time_budget_s: Optional[float] = setting(None, kind=float, low=0.0, low_open=True, high=1e7, optional=True)
    dry_run: bool = setting(False, kind=bool)  # two batches per epoch, one epoch: for tests and smoke checks

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class RunConfig:
    """Everything needed to reproduce a run; saved as run.json beside the weights."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    name: Optional[str] = None  # None: generated from model name and time; checked by runs.workspace
    # the scaling sweep this run is a point of, {"id", "axis", "point", "index", "value"}: not a
    # training setting, a label that groups the sweep's runs on the Runs and Scaling pages
    sweep: Optional[dict[str, Any]] = None
    # how this run was derived from another (optimize/): {"kind": "prune", "parent", "sparsity", "scope",
    # "finetune_epochs"} | {"kind": "quantize", "parent", "recipe"} | {"kind": "distil", "teacher",
    # "temperature", "alpha"}; None for a run trained from its settings alone
    derive: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        for key, kind in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
            if not isinstance(getattr(self, key), kind):
                raise ConfigError(msg("errors.config.bad_part", "The '{part}' part of the run settings is not valid.",
                                      part=key),
                                  msg("errors.config.bad_part.hint", "Give it as a JSON object of settings."))
        if self.derive is not None and not isinstance(self.derive, dict):
            raise ConfigError(msg("errors.config.bad_derive", "The run's derivation is not valid."),
                              msg("errors.config.json_or_nothing.hint", "Give it as a JSON object, or leave it out."))
        if self.sweep is not None and not isinstance(self.sweep, dict):
            raise ConfigError(msg("errors.config.bad_sweep", "The run's sweep label is not valid."),
                              msg("errors.config.json_or_nothing.hint", "Give it as a JSON object, or leave it out."))
        if self.name is not None:
            from .runs.workspace import check_name

            self.name = check_name(self.name, msg("engine.config.run_name", "run name"))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        return from_dict(cls, json.loads(text))
