"""Inside the CNN: the learned filters, what every layer outputs for one image, and the layer flow.

In the spirit of CNN Explainer (Wang et al. 2020): follow one picture through the network,
layer by layer, with a one-line plain explanation of what each kind of layer does.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import msg
from .lime_image import check_image

# One sentence per kind of layer, for a student who does not program; keyed by the "type"
# that feature_maps and layer_flow report.
EXPLAINERS: dict[str, str] = {  # Msgs: English here, other languages by key (engine.explain.layer.*)
    "Conv2d": msg("engine.explain.layer.conv2d",
                  "Convolution: small filters slide over the picture and light up wherever they find "
                  "their pattern (an edge, a curve, a corner); each filter makes one map."),
    "ReLU": msg("engine.explain.layer.relu",
                "ReLU keeps the positive evidence and sets everything negative to zero, so a map "
                "only shows where a pattern was found."),
    "MaxPool2d": msg("engine.explain.layer.maxpool2d",
                     "Max pooling keeps the strongest value of each 2x2 patch: the map gets half as "
                     "wide and high, and the pattern may move a little without changing the result."),
    "AvgPool2d": msg("engine.explain.layer.avgpool2d",
                     "Average pooling replaces each patch by its average: a smaller, blurrier map."),
    "AdaptiveAvgPool2d": msg("engine.explain.layer.adaptiveavgpool2d",
                             "Global average pooling boils each map down to one number: how strongly "
                             "its pattern appears anywhere in the picture."),
    "BatchNorm2d": msg("engine.explain.layer.batchnorm2d",
                       "Batch normalisation rescales each map to a steady range, which makes training "
                       "faster and more stable; it does not change what the map shows."),
    "Flatten": msg("engine.explain.layer.flatten",
                   "Flatten lays all the maps out in one long row of numbers, ready for the "
                   "fully connected layers."),
    "Linear": msg("engine.explain.layer.linear",
                  "A fully connected layer: every output is a weighted vote of all inputs; the last "
                  "one gives one score per class, and the highest score wins."),
    "Shortcut": msg("engine.explain.layer.shortcut",
                    "The shortcut (residual connection) carries the block's input around the two "
                    "convolutions unchanged, so the block only has to learn a correction."),
    "Residual add + ReLU": msg("engine.explain.layer.residual_add",
                               "Here the shortcut is added back to the result of the convolutions, "
                               "then ReLU keeps the positive part: input plus learned correction."),
}

_SKIPPED = (nn.Dropout,)  # does nothing when predicting, so it is not shown


def conv_filters(model: Any) -> list[dict[str, Any]]:
    """Every nn.Conv2d's learned filters, in the model's order.

    Args:
        model: an nn.Module or an ImagePredictor.
    Returns:
        [{"layer": name, "weights": (out, in, k, k) float32, "shape": tuple, "parameters": int}]
    """
    model = getattr(model, "model", model)
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            w = mod.weight.detach().float().cpu().numpy()
            out.append({"layer": name, "weights": w, "shape": tuple(w.shape),
                        "parameters": sum(p.numel() for p in mod.parameters())})
    return out


def first_conv(model: Any) -> dict[str, Any] | None:
    """The first 2-D convolution's shape as the course explains it: kernel, stride, padding, channels (the maps
    it makes); None for a model without one. Padding "same"/"valid" stays a word."""
    net = getattr(model, "model", model)
    conv = next((m for m in net.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        return None
    padding = conv.padding[0] if isinstance(conv.padding, tuple) else conv.padding
    return {"kernel": conv.kernel_size[0], "stride": conv.stride[0], "padding": padding, "channels": conv.out_channels}


def _shown_leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaf modules worth showing: not dropout, and Identity only where it is a residual shortcut."""
    leaves = []
    for name, mod in model.named_modules():
        if not name or any(True for _ in mod.children()) or isinstance(mod, _SKIPPED):
            continue
        if isinstance(mod, nn.Identity) and not name.endswith("shortcut"):
            continue  # e.g. a ConvNet block too small to pool: nothing happens there
        leaves.append((name, mod))
    return leaves


def _block_of(model: nn.Module, name: str) -> str | None:
    """The name of the nearest enclosing module that has a `shortcut` (a residual block)."""
    parts = name.split(".")
    modules = dict(model.named_modules())
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        if hasattr(modules.get(prefix), "shortcut"):
            return prefix
    return None


def _kind(model: nn.Module, name: str, mod: nn.Module, seen: list[str]) -> str:
    """The layer's type for display; names the shortcut and the addition of residual blocks."""
    block = _block_of(model, name)
    if block is not None and isinstance(mod, nn.Identity):
        return "Shortcut"
    if block is not None and isinstance(mod, nn.ReLU) and any(s.startswith(block + ".shortcut") for s in seen):
        return "Residual add + ReLU"
    return type(mod).__name__


def feature_maps(predictor, image: np.ndarray) -> list[dict[str, Any]]:
    """Follow one image through the model and keep every layer's output, in the order computed.

    Args:
        image: uint8 (S, S, C) at the model's size.
    Returns:
        [{"layer": name, "type": "Conv2d" | "ReLU" | "MaxPool2d" | ..., "maps": (channels, h, w)
          float32 for image-shaped outputs or (features,) for flat ones, "shape": tuple,
          "parameters": int}]. A module used twice (a residual block's ReLU) appears twice,
          the second time as "<name> (call 2)". The last entry holds the class scores (logits).
    """
    model = predictor.model
    img = check_image(predictor, image)
    x = predictor.to_input([img]).to(predictor.device)  # (1, C, S, S)
    rows: list[dict[str, Any]] = []
    calls: dict[str, int] = {}
    hooks = []
    with predictor.lock:  # the hooks are on the model every session shares
        for name, mod in _shown_leaves(model):
            def hook(m: nn.Module, inp: Any, out: Any, name: str = name) -> None:
                t = out[0] if isinstance(out, (tuple, list)) else out
                maps = t[0].detach().float().cpu().numpy()  # drop the batch: (C, h, w) or (features,)
                calls[name] = calls.get(name, 0) + 1
                label = name if calls[name] == 1 else msg("engine.explain.layer_call", "{name} (call {n})",
                                                          name=name, n=calls[name])
                kind = _kind(model, name, m, [r["layer"] for r in rows])
                rows.append({"layer": label, "type": kind, "maps": maps, "shape": tuple(maps.shape),
                             "parameters": sum(p.numel() for p in m.parameters()) if calls[name] == 1 else 0})
            hooks.append(mod.register_forward_hook(hook))
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                model(x)
        finally:
            for h in hooks:
                h.remove()
            model.train(was_training)
    return rows


def layer_flow(predictor) -> list[dict[str, Any]]:
    """The layer table for one image: [{"layer", "type", "output shape", "parameters"}] (batch of 1)."""
    from ..models import summarize

    size, ch = predictor.preprocess.size, predictor.preprocess.channels
    blank = np.zeros((size, size, ch), dtype=np.uint8)
    x = predictor.to_input([blank]).to(predictor.device)  # (1, C, S, S)
    with predictor.lock:  # summarize hooks the model
        return summarize(predictor.model, (x,))["layers"]
