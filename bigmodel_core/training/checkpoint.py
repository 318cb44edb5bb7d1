"""Checkpoints for exact resume: everything the Trainer needs to continue as if it had never stopped.

One safetensors file holds the tensors (model, optimizer moments, best weights so far, torch's RNG
states) and, in its metadata, a JSON record of the rest: where in the data the run is (epoch,
batch, global step: the order of an epoch is a pure function of the seed and the epoch number),
the scheduler's and optimizer's settings, numpy's and Python's RNG states, the callbacks' state
(best so far, early-stopping patience) and the running sums of a half-done epoch. It is written
whole or not at all (temp file + rename) and read without unpickling.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import RunError, msg

META_KEY = "bigmodel_checkpoint"
FORMAT = 1
RETRAIN_HINT = msg("errors.checkpoint.retrain.hint",
                   "Train the run again from the start; its curves so far are still on the Runs page.")


def capture(trainer: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta) of the trainer's whole state at its current batch boundary."""
    tensors: dict[str, torch.Tensor] = {}
    for key, value in trainer.model.state_dict().items():
        tensors[f"model.{key}"] = value
    opt = trainer.optimizer.state_dict()
    opt_state: dict[str, dict[str, Any]] = {}
    for idx, state in opt["state"].items():
        entry = opt_state.setdefault(str(idx), {})
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value
                entry[key] = {"tensor": f"optim.{idx}.{key}"}
            else:
                entry[key] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and trainer.device.type == "cuda":
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    if trainer.device.type == "mps":
        tensors["rng.mps"] = torch.mps.get_rng_state()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    callbacks = {}
    for cb in trainer.callbacks:
        key = getattr(cb, "checkpoint_key", None)
        if key and hasattr(cb, "state_dict"):
            js, ts = cb.state_dict()
            callbacks[key] = js
            tensors.update({f"cb.{key}.{k}": v for k, v in ts.items()})
    meta = {
        "format": FORMAT, "position": dict(trainer.position), "partial": dict(trainer.partial),
        "optimizer": {"param_groups": opt["param_groups"], "state": opt_state},
        "scheduler": _plain(trainer.scheduler.state_dict()),
        "rng": {"numpy": [kind, int(pos), int(has_gauss), float(cached)], "python": _plain(random.getstate())},
        "callbacks": callbacks, "first_loss": trainer.first_loss, "examples_seen": trainer.examples_seen,
        "elapsed": trainer.elapsed(), "total_steps": trainer.total_steps,
    }
    return tensors, meta


def _plain(value: Any) -> Any:
    """JSON-able copy (tuples become lists; callables, which LambdaLR keeps as None, are dropped)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def save(path: Path, trainer: Any) -> None:
    """Write the trainer's state to `path` atomically."""
    from safetensors.torch import save

    from ..runs.store import write_atomic

    tensors, meta = capture(trainer)
    data = save({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()},
                metadata={META_KEY: json.dumps(meta)})
    write_atomic(path, data)


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta) of a checkpoint file; RunError when it is missing or damaged."""
    from safetensors import safe_open

    if not path.is_file():
        raise RunError(msg("errors.checkpoint.missing", "The run '{run}' has no checkpoint to continue from.",
                           run=path.parent.name),
                       msg("errors.checkpoint.missing.hint",
                           "It stopped before its first epoch ended: train it again from the start."))
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[META_KEY])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception:  # noqa: BLE001 - any damage reads as one plain error
        raise RunError(msg("errors.checkpoint.damaged", "The checkpoint of the run '{run}' is damaged.",
                           run=path.parent.name), RETRAIN_HINT) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RunError(msg("errors.checkpoint.unknown_kind", "The checkpoint of the run '{run}' is of an unknown kind.",
                           run=path.parent.name),
                       msg("errors.checkpoint.unknown_kind.hint",
                           "Update BigModel Lab, or train the run again from the start."))
    if not _well_formed(meta, tensors):
        raise RunError(msg("errors.checkpoint.damaged", "The checkpoint of the run '{run}' is damaged.",
                           run=path.parent.name), RETRAIN_HINT)
    return tensors, meta


def _well_formed(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> bool:
    """Every part `restore` reads is there, of the right kind (a checkpoint from elsewhere is not trusted)."""
    pos, opt, rng = meta.get("position"), meta.get("optimizer"), meta.get("rng")
    return (isinstance(pos, dict) and all(isinstance(pos.get(k), int) and pos[k] >= 0 for k in ("epoch", "batch", "step"))
            and pos["epoch"] >= 1 and isinstance(meta.get("partial"), dict)
            and isinstance(opt, dict) and isinstance(opt.get("param_groups"), list) and isinstance(opt.get("state"), dict)
            and isinstance(meta.get("scheduler"), dict) and isinstance(meta.get("callbacks"), dict)
            and isinstance(rng, dict) and isinstance(rng.get("numpy"), list) and len(rng["numpy"]) == 4
            and isinstance(rng.get("python"), list) and len(rng["python"]) == 3
            and "rng.torch" in tensors and "rng.numpy" in tensors and any(k.startswith("model.") for k in tensors))


def restore(trainer: Any, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """`_restore`, with any mismatch between the checkpoint and this model as one plain RunError."""
    try:
        _restore(trainer, tensors, meta)
    except RunError:
        raise
    except Exception:  # noqa: BLE001 - shapes, keys, types: the checkpoint is not this run's
        raise RunError(msg("errors.checkpoint.misfit", "The run's checkpoint does not fit its model (it may come "
                           "from another run or be damaged)."), RETRAIN_HINT) from None


def _restore(trainer: Any, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Put a captured state back into `trainer` (its model, optimizer and scheduler already built)."""
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    trainer.model.load_state_dict(model_state)
    opt_meta = meta["optimizer"]
    state = {}
    for idx, entry in opt_meta["state"].items():
        state[int(idx)] = {k: (tensors[v["tensor"]].to(trainer.device) if isinstance(v, dict) and "tensor" in v else v)
                           for k, v in entry.items()}
    trainer.optimizer.load_state_dict({"state": state, "param_groups": opt_meta["param_groups"]})
    sched = dict(meta["scheduler"])
    sched.pop("lr_lambdas", None)
    trainer.scheduler.load_state_dict({**trainer.scheduler.state_dict(), **sched})
    for cb in trainer.callbacks:
        key = getattr(cb, "checkpoint_key", None)
        if key and key in meta["callbacks"] and hasattr(cb, "load_state_dict"):
            prefix = f"cb.{key}."
            cb.load_state_dict(meta["callbacks"][key], {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    trainer.first_loss = meta.get("first_loss")
    trainer.examples_seen = int(meta.get("examples_seen") or 0)
    trainer.elapsed_before = float(meta.get("elapsed") or 0.0)
    # the random number generators last, so nothing above draws from them
    torch.set_rng_state(tensors["rng.torch"])
    if trainer.device.type == "cuda":
        cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    if trainer.device.type == "mps" and "rng.mps" in tensors:
        torch.mps.set_rng_state(tensors["rng.mps"])
    kind, pos, has_gauss, cached = meta["rng"]["numpy"]
    np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = meta["rng"]["python"]
    random.setstate((version, tuple(internal), gauss))
