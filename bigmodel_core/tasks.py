"""One interface per kind of input: how texts and pictures are read from a SPEC, prepared, saved and loaded.

Everything after the inputs (the Trainer, bundles, the Predictor, explanations, eval, export)
asks a `Task` instead of branching on "text" vs "image", so a third kind (a pretrained model's
own sub-word tokenizer) is a new Task, not a new branch in every caller. Heavy modules are
imported inside the methods: importing this file is cheap.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from .config import DataConfig, RunConfig
from .errors import DataError, InputError, did_you_mean, msg

SPLITS = ("train", "val", "test")


class Task:
    """What differs between kinds of input; one instance per kind in TASKS."""

    name = ""  # "text" | "image": recorded in run.json as the run's task
    article = "a"  # "a" | "an", for sentences about this kind of model
    inputs = ""  # the inputs in plain words, plural ("texts", "pictures")
    pipeline_file = ""  # the bundle file that holds how raw inputs become model inputs

    def matches(self, spec: str) -> bool:
        """True when dataset SPEC holds this kind of input."""
        raise NotImplementedError

    def load(self, cfg: DataConfig) -> Any:
        """The split dataset `cfg` names (TextDataset / ImageDataset: task, class_names, part(split))."""
        raise NotImplementedError

    def read_labelled(self, spec: str, predictor: Any) -> tuple[Sequence[Any], pd.Series, Optional[str]]:
        """(model-ready inputs, raw labels, label column) of every row of `spec`, for evaluating `predictor`."""
        raise NotImplementedError

    def prepare(self, cfg: RunConfig, ds: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """(pipeline fitted on the training split only, batches per split, data facts for the model)."""
        raise NotImplementedError

    def encode(self, cfg: RunConfig, ds: Any, pipeline: Any) -> dict[str, Any]:
        """Batches per split with an already-fitted pipeline (a derived run reads its data as its parent did)."""
        raise NotImplementedError

    def mistake(self, ds: Any, index: int) -> dict[str, Any]:
        """How a misclassified example is recorded (its text, or its index for a thumbnail)."""
        raise NotImplementedError

    def save(self, writer: Any, pipeline: Any, ds: Any, misclassified: list[dict[str, Any]]) -> None:
        """Write the pipeline (and anything the Train page shows later) into the run's folder."""
        raise NotImplementedError

    def load_pipeline(self, folder: Path) -> Any:
        raise NotImplementedError

    def predictor(self, model: Any, pipeline: Any, info: Any, device: Any) -> Any:
        """The Predictor for this kind: `predict_proba(inputs) -> (n, classes)`, `class_names`, `task`."""
        raise NotImplementedError


class TextTask(Task):
    name, article, inputs, pipeline_file = "text", "a", "texts", "vocab.json"

    def matches(self, spec: str) -> bool:
        return not IMAGE.matches(spec)

    def load(self, cfg: DataConfig) -> Any:
        from .data.dataset import load_text_dataset

        return load_text_dataset(cfg)

    def read_labelled(self, spec: str, predictor: Any) -> tuple[Sequence[Any], pd.Series, Optional[str]]:
        from .data.dataset import read_raw

        texts, raw, _, _, label_col = read_raw(DataConfig(spec=spec))
        return texts, raw, label_col

    def prepare(self, cfg: RunConfig, ds: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        pipeline = text_pipeline(cfg)
        tokens = {name: [pipeline.tokens(t) for t in ds.part(name)[0]] for name in SPLITS}
        pipeline.fit_tokens(tokens["train"])  # the vocabulary never sees validation or test text
        return pipeline, self._batches(cfg, ds, pipeline, tokens), {
            **pipeline.model_inputs(), "text_column": ds.text_column, "label_column": ds.label_column}

    def encode(self, cfg: RunConfig, ds: Any, pipeline: Any) -> dict[str, Any]:
        return self._batches(cfg, ds, pipeline, {name: [pipeline.tokens(t) for t in ds.part(name)[0]] for name in SPLITS})

    @staticmethod
    def _batches(cfg: RunConfig, ds: Any, pipeline: Any, tokens: dict[str, list]) -> dict[str, Any]:
        from .data.text.batching import TextBatches

        return {name: TextBatches(pipeline.encode_token_lists(tokens[name]), ds.part(name)[1], cfg.train.batch_size,
                                  shuffle=name == "train", bucket=cfg.train.bucket_by_length, seed=cfg.train.seed)
                for name in SPLITS}

    def mistake(self, ds: Any, index: int) -> dict[str, Any]:
        return {"text": ds.texts[index]}

    def save(self, writer: Any, pipeline: Any, ds: Any, misclassified: list[dict[str, Any]]) -> None:
        writer.write_text(self.pipeline_file, pipeline.to_json())

    def load_pipeline(self, folder: Path) -> Any:
        from .data.text.pipeline import TextPipeline

        return TextPipeline.from_json((folder / self.pipeline_file).read_text(encoding="utf-8"))

    def predictor(self, model: Any, pipeline: Any, info: Any, device: Any) -> Any:
        from .serve.bundle import Predictor

        return Predictor(model, pipeline, info, device)


class ImageTask(Task):
    name, article, inputs, pipeline_file = "image", "an", "pictures", "preprocess.json"

    def matches(self, spec: str) -> bool:
        from .data.images.dataset import is_image_spec

        return is_image_spec(spec)

    def load(self, cfg: DataConfig) -> Any:
        from .data.images.dataset import load_image_dataset

        return load_image_dataset(cfg)

    def read_labelled(self, spec: str, predictor: Any) -> tuple[Sequence[Any], pd.Series, Optional[str]]:
        from .data.images.dataset import read_labelled_images

        pre = predictor.preprocess  # pictures are brought to the size and colours the model reads
        images, raw, _ = read_labelled_images(DataConfig(spec=spec, image_size=pre.size, channels=pre.channels))
        return list(images), pd.Series(raw), None

    def prepare(self, cfg: RunConfig, ds: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        from .data.images.batches import ImagePreprocess

        train_images, _ = ds.part("train")
        pre = ImagePreprocess.fit(train_images)  # normalisation statistics from training images only
        return pre, self.encode(cfg, ds, pre), {"in_channels": pre.channels, "image_size": pre.size}

    def encode(self, cfg: RunConfig, ds: Any, pipeline: Any) -> dict[str, Any]:
        from .data.images.batches import Augment, ImageBatches

        aug = Augment(cfg.data.augment_shift, cfg.data.augment_flip, cfg.data.augment_rotate)
        return {name: ImageBatches(pipeline.to_tensor(ds.part(name)[0]), ds.part(name)[1], cfg.train.batch_size,
                                   shuffle=name == "train", seed=cfg.train.seed,
                                   augment=aug if name == "train" else None)
                for name in SPLITS}

    def mistake(self, ds: Any, index: int) -> dict[str, Any]:
        return {"index": index}

    def save(self, writer: Any, pipeline: Any, ds: Any, misclassified: list[dict[str, Any]]) -> None:
        writer.write_json(self.pipeline_file, pipeline.to_dict())
        wrong = [m["index"] for m in misclassified]
        if wrong:  # thumbnails for the confusion matrix; plain arrays, loaded without pickle
            np.savez_compressed(writer.path("misclassified.npz"), images=ds.images[wrong],
                                index=np.asarray(wrong, dtype=np.int64))

    def load_pipeline(self, folder: Path) -> Any:
        import json

        from .data.images.batches import ImagePreprocess

        return ImagePreprocess(**json.loads((folder / self.pipeline_file).read_text(encoding="utf-8")))

    def predictor(self, model: Any, pipeline: Any, info: Any, device: Any) -> Any:
        from .serve.bundle import ImagePredictor

        return ImagePredictor(model, pipeline, info, device)


def text_pipeline(cfg: RunConfig) -> Any:
    """How the texts of run `cfg` become ids: the model's own tokenizer when it brings one (a pretrained
    Transformer), else a word vocabulary learned from the training split (TextPipeline)."""
    from .models import model_entry, resolve_params

    entry = model_entry(cfg.model.name)
    if entry.pipeline is not None:
        return entry.pipeline(cfg.data, resolve_params(cfg.model.name, cfg.model.params))
    from .data.text.pipeline import TextPipeline

    return TextPipeline(cfg.data)


IMAGE, TEXT = ImageTask(), TextTask()
TASKS: dict[str, Task] = {"text": TEXT, "image": IMAGE}


def task_named(name: str) -> Task:
    """The Task recorded as `name` in a run or a model entry."""
    if name not in TASKS:
        raise DataError(msg("errors.tasks.unknown", "There is no kind of input called '{name}'.", name=name),
                        did_you_mean(name, TASKS))
    return TASKS[name]


def task_for_spec(spec: str) -> Task:
    """The Task whose inputs dataset SPEC holds (pictures first: a text SPEC is anything else)."""
    return IMAGE if IMAGE.matches(spec) else TEXT


def check_inputs(predictor: Any, texts: Sequence[str], images: Sequence[str]) -> None:
    """Refuse inputs of the wrong kind for `predictor` (a picture for a text model, or none at all)."""
    task = task_named(predictor.task)
    given = {"text": list(texts or []), "image": list(images or [])}
    flag = {"text": '--text "..."', "image": "--image FILE"}
    other = "image" if task.name == "text" else "text"
    model, reads = _model_words(task), _inputs_words(task)
    if given[other]:
        raise InputError(msg("errors.tasks.wrong_inputs", "The run '{run}' is {model}: it reads {inputs}, not {other} "
                             "({flag}).", run=predictor.run_id, model=model, inputs=reads,
                             other=_inputs_words(task_named(other)), flag=flag[other]),
                         msg("errors.tasks.wrong_inputs.hint", "Give {inputs} with {flag} instead.",
                             inputs=reads, flag=flag[task.name]))
    if not given[task.name]:
        raise InputError(msg("errors.tasks.no_inputs", "The run '{run}' is {model}: it reads {inputs}.",
                             run=predictor.run_id, model=model, inputs=reads),
                         msg("errors.tasks.no_inputs.hint", "Give one with {flag}.", flag=flag[task.name]))


_MODEL_WORDS = {"text": msg("engine.tasks.model.text", "a text model"),
                "image": msg("engine.tasks.model.image", "an image model")}
_INPUT_WORDS = {"text": msg("engine.tasks.inputs.text", "texts"), "image": msg("engine.tasks.inputs.image", "pictures")}


def _model_words(task: Task) -> str:
    """'a text model' (a Msg, so it is translated inside the sentence it is part of)."""
    return _MODEL_WORDS.get(task.name) or f"{task.article} {task.name} model"


def _inputs_words(task: Task) -> str:
    """'texts' / 'pictures': what this kind of model reads (a Msg)."""
    return _INPUT_WORDS.get(task.name) or task.inputs
