"""Load a saved run as a Predictor: safetensors weights + JSON config, never unpickling."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..data.batching import TextBatches
from ..data.text import UNK_ID, TextPipeline
from ..errors import InputError, RunError
from ..models import create_model
from ..runs.store import read_run, resolve_run
from ..training.devices import resolve_device
from ..training.metrics import to_device


class Predictor:
    """A trained text model with its pipeline: `predict_proba(texts) -> (n, classes)` probabilities."""

    def __init__(self, model: torch.nn.Module, pipeline: TextPipeline, info: dict, device: torch.device) -> None:
        self.model, self.pipeline, self.info, self.device = model.eval(), pipeline, info, device
        self.class_names: list[str] = info["data_info"]["class_names"]
        self.run_id: str = info["id"]

    @torch.no_grad()
    def predict_proba_ids(self, encoded: Sequence[np.ndarray], batch_size: int = 512) -> np.ndarray:
        """Probabilities for already-encoded texts, in the input order."""
        if not len(encoded):
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        batches = TextBatches([e if len(e) else np.array([UNK_ID]) for e in encoded], None, batch_size, bucket=True)
        out = np.zeros((len(encoded), len(self.class_names)), dtype=np.float32)
        for idx, ((ids, lengths), _) in zip(batches.batch_indices(), batches):
            logits = self.model(*to_device((ids, lengths), self.device))
            out[idx] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        return out

    def predict_proba_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return self.predict_proba_ids([np.asarray(self.pipeline.encode_tokens(t), dtype=np.int64) for t in token_lists])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba_ids(self.pipeline.encode(texts))

    def predict(self, text: str) -> dict:
        """Prediction for one text: label, probability per class, and its tokens marked known/unknown."""
        if not text or not text.strip():
            raise InputError("The text to classify is empty.", "Type a sentence, for example 'a gripping, well acted film'.")
        toks = self.pipeline.tokens(text)
        if not toks:
            raise InputError("Nothing is left of this text after cleaning (it held only markup, links or stop words).",
                             "Type a sentence with ordinary words.")
        probs = self.predict_proba([text])[0]
        return {"prediction": self.class_names[int(probs.argmax())],
                "probabilities": {c: float(p) for c, p in zip(self.class_names, probs)},
                "tokens": [{"token": t, "known": self.pipeline.is_known(t)} for t in toks]}


def load_bundle(run: str | Path, device: str = "cpu", home: str | Path | None = None) -> Predictor:
    """Rebuild the model of a saved run from run.json + vocab.json + weights.safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = resolve_run(run, home)
    info = read_run(path)
    try:
        pipeline = TextPipeline.from_json((path / "vocab.json").read_text(encoding="utf-8"))
        model = create_model(info["config"]["model"]["name"], info["data_info"], **info["model_params"])
        model.load_state_dict(load_file(str(path / "weights.safetensors")))
    except (OSError, KeyError, RuntimeError, json.JSONDecodeError, SafetensorError) as exc:
        raise RunError(f"The run '{path.name}' could not be loaded: {type(exc).__name__}.",
                       "Its files may be incomplete; delete it and train it again.") from None
    dev = resolve_device(device)
    return Predictor(model.to(dev), pipeline, info, dev)
