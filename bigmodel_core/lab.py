"""The verbs the app's pages call: each gathers what one page shows from the engine in one call."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from .config import DataConfig, ModelConfig
from .data import tables
from .data.dataset import load_dataset
from .data.text import TextPipeline, trace
from .errors import DataError
from .runs.store import home_dir


def save_upload(name: str, data: bytes, home: str | Path | None = None) -> Path:
    """Keep an uploaded file in the workspace (content-addressed, so re-uploads are free)."""
    if len(data) > tables.MAX_BYTES:
        raise DataError(f"The file '{name}' is {len(data) / 1e9:.1f} GB, more than the {tables.MAX_BYTES // 2**20} MB limit.",
                        "Use a sample of its rows (for example the first 100,000) and upload that.")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "upload.csv"
    folder = home_dir(home) / "uploads" / hashlib.sha256(data).hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe  # the user's own file name, so messages name the file they chose
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def inspect_table(path: str | Path) -> dict[str, Any]:
    """Columns of an uploaded table and the guessed text/label columns, for the user to confirm."""
    df = tables.read_table(path)
    text_col, label_col = tables.detect_columns(df)
    return {"columns": list(df.columns), "text_column": text_col, "label_column": label_col,
            "summary": tables.column_summary(df), "rows": len(df)}


def data_overview(cfg: DataConfig, samples: int = 8) -> dict[str, Any]:
    """What the Data page shows: size, classes, lengths, samples, and one text through the pipeline."""
    ds = load_dataset(cfg)
    train_texts, _ = ds.part("train")
    pipeline = TextPipeline(cfg).fit(train_texts)
    summary = ds.summary()
    step = max(1, len(ds.texts) // samples)
    sample_rows = [{"text": ds.texts[i], "label": ds.class_names[ds.labels[i]]} for i in range(0, len(ds.texts), step)][:samples]
    return {**summary, "description": ds.description, "samples": sample_rows, "vocab_size": pipeline.vocab_size,
            "trace": trace(pipeline, ds.texts[0]), "text_column": ds.text_column, "label_column": ds.label_column}


def model_overview(data_cfg: DataConfig, model_cfg: ModelConfig, vocab_size: int, num_classes: int,
                   example_len: int = 20) -> dict[str, Any]:
    """Layer table, parameters, weight memory and FLOPs per example for the chosen model."""
    import torch

    from .models import create_model, model_entry, resolve_params, summarize

    params = resolve_params(model_cfg.name, model_cfg.params)
    model = create_model(model_cfg.name, {"vocab_size": vocab_size, "num_classes": num_classes}, **params)
    ids = torch.randint(2, max(vocab_size, 3), (1, example_len))
    info = summarize(model, (ids, torch.tensor([example_len])))
    entry = model_entry(model_cfg.name)
    return {**info, "name": model_cfg.name, "family": entry.family, "description": entry.description,
            "params": params, "example_len": example_len}
