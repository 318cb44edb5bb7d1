"""Model summary for the Model page: layer table, parameters, weight memory and FLOPs (`model_overview`)."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence
from torch.utils.flop_counter import FlopCounterMode

from ..config import DataConfig, ModelConfig
from ..errors import ModelError, msg

_RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)
_WHOLE = _RECURRENT + (nn.MultiheadAttention,)  # listed as one layer, not by their parts
_GATES = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4}


def _shape(out: Any) -> str:
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    if isinstance(out, PackedSequence):
        out = pad_packed_sequence(out, batch_first=True)[0]
    return " × ".join(str(d) for d in out.shape) if isinstance(out, torch.Tensor) else "-"


def _rnn_flops(m: nn.Module, steps: int) -> int:
    """Multiply-adds x2 of a recurrent layer over `steps` words (FlopCounterMode misses fused LSTMs)."""
    gates = _GATES[type(m)]
    total, size_in = 0, m.input_size
    dirs = 2 if m.bidirectional else 1
    for _ in range(m.num_layers):
        total += dirs * 2 * steps * gates * m.hidden_size * (size_in + m.hidden_size)
        size_in = m.hidden_size * dirs
    return total


def summarize(model: nn.Module, example: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """Run one example through `model` and describe every layer.

    Args:
        example: the inputs of one example, e.g. (ids (1, seq), lengths (1,)) for text models.
    Returns:
        {"layers": [{"layer", "type", "output shape", "parameters"}], "total_parameters",
         "trainable_parameters", "weight_bytes", "flops_per_example"}
    """
    rows: list[dict[str, Any]] = []
    hooks = []
    for name, mod in model.named_modules():
        leaf = not any(True for _ in mod.children()) or isinstance(mod, _WHOLE)
        inside = any(isinstance(p, _WHOLE) for n, p in model.named_modules() if n and name.startswith(n + "."))
        if not name or not leaf or inside or isinstance(mod, nn.Dropout):
            continue

        def hook(m, inp, out, name=name):
            rows.append({"layer": name, "type": type(m).__name__, "output shape": _shape(out),
                         "parameters": sum(p.numel() for p in m.parameters())})
        hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*example)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    flops = counter.get_total_flops()
    per_module = counter.get_flop_counts()
    steps = int(example[1][0]) if len(example) > 1 else 1
    for name, mod in model.named_modules():
        if isinstance(mod, _RECURRENT):
            key = f"{type(model).__name__}.{name}"
            flops += _rnn_flops(mod, steps) - sum(per_module.get(key, {}).values())
    params = list(model.parameters())
    return {"layers": rows,
            "total_parameters": sum(p.numel() for p in params),
            "trainable_parameters": sum(p.numel() for p in params if p.requires_grad),
            "weight_bytes": sum(p.numel() * p.element_size() for p in params)
            + sum(b.numel() * b.element_size() for b in model.buffers()),
            "flops_per_example": int(flops)}


def flops_per_example(model: nn.Module, batches: Any, examples: int = 8) -> Optional[int]:
    """Forward FLOPs per training example, counted on the first few examples of the first batch.

    The scaling explorer's compute is 3 x this x examples seen (the backward pass costs about
    twice the forward). None when it cannot be counted. Draws no random numbers.
    """
    try:
        inputs, _ = next(iter(batches))
    except StopIteration:
        return None
    inputs = tuple(t[:examples] for t in inputs)
    n = int(inputs[0].shape[0])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
    except Exception:  # noqa: BLE001 - a figure for a chart, never a reason to fail a run
        return None
    finally:
        model.train(was_training)
    flops, per_module = counter.get_total_flops(), counter.get_flop_counts()
    steps = int(inputs[1].sum()) if len(inputs) > 1 and inputs[1].dim() == 1 else n
    for name, mod in model.named_modules():
        if isinstance(mod, _RECURRENT):
            key = f"{type(model).__name__}.{name}"
            flops += _rnn_flops(mod, steps) - sum(per_module.get(key, {}).values())
    return int(flops / max(n, 1))


def model_overview(data_cfg: DataConfig, model_cfg: ModelConfig, vocab_size: int = 0, num_classes: int = 2,
                   example_len: int = 20, *, image_size: Optional[int] = None,
                   in_channels: Optional[int] = None) -> dict[str, Any]:
    """Layer table, parameters, weight memory and FLOPs per example for the chosen model.

    Text models are described on one text of `example_len` words; image models on one image
    of `image_size` x `image_size` x `in_channels`.
    """
    import torch

    from ._registry import create_model, model_entry, resolve_params

    user_params = model_cfg.params
    if model_cfg.embeddings and not image_size:  # the embedding takes the vectors' width
        from ..embeddings.coverage import params_for_vectors, vectors_dim

        user_params = params_for_vectors(model_cfg.name, user_params, vectors_dim(model_cfg.embeddings))
    params = resolve_params(model_cfg.name, user_params)
    entry = model_entry(model_cfg.name)
    if image_size:
        info = {"in_channels": in_channels or 1, "image_size": image_size, "num_classes": num_classes}
        example: tuple = (torch.zeros(1, info["in_channels"], image_size, image_size),)
    if entry.task != ("image" if image_size else "text"):
        kinds = {"text": msg("engine.models.task_plural.text", "texts"),
                 "image": msg("engine.models.task_plural.image", "images")}
        raise ModelError(msg("errors.summary.wrong_task",
                             "The {model} model is for {kind}, but the chosen dataset is not.",
                             model=model_cfg.name, kind=kinds.get(entry.task, f"{entry.task}s")),
                         msg("errors.summary.wrong_task.hint", "Choose a model from the list for this kind of data."))
    if not image_size:
        info = {"vocab_size": vocab_size, "num_classes": num_classes}
        if entry.pipeline is not None:  # a pretrained model brings its own tokenizer (vocabulary) and encoder
            info.update(entry.pipeline(data_cfg, params).model_inputs())
        example = (torch.randint(2, max(info["vocab_size"], 3), (1, example_len)), torch.tensor([example_len]))
    model = create_model(model_cfg.name, info, load_weights=False, **params)  # the layers, not the weights
    summary = summarize(model, example)
    return {**summary, "name": model_cfg.name, "family": entry.family, "description": entry.description,
            "params": params, "example_len": example_len, "image_size": image_size, "in_channels": in_channels,
            "vocab_size": info.get("vocab_size"), "own_tokenizer": entry.pipeline is not None}


def size_against(info: dict[str, Any], data_cfg: DataConfig, vocab_size: int, num_classes: int,
                 reference: str = "lstm") -> Optional[dict[str, Any]]:
    """How model `info` (a text model_overview) compares with the classroom `reference` model on the same
    data: {"reference", "parameters", "flops", "parameters_ratio", "flops_ratio"}; None for the reference
    itself. FLOPs are for one text of the same length, so the ratio is the cost per example."""
    if info["name"] == reference:
        return None
    ref = model_overview(data_cfg, ModelConfig(reference), vocab_size, num_classes, info["example_len"])
    return {"reference": reference, "parameters": ref["total_parameters"], "flops": ref["flops_per_example"],
            "parameters_ratio": info["total_parameters"] / max(ref["total_parameters"], 1),
            "flops_ratio": info["flops_per_example"] / max(ref["flops_per_example"], 1)}
