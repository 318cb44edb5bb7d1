"""What the Data page shows of a dataset: size, classes, samples, the text pipeline's trace, augmentation."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..config import DataConfig
from .dataset import load_dataset
from .text.pipeline import TextPipeline, trace

def data_overview(cfg: DataConfig, samples: int = 8, model: Any = None) -> dict[str, Any]:
    """What the Data page shows: size, classes, samples, and how an example becomes model input.

    `model` (a ModelConfig): when it brings its own tokenizer (a pretrained Transformer), "model_trace"
    is the same example as that model reads it (word pieces), or "model_trace_error" says why not.
    """
    ds = load_dataset(cfg)
    if ds.task == "image":
        return _image_overview(cfg, ds, samples)
    train_texts, _ = ds.part("train")
    pipeline = TextPipeline(cfg).fit(train_texts)
    summary = ds.summary()
    step = max(1, len(ds.texts) // samples)
    sample_rows = [{"text": ds.texts[i], "label": ds.class_names[ds.labels[i]]} for i in range(0, len(ds.texts), step)][:samples]
    out = {**summary, "task": "text", "description": ds.description, "samples": sample_rows,
           "vocab_size": pipeline.vocab_size, "trace": trace(pipeline, ds.texts[0]),
           "text_column": ds.text_column, "label_column": ds.label_column}
    if model is not None:
        out.update(_model_trace(cfg, model, ds.texts[0]))
    return out


def _model_trace(cfg: DataConfig, model: Any, text: str) -> dict[str, Any]:
    from ..errors import BigModelError
    from ..models import model_entry, resolve_params

    try:
        entry = model_entry(model.name)
        if entry.pipeline is None or entry.task != "text":
            return {}
        pipe = entry.pipeline(cfg, resolve_params(model.name, model.params))
    except BigModelError as exc:
        return {"model_name": model.name, "model_trace_error": exc.message}
    return {"model_name": model.name, "model_trace": trace(pipe, text)}


def _image_overview(cfg: DataConfig, ds: Any, samples: int) -> dict[str, Any]:
    summary = ds.summary()
    h, _, c = summary["image_shape"]
    train_images, _ = ds.part("train")
    originals = train_images[:samples]
    return {**summary, "task": "image", "description": ds.description, "image_size": int(h), "in_channels": int(c),
            "samples": ds.samples_per_class(samples, seed=cfg.seed), "original": originals,
            "augmented": augment_preview(originals, cfg)}


def augment_preview(images: np.ndarray, cfg: DataConfig, seed: int = 0) -> Optional[np.ndarray]:
    """The same images after one random draw of the augmentation (None when augmentation is off)."""
    import torch

    from .images.batches import Augment, augment_batch

    aug = Augment(cfg.augment_shift, cfg.augment_flip, cfg.augment_rotate)
    if not aug.active or len(images) == 0:
        return None
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    out = augment_batch(x, aug, torch.Generator().manual_seed(seed))
    return (out.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def test_images(run_info: Any, limit: int = 200) -> tuple[np.ndarray, list[str]]:
    """Up to `limit` images of an image run's own test split (as the model sees them), with labels.

    `run_info` is the run's RunInfo: its recorded data settings give the same split it was tested on.
    """
    ds = load_dataset(run_info.config.data)
    images, labels = ds.part("test") if len(ds.split["test"]) else ds.part("val")
    return images[:limit], [ds.class_names[i] for i in labels[:limit]]
