"""The CLI's `optimize` command: prune, quantize or distil a run into a new run, measured like its parent.

    optimize --run R --prune 0.5 [--scope global|layer] [--finetune-epochs 1]
    optimize --run R --quantize int8
    optimize --run R --distil --student lstm [--set KEY=VALUE] [--epochs 8] [--temperature 4] [--alpha 0.7]

Each ends with {"event": "optimize_end", "run": NEW, "parent": R, "metrics": {"accuracy", "macro_f1"},
"size_bytes", "zipped_bytes", "parameters", "nonzero_parameters", "latency_ms": {...}}.
"""
from __future__ import annotations

import argparse

from .__main__ import _print, _settings
from .errors import ConfigError


def cmd_optimize(args) -> None:
    from .optimize.derive import plan
    from .optimize.measure import measure_run
    from .runs.store import read_run, resolve_run
    from .training.callbacks import Printer
    from .training.run import train_run

    chosen = [k for k, on in (("prune", args.prune is not None), ("quantize", args.quantize is not None),
                              ("distil", args.distil)) if on]
    if len(chosen) != 1:
        raise ConfigError("Say what to do to the run: one of --prune SHARE, --quantize int8 or --distil.",
                          "For example: optimize --run my-lstm --prune 0.5")
    kind = chosen[0]
    if kind == "quantize" and args.quantize != "int8":
        raise ConfigError(f"'{args.quantize}' is not a quantization this version makes.", "Use --quantize int8.")
    if args.set and kind != "distil":
        raise ConfigError("--set gives the student's settings, so it goes with --distil only.",
                          "Leave --set out, or add --distil --student NAME.")
    parent = read_run(resolve_run(args.run))
    settings = {"prune": {"sparsity": args.prune, "scope": args.scope, "finetune_epochs": args.finetune_epochs},
                "quantize": {},
                "distil": {"student": args.student, "student_params": _settings(args.set), "epochs": args.epochs,
                           "temperature": args.temperature, "alpha": args.alpha}}[kind]
    cfg = plan(kind, parent.id, name=args.name, **settings)  # every setting checked before anything is written
    before = parent.measure or measure_run(parent.id)  # the parent is measured the same way, once
    info = train_run(cfg, [Printer(json_lines=args.json)])
    measure_run(info.id)
    info = read_run(resolve_run(info.id))
    m = info.measure
    payload = {"event": "optimize_end", "run": info.id, "parent": parent.id, "kind": kind,
               "metrics": {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]},
               "size_bytes": m["size_bytes"], "zipped_bytes": m["zipped_bytes"], "parameters": m["parameters"],
               "nonzero_parameters": m["nonzero_parameters"], "latency_ms": m["latency_ms"],
               "parent_measure": before}
    acc = "-" if m["accuracy"] is None else f"{m['accuracy']:.3f}"
    was = "-" if before["accuracy"] is None else f"{before['accuracy']:.3f}"
    _print(args, payload,
           f"Saved run {info.id} ({kind} of {parent.id}): test accuracy {acc} (was {was}), "
           f"{m['nonzero_parameters']:,} of {m['parameters']:,} parameters not zero, file {m['size_bytes'] / 2**20:.2f} MB "
           f"(zipped {m['zipped_bytes'] / 2**20:.2f} MB; was {before['size_bytes'] / 2**20:.2f} / "
           f"{before['zipped_bytes'] / 2**20:.2f} MB), {m['latency_ms']['p50_b1']:.2f} ms per sentence "
           f"(was {before['latency_ms']['p50_b1']:.2f})")


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    s = sub.add_parser("optimize", help="prune, quantize or distil a run into a new, smaller run")
    s.add_argument("--run", required=True)
    s.add_argument("--prune", type=float, metavar="SHARE", help="share of the weights set to zero, e.g. 0.5")
    s.add_argument("--scope", default="global", help="prune: global (all layers ranked together) or layer")
    s.add_argument("--finetune-epochs", type=int, default=0, help="prune: epochs of fine-tuning afterwards")
    s.add_argument("--quantize", metavar="int8", help="int8: Linear/LSTM/GRU layers in 8-bit integers")
    s.add_argument("--distil", action="store_true", help="train a small student on this run's soft answers")
    s.add_argument("--student", default="lstm", help="distil: the student model (see `models`)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="distil: a setting of the student model")
    s.add_argument("--epochs", type=int, help="distil: the student's epochs (default 8)")
    s.add_argument("--temperature", type=float, default=4.0, help="distil: softens the teacher's answers (1-10)")
    s.add_argument("--alpha", type=float, default=0.7, help="distil: share of the teacher's answers in the loss")
    s.add_argument("--name", help="the new run's id (default: time and model)")
    s.set_defaults(fn=cmd_optimize)
    return [s]
