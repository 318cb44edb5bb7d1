"""Word2Vec training on a dataset's texts with gensim, one epoch per call so that loss, progress and Stop work.

Texts: all of the dataset's texts (train, val and test splits; labels are not used), tokenized by
the same `TextPipeline` (tokenizer, lower-casing, stemming, stop words, max_len) as the text
models, so a word here is a token there. Using every split is fine for unsupervised vectors: no
label is seen. Word2Vec trains on sentences; each text is one "sentence" here.

Why one epoch per `model.train()` call: gensim cannot be aborted cleanly mid-call and its
`get_latest_training_loss()` is a running sum over a call (in float32). Calling it once per
epoch, with `start_alpha`/`end_alpha` set to that epoch's slice of the linear learning-rate decay,
trains exactly as one call would, while a `CallbackAny2Vec` reports each epoch's loss (the
difference of the running sum over the epoch) and words/s.

Stop: `stop_event` is checked before every epoch and, inside an epoch, by the sentence iterator,
which then ends the epoch early. The vectors as they were after the last complete epoch (kept in a
snapshot) are saved as a set marked `"stopped": true` with the losses of the complete epochs.
Stop before the first epoch finished raises TrainingCancelled and saves nothing.
With `workers=1` the same seed gives the same vectors (gensim's rule for reproducibility), and
the loss is exact; with more workers gensim's shared loss counter loses updates between threads
(2 workers reported about half the loss of 1 on the same data), so compare losses only between
runs with the same number of workers. Speeds are in BENCHMARKS.md section 7.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from ..config import DataConfig
from ..errors import ConfigError, DataError, TrainingCancelled, msg
from ..settings import check_fields, setting
from .sets import WORD2VEC_BIN, new_set_id, save_vector_set

MIN_TEXTS = 20  # fewer texts give vectors that are noise
MIN_WORDS = 2  # a neighbour needs at least two words
Progress = Callable[[dict], None]


@dataclass
class Word2VecConfig:
    """A Word2Vec job: which texts, and gensim's settings, each with its valid range (a JobManager job)."""

    data: DataConfig = field(default_factory=DataConfig)
    sg: bool = setting(True, kind=bool)  # skip-gram (better for rare words) or CBOW (False: faster)
    dim: int = setting(100, kind=int, low=2, high=1000)  # length of each word's vector
    window: int = setting(5, kind=int, low=1, high=50)  # words on each side that count as context
    min_count: int = setting(2, kind=int, low=1, high=1_000_000)  # rarer words get no vector
    epochs: int = setting(10, kind=int, low=1, high=1000)
    negative: int = setting(5, kind=int, low=1, high=50)  # wrong words sampled per right one
    workers: int = setting(1, kind=int, low=1, high=64)  # 1 gives the same vectors for the same seed
    seed: int = setting(0, kind=int, low=0, high=2**32 - 1)
    name: Optional[str] = None  # unnamed jobs with identical settings are trained once (JobManager)

    def __post_init__(self) -> None:
        if not isinstance(self.data, DataConfig):
            raise ConfigError(msg("errors.word2vec.no_data", "The Word2Vec job needs a text dataset."),
                              msg("errors.word2vec.no_data.hint", "Give data=DataConfig(spec=...)."))
        check_fields(self)

    def gensim_settings(self) -> dict[str, Any]:
        """The keyword arguments of `train_word2vec` (everything but the data)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("data", "name")}


class _Sentences:
    """Re-iterable token lists that end the pass early once `stop_event` is set."""

    def __init__(self, sentences: Sequence[list[str]], stop_event: Optional[threading.Event]) -> None:
        self.sentences, self.stop_event = sentences, stop_event
        self.cut_short = False

    def __iter__(self) -> Iterator[list[str]]:
        self.cut_short = False
        for tokens in self.sentences:
            if self.stop_event is not None and self.stop_event.is_set():
                self.cut_short = True
                return
            yield tokens


def _epoch_reporter(progress: Optional[Progress], epochs: int, words_per_epoch: int, corpus: _Sentences):
    """A gensim CallbackAny2Vec that records each complete epoch's loss and speed and reports it."""
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochReporter(CallbackAny2Vec):
        def __init__(self) -> None:
            self.epoch = 0  # complete epochs so far
            self.losses: list[float] = []
            self.speeds: list[float] = []
            self._loss0, self._t0 = 0.0, 0.0

        def on_epoch_begin(self, model) -> None:
            self._loss0, self._t0 = model.get_latest_training_loss(), time.perf_counter()

        def on_epoch_end(self, model) -> None:
            if corpus.cut_short:
                return  # a stopped epoch is not reported: its loss covers part of the texts
            seconds = max(time.perf_counter() - self._t0, 1e-9)
            loss = float(model.get_latest_training_loss() - self._loss0)
            self.epoch += 1
            self.losses.append(loss)
            self.speeds.append(words_per_epoch / seconds)
            if progress is not None:
                progress({"kind": "epoch_end", "epoch": self.epoch, "epochs": epochs, "loss": loss,
                          "words_per_s": self.speeds[-1], "seconds": seconds})

    return EpochReporter()


def tokenized_texts(data_cfg: DataConfig, dataset: Any = None) -> list[list[str]]:
    """Every text of the dataset as tokens of the models' TextPipeline; empty texts are dropped."""
    from ..data.dataset import load_dataset
    from ..data.text.pipeline import TextPipeline

    ds = dataset if dataset is not None else load_dataset(data_cfg)
    if getattr(ds, "task", "text") != "text":
        raise DataError(msg("errors.word2vec.not_text",
                            "Word vectors are learned from text, but this dataset holds images."),
                        msg("errors.word2vec.not_text.hint",
                            "Choose a text dataset, such as builtin:synthetic_reviews."))
    pipeline = TextPipeline(data_cfg)
    return [toks for toks in (pipeline.tokens(t) for t in ds.texts) if toks]


def train_word2vec(
    data_cfg: DataConfig,
    sg: bool = True,
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 10,
    negative: int = 5,
    seed: int = 0,
    workers: int = 1,
    progress: Optional[Progress] = None,
    stop_event: Optional[threading.Event] = None,
    home: Path | str | None = None,
    *,
    dataset: Any = None,
) -> dict[str, Any]:
    """Train Word2Vec on the dataset that `data_cfg` names and save the vectors as a set.

    Args:
        sg: skip-gram (True: better for rare words) or CBOW (False: faster).
        dim, window, min_count, epochs, negative, seed, workers: gensim's settings.
        progress: gets {"kind": "fit_start" | "epoch_end" | "fit_end", ...} dicts; epoch_end
            carries epoch, epochs, loss (that epoch's), words_per_s and seconds.
        stop_event: set it to stop; see the module docstring for what is kept.
        dataset: an already loaded TextDataset for `data_cfg` (saves loading it again).

    Returns:
        The set's meta: id, path, source, settings, vocab_size, dim, losses, words_per_s, ...

    Raises:
        DataError: too few texts or words. ConfigError: a setting out of range.
        TrainingCancelled: stopped before the first epoch finished (nothing is saved).
    """
    from gensim.models import Word2Vec

    Word2VecConfig(data_cfg, sg=sg, dim=dim, window=window, min_count=min_count, epochs=epochs, negative=negative,
                   workers=workers, seed=seed)  # every setting checked against its declared range
    started = time.perf_counter()
    sentences = tokenized_texts(data_cfg, dataset)
    if len(sentences) < MIN_TEXTS:
        raise DataError(msg("errors.word2vec.few_texts",
                            "The dataset has only {n} texts with words, too few to learn word vectors from.",
                            n=len(sentences)),
                        msg("errors.word2vec.few_texts.hint",
                            "Use a dataset with at least {min} texts; hundreds give useful vectors.", min=MIN_TEXTS))
    model = Word2Vec(vector_size=dim, window=window, min_count=min_count, sg=int(bool(sg)), hs=0,
                     negative=negative, seed=seed, workers=workers, compute_loss=True, epochs=epochs)
    model.build_vocab(sentences)
    if len(model.wv) < MIN_WORDS:
        raise DataError(msg("errors.word2vec.few_words", "Only {n} different words appear at least {min_count} times, "
                            "too few to learn word vectors.", n=len(model.wv), min_count=min_count),
                        msg("errors.word2vec.few_words.hint", "Lower the minimum count, or use a bigger dataset."))
    if progress is not None:
        progress({"kind": "fit_start", "epochs": epochs, "texts": len(sentences), "words": model.corpus_total_words,
                  "vocab_size": len(model.wv), "dim": dim, "sg": bool(sg)})
    snapshot, reporter = _train_epochs(model, sentences, epochs, stop_event, progress)
    if reporter.epoch == 0:
        raise TrainingCancelled(msg("errors.word2vec.cancelled",
                                    "Training of the word vectors was stopped before the first epoch finished."),
                                msg("errors.word2vec.cancelled.hint",
                                    "Nothing was saved; start it again and let one epoch finish."))
    settings = {"sg": bool(sg), "dim": dim, "window": window, "min_count": min_count, "epochs": epochs,
                "negative": negative, "seed": seed, "workers": workers}
    meta = _save(model, snapshot, reporter, settings, data_cfg, len(sentences), started, home)
    if progress is not None:
        progress({"kind": "fit_end", "id": meta["id"], "stopped": meta["stopped"],
                  "epochs_done": meta["epochs_done"], "seconds": meta["seconds"]})
    return meta


def _train_epochs(model, sentences: list[list[str]], epochs: int, stop_event: Optional[threading.Event],
                  progress: Optional[Progress]):
    """Run the epochs one train() call each; return (vectors after the last full epoch, reporter)."""
    corpus = _Sentences(sentences, stop_event)
    reporter = _epoch_reporter(progress, epochs, model.corpus_total_words, corpus)
    alpha, min_alpha = model.alpha, model.min_alpha
    snapshot = np.array(model.wv.vectors, copy=True)  # (vocab, dim)
    for epoch in range(epochs):
        if stop_event is not None and stop_event.is_set():
            break
        start = alpha - (alpha - min_alpha) * epoch / epochs
        end = alpha - (alpha - min_alpha) * (epoch + 1) / epochs
        model.train(corpus, total_examples=model.corpus_count, epochs=1, start_alpha=start, end_alpha=end,
                    compute_loss=True, callbacks=[reporter])
        if corpus.cut_short:
            break
        np.copyto(snapshot, model.wv.vectors)
    return snapshot, reporter


def _save(model, snapshot: np.ndarray, reporter, settings: dict, data_cfg: DataConfig, texts: int,
          started: float, home: Path | str | None) -> dict[str, Any]:
    """Write the set: vectors.npy + vocab.json (for mapped loading) and vectors.bin (word2vec binary)."""
    from .vectors import keyed_vectors

    words = list(model.wv.index_to_key)
    counts = [int(model.wv.get_vecattr(w, "count")) for w in words]
    kind = "w2v-sg" if settings["sg"] else "w2v-cbow"
    stopped = reporter.epoch < settings["epochs"]
    meta = {
        "id": new_set_id(kind), "kind": "word2vec",
        "title": f"Word2Vec {'skip-gram' if settings['sg'] else 'CBOW'} on {data_cfg.spec}",
        "source": f"Word2Vec ({'skip-gram' if settings['sg'] else 'CBOW'}, gensim) trained on {data_cfg.spec}",
        "settings": settings, "data": asdict(data_cfg), "texts": texts, "words": int(model.corpus_total_words),
        "losses": reporter.losses, "words_per_s": float(np.mean(reporter.speeds)),
        "epochs_done": reporter.epoch, "stopped": stopped, "seconds": time.perf_counter() - started,
    }

    def write_binary(folder: Path) -> None:
        keyed_vectors(words, snapshot, counts).save_word2vec_format(str(folder / WORD2VEC_BIN), binary=True)

    return save_vector_set(words, snapshot, meta, counts=counts, home=home, extra=write_binary)


# --- as a background job -------------------------------------------------------------------------
def word2vec_job(cfg: Word2VecConfig, callbacks: Iterable[Any] = (), home: Path | str | None = None,
                 stop_event: Optional[threading.Event] = None, running_jobs: int = 1) -> dict[str, Any]:
    """`train_word2vec` with the JobManager's runner signature: `JobManager(runner=word2vec_job)`.

    Progress reaches the callbacks as TrainEvents (fit_start, epoch_end with metrics loss and
    words_per_s, fit_end), so the job log and the charts read it like a training run's. The result
    has "stopped" as the JobManager expects.
    """
    from ..training.events import TrainEvent, dispatch

    if not isinstance(cfg, Word2VecConfig):
        raise ConfigError(msg("errors.word2vec.config", "A Word2Vec job needs a Word2VecConfig."),
                          msg("errors.word2vec.config.hint", "Build one with Word2VecConfig(data=..., dim=...)."))
    callbacks = list(callbacks)

    def emit(ev: dict) -> None:
        event = TrainEvent(ev["kind"], epoch=ev.get("epoch", 0), step=ev.get("epoch", 0),
                           total_steps=ev.get("epochs", cfg.epochs),
                           metrics={k: v for k, v in ev.items() if k not in ("kind", "epoch", "epochs")})
        dispatch(callbacks, event)

    return train_word2vec(cfg.data, **cfg.gensim_settings(), progress=emit, stop_event=stop_event, home=home)
