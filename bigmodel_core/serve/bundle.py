"""Load a saved run as a Predictor: safetensors weights + JSON config, never unpickling."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.text.batching import TextBatches
from ..data.text.pipeline import UNK_ID, TextPipeline
from ..errors import DataError, InputError, RunError, msg
from ..models._registry import rebuild_model
from ..runs.info import RunInfo
from ..runs.store import read_run, resolve_run
from ..tasks import task_named
from ..training.devices import choose_threads, resolve_device, torch_threads
from ..training.metrics import to_device


ALL_UNKNOWN = msg("engine.bundle.all_unknown",
                  "The model has never seen any of these words, so this prediction says nothing about the text: "
                  "it is the model's guess for a sentence of unknown words. Try words from its training data.")


_LOCK_GUARD = threading.Lock()


class BasePredictor:
    """What every predictor offers, whatever it reads: `task`, `class_names`, `run_id`, `info`, `predict_proba`."""

    task = ""
    class_names: list[str]
    run_id: str
    info: RunInfo

    @property
    def lock(self) -> threading.RLock:
        """Held while this predictor's model runs: one thread at a time.

        The app keeps one predictor per run for every session, and a Streamlit rerun starts
        before the previous run has stopped, so two threads may use the same model at once.
        Explanations hook the model (captum swaps the word vectors for 50 scaled copies) and
        switch off its gradients; a prediction made meanwhile would read their batch. Reentrant:
        LIME predicts from inside an explanation.
        """
        with _LOCK_GUARD:
            lock = self.__dict__.get("_model_lock")
            if lock is None:
                lock = self.__dict__["_model_lock"] = threading.RLock()
        return lock

    def predict_proba(self, inputs: Sequence) -> np.ndarray:
        raise NotImplementedError

    def check_labels(self, raw: pd.Series, column: Optional[str] = None) -> np.ndarray:
        """A dataset's raw labels as indices into this model's classes; a plain error for any it never learned."""
        from ..data.labels import encode_labels

        ids, names = encode_labels(raw.reset_index(drop=True), column, min_classes=1)
        unknown = sorted(set(names) - set(self.class_names))
        if unknown:
            raise DataError(msg("errors.bundle.unknown_labels", "This dataset has labels the model never learned: "
                                "{labels}.", labels=", ".join(unknown[:10])),
                            msg("errors.bundle.unknown_labels.hint", "The model knows only: {classes}. Use data with "
                                "those labels.", classes=", ".join(self.class_names)))
        index = {c: i for i, c in enumerate(self.class_names)}
        return np.array([index[names[i]] for i in ids], dtype=np.int64)


class Predictor(BasePredictor):
    """A trained text model with its pipeline: `predict_proba(texts) -> (n, classes)` probabilities."""

    task = "text"

    def __init__(self, model: torch.nn.Module, pipeline: TextPipeline, info: RunInfo, device: torch.device) -> None:
        self.model, self.pipeline, self.info, self.device = model.eval(), pipeline, info, device
        self.class_names: list[str] = info.class_names
        self.run_id: str = info.id

    @torch.inference_mode()
    def predict_proba_ids(self, encoded: Sequence[np.ndarray], batch_size: int = 512) -> np.ndarray:
        """Probabilities for already-encoded texts, in the input order."""
        if not len(encoded):
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        batches = TextBatches([e if len(e) else np.array([UNK_ID]) for e in encoded], None, batch_size, bucket=True)
        out = np.zeros((len(encoded), len(self.class_names)), dtype=np.float32)
        with self.lock, torch_threads(choose_threads()):
            for idx in _same_length_groups(batches.lengths, batch_size):
                self._predict_group(batches, idx, out)
        return out

    def _predict_group(self, batches: TextBatches, idx: np.ndarray, out: np.ndarray) -> None:
        """Fill `out[idx]` with the probabilities of the texts `idx` of `batches`."""
        lens = batches.lengths[idx]
        if lens.min() == lens.max():  # one length: stack, no padding to fill in
            ids, lengths = torch.from_numpy(np.stack([batches.encoded[i] for i in idx])), torch.from_numpy(lens)
        else:
            (ids, lengths), _ = batches.collate(idx)
        logits = self.model(*to_device((ids, lengths), self.device))
        out[idx] = torch.softmax(logits.float(), dim=1).cpu().numpy()

    def predict_proba_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return self.predict_proba_ids([np.asarray(self.pipeline.encode_tokens(t), dtype=np.int64) for t in token_lists])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba_ids(self.pipeline.encode(texts))

    def tokens(self, text: str, purpose: str = "classify") -> list[str]:
        """The tokens of `text` as the model reads them; a plain InputError when there are none."""
        if not text or not text.strip():
            said = {"classify": msg("errors.bundle.empty_text.classify", "The text to classify is empty."),
                    "explain": msg("errors.bundle.empty_text.explain", "The text to explain is empty.")}.get(purpose)
            said = said or msg("errors.bundle.empty_text", "The text to {purpose} is empty.", purpose=purpose)
            raise InputError(said, msg("errors.bundle.empty_text.hint",
                                       "Type a sentence, for example 'a gripping, well acted film'."))
        toks = self.pipeline.tokens(text)
        if not toks:
            raise InputError(msg("errors.bundle.nothing_left", "Nothing is left of this text after cleaning (it held "
                                 "only markup, links or stop words)."),
                             msg("errors.bundle.nothing_left.hint", "Type a sentence with ordinary words."))
        return toks

    def predict(self, text: str) -> dict:
        """Prediction for one text: label, probability per class, and its tokens marked known/unknown."""
        toks = self.tokens(text)
        probs = self.predict_proba_tokens([toks])[0]
        known = [self.pipeline.is_known(t) for t in toks]
        return {"prediction": self.class_names[int(probs.argmax())],
                "probabilities": {c: float(p) for c, p in zip(self.class_names, probs)},
                "tokens": [{"token": t, "known": k} for t, k in zip(toks, known)],
                "warning": None if any(known) else ALL_UNKNOWN}


def _same_length_groups(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Batches of texts of exactly equal length: no padding, so recurrent models skip packing.

    LIME's thousands of variants of one sentence have only a handful of lengths, so this
    costs few extra batches and spares the packing (speed-up in BENCHMARKS.md section 8).
    """
    order = np.argsort(lengths, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1)
    if len(groups) > max(8, len(lengths) // 16):  # many distinct lengths (long reviews): sorted batches instead
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [g[i:i + batch_size] for g in groups for i in range(0, len(g), batch_size)]


class ImagePredictor(BasePredictor):
    """A trained image model with its preprocessing: `predict_proba(images) -> (n, classes)`.

    Images are uint8 arrays (H, W, C) already at the model's size and channels (see
    `data.images.to_model_image` and `data.drawing` for getting them there).
    """

    task = "image"

    def __init__(self, model: torch.nn.Module, preprocess, info: RunInfo, device: torch.device) -> None:
        self.model, self.preprocess, self.info, self.device = model.eval(), preprocess, info, device
        self.class_names: list[str] = info.class_names
        self.run_id: str = info.id

    def to_input(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 (H, W, C) images -> the normalised (N, C, H, W) tensor the model sees."""
        size, ch = self.preprocess.size, self.preprocess.channels
        for img in images:
            if img.shape != (size, size, ch):
                raise InputError(msg("errors.bundle.image_shape", "The image is {shape}, but this model reads "
                                     "{size}x{size}x{channels}.", shape="x".join(map(str, img.shape)), size=size,
                                     channels=ch),
                                 msg("errors.bundle.image_shape.hint",
                                     "Convert it with to_model_image first (the app does this for you)."))
        return self.preprocess.to_tensor(np.stack(images))

    @torch.no_grad()
    def predict_proba(self, images: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        if not len(images):
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        x = self.to_input(images)
        with self.lock, torch_threads(choose_threads()):
            out = [torch.softmax(self.model(x[i:i + batch_size].to(self.device)).float(), 1).cpu().numpy()
                   for i in range(0, len(x), batch_size)]
        return np.concatenate(out)

    def predict(self, image: np.ndarray, top: int = 3) -> dict:
        probs = self.predict_proba([image])[0]
        order = np.argsort(-probs)[:top]
        return {"prediction": self.class_names[int(order[0])],
                "probabilities": {c: float(p) for c, p in zip(self.class_names, probs)},
                "top": [(self.class_names[int(i)], float(probs[i])) for i in order]}


def load_bundle(run: str | Path, device: str = "cpu", home: str | Path | None = None):
    """Rebuild a saved run's model from run.json + its task's pipeline file + weights.safetensors.

    Returns the task's predictor (a Predictor for text, an ImagePredictor for images). Nothing
    is unpickled.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = resolve_run(run, home)
    info = read_run(path)
    task = task_named(info.task)
    try:
        pipeline = task.load_pipeline(path)
        model = rebuild_model(info.model_name, info.data_info, info.model_params)
        tensors = load_file(str(path / "weights.safetensors"))
        derive = info.config.derive or {}
        if derive.get("kind") == "quantize":  # int8: the recipe applied to the fp32 model, then its int8 values
            from ..optimize.quantize import rebuild

            model = rebuild(model, derive["recipe"], tensors)
            device = "cpu"  # quantized kernels run on the CPU only
        else:
            model.load_state_dict(tensors)
    except (OSError, KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError, SafetensorError) as exc:
        raise RunError(msg("errors.bundle.not_loaded", "The run '{name}' could not be loaded: {kind}.",
                           name=path.name, kind=type(exc).__name__),
                       msg("errors.bundle.not_loaded.hint", "Its files may be incomplete; delete it and train it "
                           "again.")) from None
    dev = resolve_device(device)
    return task.predictor(model.to(dev), pipeline, info, dev)
