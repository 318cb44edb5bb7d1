"""Evaluation: run a model over batches, then accuracy, macro-F1, confusion matrix, per-class scores."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support  # top level: see data/dataset.py


def to_device(inputs: tuple, device: torch.device) -> tuple:
    """Move model inputs to `device`; text lengths stay on the CPU (packing needs them there)."""
    out = []
    for i, t in enumerate(inputs):
        keep_cpu = i == 1 and t.dim() == 1 and t.dtype == torch.long  # (ids, lengths) convention
        out.append(t if keep_cpu else t.to(device, non_blocking=True))
    return tuple(out)


@torch.no_grad()
def predict_batches(model: torch.nn.Module, batches: Iterable, device: torch.device) -> dict[str, np.ndarray]:
    """Probabilities, labels and the example order for every batch (model left in eval mode)."""
    model.eval()
    probs, labels, order, losses = [], [], [], []
    index_batches = batches.batch_indices() if hasattr(batches, "batch_indices") else None
    for i, (inputs, y) in enumerate(batches):
        logits = model(*to_device(inputs, device)).float()
        y = y.to(device)
        losses.append(F.cross_entropy(logits, y, reduction="sum").item())
        probs.append(torch.softmax(logits, dim=1).cpu().numpy())
        labels.append(y.cpu().numpy())
        if index_batches is not None:
            order.append(index_batches[i])
    n = sum(len(l) for l in labels)
    return {"probs": np.concatenate(probs) if probs else np.zeros((0, 0)),
            "labels": np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64),
            "order": np.concatenate(order) if order else np.arange(n),
            "loss": float(sum(losses) / max(n, 1))}


def classification_report(labels: np.ndarray, probs: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, confusion matrix (rows = true, cols = predicted) and per-class P/R/F1."""
    k = len(class_names)
    pred = probs.argmax(1) if len(probs) else np.zeros(0, dtype=np.int64)
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=list(range(k)), zero_division=0)
    return {"accuracy": float((pred == labels).mean()) if len(labels) else 0.0,
            "macro_f1": float(f.mean()),
            "confusion": confusion_matrix(labels, pred, labels=list(range(k))).tolist(),
            "per_class": [{"class": c, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                           "support": int(s[i])} for i, c in enumerate(class_names)]}
