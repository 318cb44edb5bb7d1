"""Magnitude pruning on torch's own `torch.nn.utils.prune`: the smallest weights set to zero.

Every weight matrix is a candidate (Linear, convolutions, embeddings, the LSTM/GRU/RNN input and
recurrent weights, attention projections): any parameter whose name contains "weight" and that
has two dimensions or more. Biases and normalisation scales are left alone. "global" ranks all
candidates together (layers that matter less lose more); "layer" prunes each one by the same share.
While a pruned model fine-tunes, the zeros are kept by torch's masks; `make_permanent` then folds
the masks in (`prune.remove`) so the weights are plain tensors again, and re-flattens recurrent
layers' weights for cuDNN. A pruned file stored densely is as large as before: only its zipped size
shrinks (measure.py shows both).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from ..errors import ConfigError, msg

SCOPES = ("global", "layer")


def targets(model: nn.Module) -> list[tuple[nn.Module, str, str]]:
    """(module, parameter name, full name) of every weight matrix pruning may thin out."""
    out = []
    for mod_name, mod in model.named_modules():
        for p_name, p in list(mod.named_parameters(recurse=False)):
            if "weight" in p_name and p.dim() >= 2 and not p_name.endswith("_orig"):
                out.append((mod, p_name, f"{mod_name}.{p_name}" if mod_name else p_name))
    return out


def check_sparsity(amount: float, scope: str) -> None:
    if not 0.0 < float(amount) < 1.0:
        raise ConfigError(msg("errors.prune.sparsity", "A sparsity of {amount:g} cannot be used: it is the share of "
                              "weights set to zero.", amount=float(amount)),
                          msg("errors.prune.sparsity.hint",
                              "Choose a share between 0 and 1, for example 0.5 for half of the weights."))
    if scope not in SCOPES:
        raise ConfigError(msg("errors.prune.scope", "'{scope}' is not a way to prune.", scope=scope),
                          msg("errors.prune.scope.hint", "Choose global (all layers ranked together) or layer."))


def apply_pruning(model: nn.Module, amount: float, scope: str = "global") -> nn.Module:
    """Zero the `amount` share of the smallest weights (L1 magnitude), keeping masks for fine-tuning."""
    check_sparsity(amount, scope)
    found = targets(model)
    if not found:
        raise ConfigError(msg("errors.prune.nothing", "This model has no weight matrices to prune."),
                          msg("errors.prune.nothing.hint", "Prune a model with Linear, convolution or recurrent layers."))
    if scope == "global":
        prune.global_unstructured([(m, n) for m, n, _ in found], pruning_method=prune.L1Unstructured, amount=float(amount))
    else:
        for m, n, _ in found:
            prune.l1_unstructured(m, n, amount=float(amount))
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold the masks into the weights (plain tensors with zeros), so the model saves and loads as any other."""
    for mod in model.modules():
        for name in [k[: -len("_mask")] for k, _ in list(mod.named_buffers(recurse=False)) if k.endswith("_mask")]:
            prune.remove(mod, name)
        if isinstance(mod, nn.RNNBase):
            mod._init_flat_weights()
            mod.flatten_parameters()
    return model


def sparsity(model: nn.Module) -> list[dict[str, Any]]:
    """Share of zeros in each weight matrix: [{"layer", "parameters", "zeros", "sparsity"}]."""
    rows = []
    for mod, name, full in targets(model):
        w = getattr(mod, name)
        n = w.numel()
        zeros = int((w == 0).sum())
        rows.append({"layer": full, "parameters": n, "zeros": zeros, "sparsity": zeros / max(n, 1)})
    return rows


def nonzero_parameters(model_or_state) -> int:
    tensors = model_or_state.values() if isinstance(model_or_state, dict) else \
        [p for p in model_or_state.state_dict().values() if isinstance(p, torch.Tensor)]
    return int(sum(int((t != 0).sum()) for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point()))
