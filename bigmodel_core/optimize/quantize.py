"""Dynamic int8 quantization (torch.ao.quantization.quantize_dynamic) of Linear, LSTM and GRU layers,
stored without pickle.

A quantized layer keeps its weights packed in script objects that safetensors cannot hold, and
`torch.load` would unpickle them. So a quantized run stores its *recipe* (which layer types, int8)
and the int8 values themselves as plain tensors: for every quantized weight its int8 integers,
scale and zero point (per tensor or per channel); everything else as float tensors. Loading builds
the fp32 model, quantizes it with the same recipe and puts the int8 values back into the packed
layers (`set_weight_bias`): the same numbers, bit for bit, and nothing unpickled.

torch 2.13 still ships quantize_dynamic but warns that torch.ao.quantization is deprecated; that
warning is for library authors, not for a student, and is filtered here.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn

from ..errors import ModelError, msg

LAYERS = {"Linear": nn.Linear, "LSTM": nn.LSTM, "GRU": nn.GRU}
RECIPE_KIND = "dynamic_int8"


@contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\..*")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
        yield


def quantizable(model: nn.Module) -> list[str]:
    """The layer types in `model` that dynamic int8 quantization covers (what the recipe will name)."""
    present = {type(m).__name__ for m in model.modules()}
    return [name for name, cls in LAYERS.items() if any(isinstance(m, cls) for m in model.modules())
            and name in present]


def quantize_model(model: nn.Module) -> tuple[nn.Module, dict[str, Any]]:
    """(int8 copy of `model` for the CPU, its recipe). A plain ModelError when nothing in it can be quantized."""
    kinds = quantizable(model)
    if not kinds:
        kinds_here = sorted({type(m).__name__ for m in model.modules() if not list(m.children())})
        raise ModelError(msg("errors.quantize.nothing", "This model has no Linear, LSTM or GRU layer, so dynamic int8 "
                             "quantization has nothing to work on (it has {layers}).",
                             layers=", ".join(kinds_here[:8])),
                         msg("errors.quantize.nothing.hint",
                             "Quantize a text model or an MLP; a CNN's convolutions need static quantization."))
    model = model.cpu().eval()
    with quiet():
        q = torch.ao.quantization.quantize_dynamic(model, {LAYERS[k] for k in kinds}, dtype=torch.qint8)
    return q, {"kind": RECIPE_KIND, "layers": kinds, "dtype": "qint8"}


def apply_recipe(model: nn.Module, recipe: dict[str, Any]) -> nn.Module:
    if recipe.get("kind") != RECIPE_KIND:
        raise ModelError(msg("errors.quantize.recipe", "This run was quantized in a way this version cannot rebuild "
                             "({kind}).", kind=str(recipe.get("kind"))),
                         msg("errors.quantize.recipe.hint", "Quantize its parent run again."))
    with quiet():
        return torch.ao.quantization.quantize_dynamic(model.cpu().eval(), {LAYERS[k] for k in recipe["layers"]},
                                                      dtype=torch.qint8)


def _is_packed(m: nn.Module) -> bool:
    return hasattr(m, "set_weight_bias") and hasattr(m, "_weight_bias")


def _packed(q: nn.Module) -> dict[str, nn.Module]:
    """The quantized layers (not their inner `_packed_params` holders), by name."""
    found: dict[str, nn.Module] = {}
    for name, m in q.named_modules():
        if name and _is_packed(m) and not any(name.startswith(p + ".") for p in found):
            found[name] = m
    return found


def _put(out: dict[str, torch.Tensor], key: str, t: torch.Tensor) -> None:
    if t.is_quantized:
        out[f"{key}.int8"] = t.int_repr().contiguous()
        if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            out[f"{key}.scales"] = t.q_per_channel_scales().float().contiguous()
            out[f"{key}.zero_points"] = t.q_per_channel_zero_points().to(torch.int64).contiguous()
            out[f"{key}.axis"] = torch.tensor([t.q_per_channel_axis()], dtype=torch.int64)
        else:
            out[f"{key}.scale"] = torch.tensor([t.q_scale()], dtype=torch.float64)
            out[f"{key}.zero_point"] = torch.tensor([t.q_zero_point()], dtype=torch.int64)
    else:
        out[key] = t.detach().contiguous()


def _take(tensors: dict[str, torch.Tensor], key: str) -> torch.Tensor | None:
    if f"{key}.int8" in tensors:
        ints = tensors[f"{key}.int8"]
        if f"{key}.scales" in tensors:
            return torch._make_per_channel_quantized_tensor(ints, tensors[f"{key}.scales"].double(),
                                                            tensors[f"{key}.zero_points"],
                                                            int(tensors[f"{key}.axis"][0]))
        return torch._make_per_tensor_quantized_tensor(ints, float(tensors[f"{key}.scale"][0]),
                                                       int(tensors[f"{key}.zero_point"][0]))
    return tensors.get(key)


def _flat_weight_bias(m: nn.Module) -> dict[str, Any]:
    """A packed layer's weights and biases by name: Linear's (weight, bias), an RNN's {weight_ih_l0: .., ...}."""
    wb = m._weight_bias()
    if isinstance(wb, dict):  # recurrent: {"weight": {name: q}, "bias": {name: t}}
        return {k: v for part in wb.values() for k, v in part.items()}
    return dict(zip(("weight", "bias"), wb))


def int8_state(q: nn.Module) -> dict[str, torch.Tensor]:
    """Every number of a quantized model as plain tensors (int8 values with their scales, the rest float)."""
    out: dict[str, torch.Tensor] = {}
    packed = _packed(q)
    for name, m in packed.items():
        for key, t in _flat_weight_bias(m).items():
            if t is not None:
                _put(out, f"{name}.{key}", t)
    for key, t in q.state_dict().items():
        if isinstance(t, torch.Tensor) and not any(key.startswith(p + ".") for p in packed):
            out[key] = t.detach().contiguous()  # embeddings, norms, ... (float), and nothing packed twice
    return out


def load_int8_state(q: nn.Module, tensors: dict[str, torch.Tensor]) -> nn.Module:
    """Put `int8_state`'s tensors back into a model quantized with the same recipe."""
    packed = _packed(q)
    for name, m in packed.items():
        before = _flat_weight_bias(m)
        new = {key: _take(tensors, f"{name}.{key}") for key in before}
        missing = [k for k, v in new.items() if v is None and before[k] is not None]
        if missing:
            raise KeyError(f"{name}.{missing[0]}")
        if isinstance(m._weight_bias(), dict):
            m.set_weight_bias(new)
        else:
            m.set_weight_bias(new["weight"], new["bias"])
    own = {k: v for k, v in q.state_dict().items()
           if isinstance(v, torch.Tensor) and not any(k.startswith(p + ".") for p in packed)}
    rest = {k: v for k, v in tensors.items() if not any(k.startswith(p + ".") for p in packed)}
    if set(own) != set(rest):
        raise KeyError(sorted(set(own) ^ set(rest))[0])
    for key, value in rest.items():  # floats outside the packed layers: copied in place (the packed
        path, _, attr = key.rpartition(".")  # holders cannot take a load_state_dict of a partial state)
        target = getattr(q.get_submodule(path) if path else q, attr)
        if target.shape != value.shape:
            raise KeyError(key)
        with torch.no_grad():
            target.copy_(value)
    return q


# --- static int8 for CNNs: fuse conv-bn-relu, observe activations on training images, convert -----------------
STATIC_KIND = "static_int8"
BACKEND = "x86"
_PATTERNS = ((nn.Conv2d, nn.BatchNorm2d, nn.ReLU), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv2d, nn.ReLU),
             (nn.Linear, nn.ReLU))


def has_convolutions(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def fusable_groups(model: nn.Module) -> list[list[str]]:
    """Names of the conv → batch-norm → ReLU runs (and conv-ReLU, linear-ReLU) inside nn.Sequential blocks."""
    groups = []
    for path, seq in model.named_modules():
        if not isinstance(seq, nn.Sequential):
            continue
        kids = list(seq.named_children())
        i = 0
        while i < len(kids):
            for pattern in _PATTERNS:
                run = kids[i:i + len(pattern)]
                if len(run) == len(pattern) and all(isinstance(m, t) for (_, m), t in zip(run, pattern)):
                    groups.append([f"{path}.{n}" if path else n for n, _ in run])
                    i += len(pattern) - 1
                    break
            i += 1
    return groups


def _static_skeleton(model: nn.Module, groups: list[list[str]]):
    from torch.ao import quantization as tq

    if any(hasattr(m, "shortcut") for m in model.modules()):
        raise ModelError(msg("errors.quantize.resnet", "A ResNet's shortcut adds two tensors, which eager static "
                             "quantization cannot do in 8-bit integers without rewriting the model."),
                         msg("errors.quantize.resnet.hint",
                             "Quantize a ConvNet, LeNet or MLP instead, or prune the ResNet."))
    torch.backends.quantized.engine = BACKEND
    model = model.cpu().eval()
    if groups:
        tq.fuse_modules(model, groups, inplace=True)
    wrapped = tq.QuantWrapper(model)  # quantizes the input picture, dequantizes the scores
    wrapped.qconfig = tq.get_default_qconfig(BACKEND)
    tq.prepare(wrapped, inplace=True)
    return wrapped


def quantize_static_model(model: nn.Module, calibration) -> tuple[nn.Module, dict[str, Any]]:
    """(int8 CNN, recipe): fused, observed on `calibration` (batches of normalised training images), converted."""
    from torch.ao import quantization as tq

    groups = fusable_groups(model)
    with quiet():
        wrapped = _static_skeleton(model, groups)
        with torch.no_grad():
            for x in calibration:
                wrapped(x)
        tq.convert(wrapped, inplace=True)
    return wrapped, {"kind": STATIC_KIND, "backend": BACKEND, "fused": groups, "layers": ["Conv2d", "Linear"]}


def static_state(q: nn.Module) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, v in q.state_dict().items():
        if isinstance(v, torch.Tensor):
            _put(out, key, v)
        elif isinstance(v, tuple) and v and isinstance(v[0], torch.Tensor):  # a quantized Linear's (weight, bias)
            _put(out, f"{key}.w", v[0])
            if len(v) > 1 and v[1] is not None:
                _put(out, f"{key}.b", v[1])
    return out


def load_static_state(q: nn.Module, tensors: dict[str, torch.Tensor]) -> nn.Module:
    from collections import OrderedDict

    own = q.state_dict()
    state: OrderedDict = OrderedDict()
    state._metadata = getattr(own, "_metadata", None)  # the modules' versions: quantized layers read by them
    for key, v in own.items():
        if isinstance(v, tuple):
            state[key] = (_take(tensors, f"{key}.w"), _take(tensors, f"{key}.b"))
        elif isinstance(v, torch.Tensor):
            value = _take(tensors, key)
            if value is None:
                raise KeyError(key)
            state[key] = value
        else:  # structure, not numbers (a packed layer's dtype): as the skeleton has it
            state[key] = v
    q.load_state_dict(state)
    return q


def state_of(q: nn.Module, recipe: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A quantized model's numbers as plain tensors, for either recipe."""
    return static_state(q) if recipe.get("kind") == STATIC_KIND else int8_state(q)


def rebuild(model: nn.Module, recipe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> nn.Module:
    """The quantized model a run stored: `model` (its fp32 architecture) quantized by `recipe`, then its values."""
    if recipe.get("kind") == STATIC_KIND:
        from torch.ao import quantization as tq

        with quiet():
            wrapped = _static_skeleton(model, [list(g) for g in recipe.get("fused", [])])
            tq.convert(wrapped, inplace=True)
        return load_static_state(wrapped, tensors)
    return load_int8_state(apply_recipe(model, recipe), tensors)
