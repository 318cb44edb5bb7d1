"""Each layer's gradient norm at an optimizer step: how hard each part of the model is being pushed.

The model's parameters are grouped by module name (`embedding`, `rnn`, `fc`, `layers.0`, ...): top-level
modules first; a numbered list of blocks (`layers.0`, `layers.1`) or a lone wrapper (`bert`) is opened
one level deeper while the groups stay at most MOST. Measuring reads every gradient once (one fused
norm per tensor, then one per group) and syncs once, so it costs a small share of the optimizer step.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

MOST = 12  # groups on the chart at most: more lines than this cannot be told apart
# measured at every k-th optimizer step: about POINTS times a run (a short run: every step), and at least
# every MAX_EVERY steps. One measurement reads every gradient once (0.3-0.8 ms for the classroom models on
# one CPU thread, 2-11 % of their step), so a default run (600 steps) spends about 0.5 % of its time on it
POINTS = 200
MAX_EVERY = 25


def _module_path(name: str) -> tuple[str, ...]:
    """'layers.0.attn.in_proj_weight' -> ('layers', '0', 'attn'); a parameter of the model itself -> (its name,)."""
    parts = tuple(name.split("."))
    return parts[:-1] or parts


def _children(prefix: tuple[str, ...], paths: list[tuple[str, ...]]) -> dict[tuple[str, ...], list[int]]:
    """The parameters of a group split one module level below `prefix` (those directly on it stay together)."""
    out: dict[tuple[str, ...], list[int]] = {}
    for i, path in enumerate(paths):
        out.setdefault(path[:len(prefix) + 1], []).append(i)
    return out


def layer_groups(model: nn.Module, most: int = MOST) -> dict[str, list[nn.Parameter]]:
    """{group name: its trainable parameters}, in the model's order, at most `most` groups."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        return {}
    paths = [_module_path(n) for n, _ in named]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, path in enumerate(paths):
        groups.setdefault(path[:1], []).append(i)
    tried: set[tuple[str, ...]] = set()
    while True:
        size = {g: sum(named[i][1].numel() for i in idx) for g, idx in groups.items()}
        for group in sorted((g for g in groups if g not in tried), key=lambda g: -size[g]):
            tried.add(group)
            prefix, members = group, groups[group]
            sub = _children(prefix, [paths[i] for i in members])
            while len(sub) == 1 and next(iter(sub)) != prefix:  # a chain of single modules: look below it
                prefix = next(iter(sub))
                sub = _children(prefix, [paths[i] for i in members])
            # a numbered list of blocks is opened once: each block is a layer (its own parts stay together)
            numbered = not prefix[-1].isdigit() and all(k[-1].isdigit() for k in sub if k != prefix)
            if len(sub) > 1 and (numbered or len(groups) < 3) and len(groups) - 1 + len(sub) <= most:
                at = list(groups).index(group)
                items = list(groups.items())
                opened = [(k, [members[j] for j in idx]) for k, idx in sub.items()]
                groups = dict(items[:at] + opened + items[at + 1:])
                break
        else:
            break
    return {".".join(g): [named[i][1] for i in idx] for g, idx in groups.items()}


class GradNorms:
    """Measures each group's L2 gradient norm; `measure()` after backward (and unscaling), before clipping.

    One fused norm per tensor, their squares summed per group by one index_add, one sync: a handful of
    operations whatever the number of tensors and groups.
    """

    def __init__(self, model: nn.Module, updates: int = POINTS, most: int = MOST) -> None:
        self.groups = layer_groups(model, most)
        self.every = min(MAX_EVERY, max(1, math.ceil(updates / POINTS)))  # `updates`: the run's optimizer steps
        self._names = list(self.groups)
        self._index: dict[tuple[int, ...], torch.Tensor] = {}  # group of each gradient, on its device

    def due(self, done: int) -> bool:
        """Whether the optimizer step after `done` steps is measured (the same steps after a resume)."""
        return done % self.every == 0 or done == 0

    def measure(self, skip_non_finite: bool = False) -> Optional[dict[str, float]]:
        """{group: norm} of the gradients now (groups with no gradient this step left out); None when
        nothing has a gradient, or, with `skip_non_finite` (fp16's scaler skips such a step), one is inf/NaN."""
        grads, ids = [], []
        for i, params in enumerate(self.groups.values()):
            for p in params:
                if p.grad is not None:
                    grads.append(p.grad.coalesce().values() if p.grad.is_sparse else p.grad)
                    ids.append(i)
        if not grads:
            return None
        try:
            per = torch._foreach_norm(grads)
        except (RuntimeError, AttributeError):  # mixed dtypes or devices: one norm at a time
            per = [torch.linalg.vector_norm(g) for g in grads]
        device = per[0].device
        per = torch.stack([n.to(device, torch.float32) for n in per])
        key = tuple(ids)
        if key not in self._index:
            self._index[key] = torch.tensor(ids, device=device)
        squares = torch.zeros(len(self._names), device=device).index_add_(0, self._index[key], per * per)
        values = squares.sqrt().tolist()  # one sync for every group
        out = {self._names[i]: values[i] for i in sorted(set(ids))}
        if skip_non_finite and not all(math.isfinite(v) for v in out.values()):
            return None
        return out
