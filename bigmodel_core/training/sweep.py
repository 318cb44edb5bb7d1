"""Scaling sweeps: one model family trained at several sizes (or on more data), and the power law it follows.

A sweep is a list of ordinary runs that share a label (RunConfig.sweep = {"id", "axis", "point",
"index", "value"}); they train as normal jobs, show on the Runs page like any other run and are
grouped there as one sweep. What grows:

- width: the embedding and hidden sizes (filters, channels) follow the size ladder below;
- depth: the number of layers (blocks) goes 1, 2, 3, ... at the preset's width;
- both: width and depth together;
- data: the share of the training split (10 % ... 100 %) at the preset's size.

Every point keeps the same validation and test sets (DataConfig.train_fraction subsamples the
training split only), monitors the validation loss (the scaling law is about loss), and trains on
the same budget: a number of epochs, or seconds (TrainConfig.time_budget_s).

The fit is the usual saturating power law L(x) = a * x^(-b) + c (Kaplan et al. 2020; Hoffmann et
al. 2022) with scipy's curve_fit, x being parameters, training compute or training examples.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import time
import uuid
import warnings
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ..config import RunConfig
from ..errors import ConfigError, did_you_mean, msg

AXES = ("width", "depth", "both", "data")
# name -> (width, depth when "both" grows). Width doubles per step: 3xl has 128x the width of nano
SIZES: dict[str, tuple[int, int]] = {"nano": (4, 1), "tiny": (8, 1), "small": (16, 2), "medium": (32, 2),
                                     "large": (64, 3), "xl": (128, 3), "2xl": (256, 4), "3xl": (512, 4)}
DEPTHS = {name: i + 1 for i, name in enumerate(SIZES)}  # the depth axis: nano 1 layer ... 3xl 8 layers
DATA_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
MIN_POINTS, MAX_POINTS = 3, 8
MAX_BUDGET_EPOCHS = 1000  # with a budget in seconds, only a bound that is never meant to be reached


def _width(model: str, w: int, params: dict[str, Any]) -> dict[str, Any]:
    if model in ("rnn", "lstm", "gru", "bag_of_embeddings"):
        return {"embed_dim": w, "hidden": w}
    if model == "fasttext_bigrams":
        return {"embed_dim": w}
    if model == "textcnn":
        return {"embed_dim": w, "filters": w}
    if model == "transformer":
        heads = max(1, min(4, w // 8))
        return {"dim": w, "ff": 2 * w, "heads": heads}
    if model == "mlp":
        layers = len(params.get("hidden") or (128, 64))
        return {"hidden": [w * 4] * layers}
    if model == "convnet":
        blocks = len(params.get("block_channels") or (32, 64))
        return {"block_channels": [w * 2 ** i for i in range(blocks)]}
    if model == "resnet":
        return {"width": w}
    raise KeyError(model)


def _depth(model: str, d: int, params: dict[str, Any]) -> dict[str, Any]:
    if model in ("rnn", "lstm", "gru", "transformer"):
        return {"layers": d}
    if model == "mlp":
        width = (params.get("hidden") or (128,))[0]
        return {"hidden": [width] * d}
    if model == "convnet":
        width = (params.get("block_channels") or (32,))[0]
        return {"block_channels": [width] * d, "auto_depth": False}
    if model == "resnet":
        return {"blocks_per_stage": d}
    raise KeyError(model)


def axes_for(model: str) -> list[str]:
    """The axes `model` can grow along (every model can get more data)."""
    out = []
    for axis, fn, arg in (("width", _width, 8), ("depth", _depth, 2)):
        try:
            fn(model, arg, {})
            out.append(axis)
        except KeyError:
            pass
    if len(out) == 2:
        out.append("both")
    return [*out, "data"]


def parse_points(axis: str, sizes: Iterable[Any]) -> list[Any]:
    """Size names (width/depth/both) or training-set shares (data: 0.1, 10%, ...), checked and in order."""
    points = [str(s).strip() for s in sizes if str(s).strip()]
    if not MIN_POINTS <= len(points) <= MAX_POINTS:
        raise ConfigError(msg("errors.sweep.n_points", "A sweep needs {min} to {max} points, not {n}.",
                              min=MIN_POINTS, max=MAX_POINTS, n=len(points)),
                          msg("errors.sweep.n_points.hint_sizes", "Choose, for example, tiny,small,medium,large")
                          if axis != "data" else
                          msg("errors.sweep.n_points.hint_data", "Choose, for example, 0.1,0.25,0.5,1."))
    if axis == "data":
        out = []
        for p in points:
            try:
                value = float(p[:-1]) / 100 if p.endswith("%") else float(p)
            except ValueError:
                raise ConfigError(msg("errors.sweep.not_share", "'{point}' is not a share of the training data.",
                                      point=p),
                                  msg("errors.sweep.not_share.hint",
                                      "Give shares between 0 and 1 (0.1) or percentages (10%).")) from None
            if not 0.0 < value <= 1.0:
                raise ConfigError(msg("errors.sweep.share_range",
                                      "{point} is not a share of the training data between 0 and 1.", point=p),
                                  msg("errors.sweep.share_range.hint",
                                      "Give shares like 0.1, 0.5, 1 (or 10%, 50%, 100%)."))
            out.append(value)
        if len(set(out)) != len(out):
            raise ConfigError(msg("errors.sweep.share_twice", "The sweep names the same share of data twice."),
                              msg("errors.sweep.share_twice.hint", "Give each share once."))
        return sorted(out)
    for p in points:
        if p not in SIZES:
            raise ConfigError(msg("errors.sweep.unknown_size", "'{point}' is not a model size.", point=p),
                              msg("errors.sweep.unknown_size.hint", "{suggestion} Sizes: {sizes}.",
                                  suggestion=did_you_mean(p, SIZES), sizes=", ".join(SIZES)))
    if len(set(points)) != len(points):
        raise ConfigError(msg("errors.sweep.size_twice", "The sweep names the same size twice."),
                          msg("errors.sweep.size_twice.hint", "Give each size once."))
    return sorted(points, key=list(SIZES).index)


def plan_sweep(base: RunConfig, axis: str, sizes: Iterable[Any], epochs: Optional[int] = None,
               seconds: Optional[float] = None, sweep_id: Optional[str] = None) -> list[RunConfig]:
    """One RunConfig per point of the sweep, from `base` (its model, data and training settings).

    The budget per run is `epochs` or `seconds` (then training runs until the seconds are used, or
    early stopping ends it; the learning-rate schedule is laid over the seconds).
    Each point's settings are checked here, so a bad point is refused before anything trains (its
    size against the memory limits is checked when it starts, once the data is known).
    """
    from ..models import model_entry, resolve_params

    if axis not in AXES:
        raise ConfigError(msg("errors.sweep.axis", "'{axis}' is not something a sweep can grow.", axis=axis),
                          did_you_mean(axis, AXES))
    model = base.model.name
    entry = model_entry(model)
    if axis not in axes_for(model):
        raise ConfigError(msg("errors.sweep.no_axis", "The {model} model has no {axis} to grow.", model=model,
                              axis=axis),
                          msg("errors.sweep.no_axis.hint", "It can grow: {axes}.", axes=", ".join(axes_for(model))))
    points = parse_points(axis, sizes)
    sweep_id = sweep_id or time.strftime("sweep-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    train = dataclasses.replace(base.train, monitor="val_loss", early_stopping_patience=base.train.early_stopping_patience)
    if epochs is not None:
        train = dataclasses.replace(train, epochs=epochs, time_budget_s=None)
    if seconds is not None:  # the seconds decide: epochs only as a far bound, the schedule laid over the time
        train = dataclasses.replace(train, time_budget_s=float(seconds), epochs=MAX_BUDGET_EPOCHS)
    params = {**entry.defaults, **base.model.params}
    out = []
    for i, point in enumerate(points):
        data, grown = base.data, dict(base.model.params)
        if axis == "data":
            data = dataclasses.replace(base.data, train_fraction=float(point))
            label = f"{point:.0%}"
        else:
            width, both_depth = SIZES[point]
            if axis in ("width", "both"):
                grown.update(_width(model, width, params))
            if axis in ("depth", "both"):
                grown.update(_depth(model, DEPTHS[point] if axis == "depth" else both_depth, {**params, **grown}))
            label = point
        resolve_params(model, grown)
        slug = f"data{round(point * 100)}" if axis == "data" else point
        cfg = RunConfig(data, dataclasses.replace(copy.deepcopy(base.model), params=grown), train,
                        name=f"{sweep_id}-{i + 1}-{slug}"[:100],
                        sweep={"id": sweep_id, "axis": axis, "point": label, "index": i,
                               "value": point if axis == "data" else None})
        out.append(cfg)
    return out


def sweep_points(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """A sweep's runs as plot points, in sweep order: parameters, compute, examples and losses."""
    pts = []
    for info in runs:
        label = info.config.sweep or {}
        m = info.metrics or {}
        flops = info.flops_per_example
        train_size = (info.data_info.get("split") or {}).get("train")
        pts.append({"run": info.id, "name": info.name, "point": label.get("point"), "index": label.get("index", 0),
                    "status": info.status, "parameters": info.parameters,
                    "compute": 3.0 * flops * info.examples_seen if flops and info.examples_seen else None,
                    "train_examples": train_size, "examples_seen": info.examples_seen,
                    "val_loss": m.get("val_loss"), "val_accuracy": m.get("val_accuracy"),
                    "train_loss": m.get("train_loss"), "seconds": info.seconds,
                    "chance_loss": math.log(max(2, int(info.data_info.get("num_classes") or 2)))})
    return sorted(pts, key=lambda p: p["index"])


X_AXES = {"parameters": msg("engine.sweep.x.parameters", "parameters"),
          "compute": msg("engine.sweep.x.compute", "training compute (FLOPs)"),
          "train_examples": msg("engine.sweep.x.train_examples", "training examples")}


def fit_power_law(x: Iterable[float], y: Iterable[float]) -> Optional[dict[str, Any]]:
    """Fit L = a * x^(-b) + c to the points; None with fewer than 3 usable points or no fit.

    Returns {"a", "b", "c", "b_stderr", "points"}; b_stderr is None when there are no degrees of
    freedom left to estimate it (exactly 3 points) or the fit cannot tell.
    """
    from scipy.optimize import curve_fit

    pairs = [(float(a), float(b)) for a, b in zip(x, y) if _ok(a) and _ok(b) and a > 0]
    if len(pairs) < 3 or len({a for a, _ in pairs}) < 3:
        return None
    xs, ys = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    x0 = float(np.exp(np.log(xs).mean()))  # fit in x / x0: the parameters stay near 1, the fit is stable

    def law(u, a, b, c):
        return a * np.power(u, -b) + c

    u = xs / x0
    span = float(ys.max() - ys.min()) or 1e-3
    best = None
    for b0 in (0.1, 0.3, 0.7):
        try:
            with warnings.catch_warnings():  # "covariance could not be estimated": b_stderr is None then
                warnings.simplefilter("ignore")
                popt, pcov = curve_fit(law, u, ys, p0=(span, b0, max(0.0, float(ys.min()) - span * 0.1)),
                                       bounds=([0.0, 0.0, 0.0], [np.inf, 5.0, float(ys.min())]), maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        err = float(np.sum((law(u, *popt) - ys) ** 2))
        if best is None or err < best[0]:
            best = (err, popt, pcov)
    if best is None:
        return None
    _, (a, b, c), pcov = best
    stderr = None
    if len(pairs) > 3 and np.all(np.isfinite(pcov)):
        stderr = float(math.sqrt(max(pcov[1, 1], 0.0)))
    return {"a": float(a * x0 ** b), "b": float(b), "c": float(c), "b_stderr": stderr, "points": len(pairs)}


def _ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def run_sweep(configs: list[RunConfig], train: Optional[Callable[..., Any]] = None,
              callbacks_for: Optional[Callable[[int, RunConfig], list]] = None, home: Any = None,
              on_point: Optional[Callable[[Any], None]] = None,
              on_failure: Optional[Callable[[RunConfig, Exception], None]] = None) -> list[Any]:
    """Train the sweep's runs one after the other (the CLI; the app queues them as jobs instead).

    A point that fails with a plain error (too big for this computer, the loss exploded) is
    reported to `on_failure` and the sweep goes on: the other points still make a curve.
    """
    from ..errors import BigModelError
    from .run import train_run

    train = train or train_run
    done = []
    for i, cfg in enumerate(configs):
        try:
            info = train(cfg, callbacks_for(i, cfg) if callbacks_for else [], home=home)
        except BigModelError as exc:
            if on_failure is None:
                raise
            on_failure(cfg, exc)
            continue
        done.append(info)
        if on_point:
            on_point(info)
    return done


def list_sweeps(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """The sweeps among `runs`, newest first: {"id", "model", "axis", "data", "runs": [RunInfo, ...]}."""
    groups: dict[str, dict[str, Any]] = {}
    for info in runs:
        label = info.config.sweep
        if not isinstance(label, dict) or not isinstance(label.get("id"), str):
            continue
        g = groups.setdefault(label["id"], {"id": label["id"], "model": info.model_name, "axis": label.get("axis"),
                                            "data": info.config.data.spec, "runs": []})
        g["runs"].append(info)
    return sorted(groups.values(), key=lambda g: g["id"], reverse=True)


def describe_fit(points: list[dict[str, Any]], fit: Optional[dict[str, Any]], x_key: str,
                 axis: Optional[str]) -> Optional[str]:
    """One plain sentence about a sweep's own curve (the Scaling page and the CLI say it under the fit).

    Still at the loss of guessing: the models have not learned yet (more epochs). Flat: growing did
    not help, the data is the limit. Otherwise: how far the best point is above the fitted floor c,
    which is as much as growing further could still gain.
    """
    if fit is None or not points:
        return None
    best = min(p["val_loss"] for p in points)
    room = best - fit["c"]
    grown = (msg("engine.sweep.grown.data", "more data") if x_key == "train_examples" or axis == "data"
             else msg("engine.sweep.grown.models", "bigger models of this kind"))
    chance = points[0].get("chance_loss")
    if chance and all(abs(p["val_loss"] - chance) < 0.03 * chance for p in points):
        return msg("engine.sweep.at_chance", "Every point is still at the loss of guessing: the models have not "
                   "learned yet. Give each run more epochs (or seconds), then the sizes can be compared.")
    if fit["b"] < 0.02:
        return msg("engine.sweep.flat", "The curve is flat: growing did not lower the validation loss here. With "
                   "this little data, bigger models do not help.")
    if room < 0.1 * max(best, 1e-9):
        return msg("engine.sweep.room_flattened", "Your best point is {room:.3f} above the floor c = {c:.3f}, so "
                   "{grown} could lower the validation loss by at most about {room:.3f} here: the curve has "
                   "flattened.", room=room, c=fit["c"], grown=grown)
    return msg("engine.sweep.room", "Your best point is {room:.3f} above the floor c = {c:.3f}, so {grown} could "
               "lower the validation loss by at most about {room:.3f} here.", room=room, c=fit["c"], grown=grown)


def sweep_started(sweep_id: str) -> str:
    """When a sweep started, "YYYY-mm-dd HH:MM", read from its id (plan_sweep names them by the time);
    the id itself for one named otherwise."""
    parts = sweep_id.split("-")  # sweep-YYYYmmdd-HHMMSS-xxxx
    if len(parts) >= 3 and parts[0] == "sweep" and len(parts[1]) == 8 and len(parts[2]) == 6 \
            and (parts[1] + parts[2]).isdigit():
        return f"{parts[1][:4]}-{parts[1][4:6]}-{parts[1][6:]} {parts[2][:2]}:{parts[2][2:4]}"
    return sweep_id
