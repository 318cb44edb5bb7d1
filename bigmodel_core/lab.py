"""The verbs the app's pages call: each gathers what one page shows from the engine in one call."""
from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Optional

import numpy as np

from .config import DataConfig, ModelConfig
from .data import tables
from .data.dataset import load_dataset
from .data.text import TextPipeline, trace
from .errors import DataError, ModelError
from .runs.store import home_dir


MAX_NAME_CHARS = 100  # the kept file's name; the extension is kept whole


def save_upload(name: str, data: bytes, home: str | Path | None = None,
                check: Optional[Callable[[Path], object]] = None) -> Path:
    """Keep an uploaded file in the workspace (content-addressed, so re-uploads are free).

    `check` (for example `inspect_table`) is called on the newly kept file; if it raises, the
    file and its then-empty folder are removed and the error goes on, so a rejected upload
    leaves nothing behind. A file already kept passed its check when it was first saved.
    """
    if len(data) > tables.MAX_BYTES:
        raise DataError(f"The file '{name}' is {len(data) / 1e9:.1f} GB, more than the {tables.MAX_BYTES // 2**20} MB limit.",
                        "Use a sample of its rows (for example the first 100,000) and upload that.")
    folder = home_dir(home) / "uploads" / hashlib.sha256(data).hexdigest()[:12]
    path = folder / upload_name(name)  # the user's own file name, so messages name the file they chose
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{uuid.uuid4().hex}.part"  # unique: two sessions may save the same upload at once
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
        if check is not None:
            check(path)
    except BaseException:
        for leftover in (tmp, path):
            leftover.unlink(missing_ok=True)
        for empty in (folder, folder.parent):  # only when empty: another upload may live there
            with contextlib.suppress(OSError):
                empty.rmdir()
        raise
    return path


def upload_name(name: str) -> str:
    """A safe file name for an upload: no folders, not hidden, [A-Za-z0-9._-] only, extension kept."""
    base = re.split(r"[/\\]", name)[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", base).rstrip(".")
    if not safe or safe.startswith("."):
        safe = "upload" + safe  # '.csv' -> 'upload.csv'; '' -> 'upload'
    suffix = PurePosixPath(safe).suffix
    if len(suffix) > 16:  # not an extension, just a dot in a long name
        suffix = ""
    if len(safe) > MAX_NAME_CHARS:
        safe = safe[:MAX_NAME_CHARS - len(suffix)] + suffix
    return safe


def inspect_table(path: str | Path) -> dict[str, Any]:
    """Columns of an uploaded table and the guessed text/label columns, for the user to confirm."""
    df = tables.read_table(path)
    text_col, label_col = tables.detect_columns(df)
    return {"columns": list(df.columns), "text_column": text_col, "label_column": label_col,
            "summary": tables.column_summary(df), "rows": len(df)}


def data_overview(cfg: DataConfig, samples: int = 8) -> dict[str, Any]:
    """What the Data page shows: size, classes, samples, and how an example becomes model input."""
    ds = load_dataset(cfg)
    if ds.task == "image":
        return _image_overview(cfg, ds, samples)
    train_texts, _ = ds.part("train")
    pipeline = TextPipeline(cfg).fit(train_texts)
    summary = ds.summary()
    step = max(1, len(ds.texts) // samples)
    sample_rows = [{"text": ds.texts[i], "label": ds.class_names[ds.labels[i]]} for i in range(0, len(ds.texts), step)][:samples]
    return {**summary, "task": "text", "description": ds.description, "samples": sample_rows,
            "vocab_size": pipeline.vocab_size, "trace": trace(pipeline, ds.texts[0]),
            "text_column": ds.text_column, "label_column": ds.label_column}


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

    from .data.image_batches import Augment, augment_batch

    aug = Augment(cfg.augment_shift, cfg.augment_flip, cfg.augment_rotate)
    if not aug.active or len(images) == 0:
        return None
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    out = augment_batch(x, aug, torch.Generator().manual_seed(seed))
    return (out.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def model_overview(data_cfg: DataConfig, model_cfg: ModelConfig, vocab_size: int = 0, num_classes: int = 2,
                   example_len: int = 20, *, image_size: Optional[int] = None,
                   in_channels: Optional[int] = None) -> dict[str, Any]:
    """Layer table, parameters, weight memory and FLOPs per example for the chosen model.

    Text models are described on one text of `example_len` words; image models on one image
    of `image_size` x `image_size` x `in_channels`.
    """
    import torch

    from .models import create_model, model_entry, resolve_params, summarize

    user_params = model_cfg.params
    if model_cfg.embeddings and not image_size:  # the embedding takes the vectors' width
        from .embeddings.coverage import params_for_vectors, vectors_dim

        user_params = params_for_vectors(model_cfg.name, user_params, vectors_dim(model_cfg.embeddings))
    params = resolve_params(model_cfg.name, user_params)
    entry = model_entry(model_cfg.name)
    if image_size:
        info = {"in_channels": in_channels or 1, "image_size": image_size, "num_classes": num_classes}
        example: tuple = (torch.zeros(1, info["in_channels"], image_size, image_size),)
    else:
        info = {"vocab_size": vocab_size, "num_classes": num_classes}
        example = (torch.randint(2, max(vocab_size, 3), (1, example_len)), torch.tensor([example_len]))
    if entry.task != ("image" if image_size else "text"):
        raise ModelError(f"The {model_cfg.name} model is for {entry.task}s, but the chosen dataset is not.",
                         "Choose a model from the list for this kind of data.")
    model = create_model(model_cfg.name, info, **params)
    summary = summarize(model, example)
    return {**summary, "name": model_cfg.name, "family": entry.family, "description": entry.description,
            "params": params, "example_len": example_len, "image_size": image_size, "in_channels": in_channels}


def explain_image_views(predictor, image: np.ndarray, num_samples: int = 1000, seed: int = 0,
                        label: Optional[str] = None) -> dict[str, Any]:
    """LIME superpixels, gradient saliency and Integrated Gradients for one image, side by side."""
    from .explain.gradients import attribute_image
    from .explain.lime_image import explain_image

    return {"lime": explain_image(predictor, image, num_samples=num_samples, seed=seed, label=label),
            "saliency": attribute_image(predictor, image, "saliency", label=label),
            "ig": attribute_image(predictor, image, "ig", label=label)}


def test_images(run_info: dict, limit: int = 200) -> tuple[np.ndarray, list[str]]:
    """Up to `limit` images of an image run's own test split (as the model sees them), with labels."""
    from .config import from_dict

    cfg = from_dict(DataConfig, run_info["config"]["data"])
    ds = load_dataset(cfg)
    images, labels = ds.part("test") if len(ds.split["test"]) else ds.part("val")
    return images[:limit], [ds.class_names[i] for i in labels[:limit]]


def embedding_map(set_id: str, data_cfg: DataConfig, n: int = 500, dims: int = 3, method: str = "pca",
                  seed: int = 0, extra_words: tuple[str, ...] = ()) -> dict[str, Any]:
    """A 2-D/3-D map of a vector set's most frequent words, each coloured by its class lean in the data.

    `extra_words` (searched or typed words) are placed on the map too when they have a vector,
    even if they are not among the `n` most frequent; the result's "found" lists them as spelt in
    the vocabulary and "not_found" gives each unknown one with close suggestions.
    """
    from .embeddings.projection import class_lean, project
    from .embeddings.queries import spelling, suggestions
    from .embeddings.vectors import load_vectors

    kv = load_vectors(set_id)
    n = max(3, min(n, len(kv.index_to_key)))
    words = list(kv.index_to_key[:n])
    found, not_found = [], []
    for w in dict.fromkeys(x.strip() for x in extra_words if x.strip()):
        spelt = spelling(kv, w)
        if spelt is None:
            not_found.append({"word": w, "suggestions": suggestions(kv, w)})
            continue
        found.append(spelt)
        if kv.key_to_index[spelt] >= n:
            words.append(spelt)
    result = project(kv, words=words, n=n, dims=dims, method=method, seed=seed)
    result.update(found=found, not_found=not_found)
    lean: dict[str, float] = {}
    ds = load_dataset(data_cfg)
    if ds.task == "text":
        lean = class_lean(result["words"], ds, TextPipeline(data_cfg))
        result["lean_classes"] = ds.class_names
    result["lean"] = [float(lean.get(w, 0.0)) for w in result["words"]]
    return result


def explain_text_views(predictor, text: str, num_samples: int = 1000, seed: int = 0,
                       label: Optional[str] = None) -> dict[str, Any]:
    """LIME, Integrated Gradients and (Transformer runs) attention for one text, and how far they agree."""
    from .explain.lime_text import explain_text
    from .explain.text_attributions import (
        attention_text,
        has_attention,
        integrated_gradients_text,
        rank_agreement,
        why_different,
    )

    lime = explain_text(predictor, text, num_samples=num_samples, seed=seed, label=label)
    label = lime.class_names[lime.label]
    ig = integrated_gradients_text(predictor, text, label=label)
    attention = attention_text(predictor, text) if has_attention(predictor) else None
    agreement = rank_agreement(lime.weights[lime.label], ig.weights[ig.label],
                               attention.rollout if attention is not None else None)
    return {"lime": lime, "ig": ig, "attention": attention, "agreement": agreement,
            "why_different": why_different(attention is not None)}


def vectors_coverage(data_cfg: DataConfig, vectors: str) -> dict[str, Any]:
    """How much of the dataset's vocabulary (as a model would build it) a vector set covers.

    The vocabulary is fitted on the training split with the data settings, exactly as training
    does, so the numbers are the ones the run will record.
    """
    from .embeddings.coverage import embedding_matrix
    from .embeddings.vectors import load_vectors, vectors_info

    ds = load_dataset(data_cfg)
    if ds.task != "text":
        raise DataError("Word vectors are for text, but the chosen dataset holds images.",
                        "Choose a text dataset on the Data page to start a model from word vectors.")
    pipeline = TextPipeline(data_cfg).fit(ds.part("train")[0])
    kv = load_vectors(vectors)
    _, coverage = embedding_matrix(kv, pipeline.itos, kv.vector_size)
    return {**coverage, "vectors": vectors_info(kv)}


def import_uploaded_vectors(name: str, data: bytes, limit: Optional[int] = None, progress=None,
                            home: str | Path | None = None) -> dict[str, Any]:
    """Save an uploaded GloVe / word2vec file as a vector set (the upload itself is not kept)."""
    import shutil
    import tempfile

    from .embeddings.vectors import import_vectors

    if not data:
        raise DataError(f"The file '{name}' is empty.", "Upload a GloVe .txt, word2vec .txt or word2vec .bin file.")
    folder = Path(tempfile.mkdtemp(prefix=".upload-", dir=home_dir(home)))
    try:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).strip(".") or "vectors.txt"
        path = folder / safe
        path.write_bytes(data)
        return import_vectors(path, title=Path(name).stem, limit=limit, progress=progress, home=home)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
