"""The CLI's run-store commands: `runs list|show|delete|export|import|reindex|tag|rename` and `sweep`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .errors import ConfigError


def _print(args, payload: dict[str, Any], text: str) -> None:
    from .__main__ import _print as cli_print  # one printer for every command

    cli_print(args, payload, text)


def _fmt(x: Any, pattern: str = "{:.3f}") -> str:
    return "-" if x is None else pattern.format(x)


def run_summary(info) -> dict[str, Any]:
    """One run as `runs list --json` prints it."""
    return {"id": info.id, "name": info.name, "status": info.status, "task": info.task, "model": info.model_name,
            "data": info.config.data.spec, "parameters": info.parameters, "created": info.created,
            "seconds": info.seconds, "epochs_done": info.epochs_done, "tags": info.tags, "parent": info.parent,
            "sweep": (info.config.sweep or {}).get("id"), "metrics": info.metrics, "path": info.path}


def cmd_runs_list(args) -> None:
    from .runs.store import scan_runs

    runs, damaged = scan_runs()
    for info in runs:
        if args.status and info.status != args.status:
            continue
        m = info.metrics
        _print(args, run_summary(info),
               f"{info.id:36} {info.status:11} {info.model_name:18} {_fmt(info.parameters, '{:>10,}')} params  "
               f"val acc {_fmt(m.get('val_accuracy'))}  val loss {_fmt(m.get('val_loss'))}"
               + (f"  [{', '.join(info.tags)}]" if info.tags else ""))
    for bad in damaged:
        _print(args, {"event": "damaged", **bad}, f"{bad['id']:36} damaged: {bad['message']}")


def cmd_runs_show(args) -> None:
    from .runs.store import read_run, run_epochs

    info = read_run(args.run)
    epochs = run_epochs(info.id)
    if args.json:
        print(json.dumps({**info.to_dict(), "path": info.path, "epochs": epochs}), flush=True)
        return
    s = run_summary(info)
    for key in ("id", "name", "status", "model", "data", "parameters", "created", "seconds", "epochs_done", "tags",
                "parent", "sweep"):
        print(f"{key:12} {s[key]}")
    for e in epochs:
        print(f"  epoch {e['epoch']}: " + " ".join(f"{k} {v:.4f}" for k, v in e.items()
                                                   if isinstance(v, float) and k not in ("wall",)))


def cmd_runs_delete(args) -> None:
    from .runs.store import delete_run

    for run in args.run:
        delete_run(run)
        _print(args, {"event": "deleted", "run": run}, f"Deleted run {run}")


def cmd_runs_export(args) -> None:
    from .runs.archive import export_tensorboard, export_zip

    if args.format == "tensorboard":
        out = export_tensorboard(args.run, out=Path(args.out) if args.out else None)
        _print(args, {"event": "exported", "run": args.run, "format": "tensorboard", "path": str(out)},
               f"Wrote TensorBoard event files to {out}  (view them: tensorboard --logdir {out})")
        return
    out = Path(args.out or f"{args.run}.zip")
    if out.exists() and not args.force:
        raise ConfigError(f"The file {out} already exists.", "Give another --out path, or add --force to replace it.")
    tmp = out.with_name(f".{out.name}.part")
    try:
        with open(tmp, "wb") as fh:
            export_zip(args.run, out=fh)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    _print(args, {"event": "exported", "run": args.run, "format": "zip", "path": str(out), "bytes": out.stat().st_size},
           f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def cmd_runs_import(args) -> None:
    from .errors import DataError
    from .runs.archive import import_zip

    path = Path(args.file)
    if not path.is_file():
        raise DataError(f"There is no file {path}.", "Give the path of a run's .zip file.")
    with open(path, "rb") as fh:
        info = import_zip(fh)
    _print(args, {"event": "imported", "run": info.id, "status": info.status, "path": info.path},
           f"Imported run {info.id} ({info.status})")


def cmd_runs_reindex(args) -> None:
    from .runs.store import reindex

    counts = reindex()
    _print(args, {"event": "reindexed", **counts},
           f"Indexed {counts['runs']} runs and {counts['vector_sets']} vector sets"
           + (f"; {counts['damaged']} damaged (see `runs list`)" if counts["damaged"] else ""))


def cmd_runs_tag(args) -> None:
    from .runs.store import read_run, update_run

    info = read_run(args.run)
    tags = [t for t in info.tags if t not in (args.remove or [])] + list(args.add or [])
    info = update_run(args.run, tags=tags)
    _print(args, {"event": "tagged", "run": info.id, "tags": info.tags}, f"{info.id}: tags {', '.join(info.tags) or '-'}")


def cmd_runs_rename(args) -> None:
    from .runs.store import update_run

    info = update_run(args.run, label=args.name)
    _print(args, {"event": "renamed", "run": info.id, "name": info.name}, f"{info.id} is now called '{info.name}'")


def cmd_sweep(args) -> None:
    from .config import DataConfig, ModelConfig, RunConfig, TrainConfig, from_dict
    from .training.callbacks import Printer
    from .training.sweep import X_AXES, describe_fit, fit_power_law, plan_sweep, run_sweep, sweep_points

    if args.epochs is not None and args.seconds is not None:
        raise ConfigError("Give the budget per run as --epochs or --seconds, not both.", "Drop one of them.")
    from .__main__ import _settings, _typed

    settings = _settings(args.set)
    data_keys = set(DataConfig.__dataclass_fields__) - {"spec"}
    train_keys = set(TrainConfig.__dataclass_fields__)
    data = {k: _typed(DataConfig, k, settings.pop(k)) for k in list(settings) if k in data_keys}
    train = {k: _typed(TrainConfig, k, settings.pop(k)) for k in list(settings) if k in train_keys}
    if args.seed is not None:
        train["seed"] = args.seed
    base = RunConfig(from_dict(DataConfig, {"spec": args.data, **data}), ModelConfig(args.model, settings),
                     from_dict(TrainConfig, train))
    configs = plan_sweep(base, args.axis, args.sizes.split(","), epochs=args.epochs, seconds=args.seconds)
    sweep_id = configs[0].sweep["id"]
    _print(args, {"event": "sweep_start", "sweep": sweep_id, "axis": args.axis,
                  "points": [c.sweep["point"] for c in configs]},
           f"Sweep {sweep_id}: {args.model}, growing {args.axis} over {', '.join(c.sweep['point'] for c in configs)}")

    def point_done(info) -> None:
        m = info.metrics
        _print(args, {"event": "point_end", "sweep": sweep_id, "point": info.config.sweep["point"], "run": info.id,
                      "parameters": info.parameters, "val_loss": m.get("val_loss"), "val_accuracy": m.get("val_accuracy")},
               f"  {info.config.sweep['point']:>6}: {info.parameters:,} parameters, val loss {_fmt(m.get('val_loss'))}, "
               f"val accuracy {_fmt(m.get('val_accuracy'))} ({info.id})")

    def point_failed(cfg, exc) -> None:
        _print(args, {"event": "point_failed", "sweep": sweep_id, "point": cfg.sweep["point"], "message": exc.message,
                      "hint": exc.hint}, f"  {cfg.sweep['point']:>6}: failed: {exc.message} {exc.hint}")

    quiet = args.json  # per-batch lines of every run would drown the sweep's own lines
    runs = run_sweep(configs, callbacks_for=(lambda i, c: [] if quiet else [Printer(every_s=5.0)]), on_point=point_done,
                     on_failure=point_failed)
    points = sweep_points(runs)
    x_key = "train_examples" if args.axis == "data" else "parameters"
    fit = fit_power_law([p[x_key] for p in points], [p["val_loss"] for p in points])
    reading = describe_fit(points, fit, x_key, args.axis)
    _print(args, {"event": "sweep_end", "sweep": sweep_id, "x": x_key, "runs": [p["run"] for p in points],
                  "points": points, "fit": fit, "reading": reading},
           f"Fitted L = a·N^(-b) + c against {X_AXES[x_key]}: "
           + (f"b = {fit['b']:.3f}" + (f" ± {fit['b_stderr']:.3f}" if fit["b_stderr"] is not None else "")
              + f", c = {fit['c']:.4f}" if fit else "no fit (too few points trained)")
           + (f"\n{reading}" if reading else ""))


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    """The `runs ...` and `sweep` parsers; returns the leaf parsers (for --json)."""
    leaves = []
    r = sub.add_parser("runs", help="the run store: list, show, delete, export, import, reindex, tag, rename")
    rsub = r.add_subparsers(dest="runs_command", required=True)
    s = rsub.add_parser("list", help="every run, newest first")
    s.add_argument("--status", choices=["running", "finished", "stopped", "failed", "interrupted"])
    s.set_defaults(fn=cmd_runs_list)
    leaves.append(s)
    s = rsub.add_parser("show", help="one run's record and per-epoch metrics")
    s.add_argument("run")
    s.set_defaults(fn=cmd_runs_show)
    leaves.append(s)
    s = rsub.add_parser("delete", help="delete runs")
    s.add_argument("run", nargs="+")
    s.set_defaults(fn=cmd_runs_delete)
    leaves.append(s)
    s = rsub.add_parser("export", help="a run as a .zip (to share or import), or its curves for TensorBoard")
    s.add_argument("run")
    s.add_argument("--format", choices=["zip", "tensorboard"], default="zip")
    s.add_argument("--out", help="zip: the file (default RUN.zip); tensorboard: the folder (default in the workspace)")
    s.add_argument("--force", action="store_true", help="replace an existing --out file")
    s.set_defaults(fn=cmd_runs_export)
    leaves.append(s)
    s = rsub.add_parser("import", help="add a run from a .zip made by export (checked first)")
    s.add_argument("file")
    s.set_defaults(fn=cmd_runs_import)
    leaves.append(s)
    s = rsub.add_parser("reindex", help="rebuild the run list from the run folders")
    s.set_defaults(fn=cmd_runs_reindex)
    leaves.append(s)
    s = rsub.add_parser("tag", help="add or remove tags")
    s.add_argument("run")
    s.add_argument("--add", action="append", metavar="TAG")
    s.add_argument("--remove", action="append", metavar="TAG")
    s.set_defaults(fn=cmd_runs_tag)
    leaves.append(s)
    s = rsub.add_parser("rename", help="give a run a name to show (its id stays)")
    s.add_argument("run")
    s.add_argument("name")
    s.set_defaults(fn=cmd_runs_rename)
    leaves.append(s)
    s = sub.add_parser("sweep", help="train one model at several sizes and fit a scaling law")
    s.add_argument("--model", required=True)
    s.add_argument("--axis", required=True, choices=["width", "depth", "both", "data"])
    s.add_argument("--sizes", required=True,
                   help="width/depth/both: nano,tiny,small,medium,large,xl,2xl,3xl; data: shares like 0.1,0.3,1")
    s.add_argument("--data", required=True)
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="model, data or training setting for every point")
    s.add_argument("--epochs", type=int, help="epochs per run")
    s.add_argument("--seconds", type=float, help="training seconds per run (instead of a number of epochs)")
    s.add_argument("--seed", type=int)
    s.set_defaults(fn=cmd_sweep)
    leaves.append(s)
    return leaves
