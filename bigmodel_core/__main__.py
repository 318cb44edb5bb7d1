"""The CLI: python -m bigmodel_core datasets | models | train | eval | predict | explain | embed."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .errors import BigModelError, ConfigError
from .signals import Terminated, sigterm_as_interrupt


def _print(args, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload) if args.json else text, flush=True)


def _settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"'{pair}' is not a key=value setting.", "Write settings like --set hidden=128.")
        out[key.strip()] = value.strip()
    return out


def cmd_datasets(args) -> None:
    from .data.dataset import list_datasets

    for d in list_datasets():
        _print(args, d, f"{d['spec']:32} {d['title']}")


def cmd_models(args) -> None:
    from .models import default_model, list_models, model_entry

    for name in list_models(args.task):
        e = model_entry(name)
        chosen = default_model(e.task) == name
        _print(args, {"name": name, "task": e.task, "family": e.family, "description": e.description,
                      "defaults": e.defaults, "default": chosen},
               f"{name:20} {e.task:6} {'(default) ' if chosen else ''}{e.description}")


def cmd_train(args) -> int:
    from .cli_distributed import train_in_world

    return train_in_world(args, _train)  # --processes N: torchrun starts N processes of this command


def _train(args, w, stop):
    """Train one run in this process (under torchrun: this rank's part; rank 0 prints); its RunInfo."""
    from .training.callbacks import Printer
    from .training.run import train_run

    printer = [Printer(json_lines=args.json)] if w.lead else []
    if args.resume:
        if args.data or args.model or args.set or args.name:
            raise ConfigError("A resumed run keeps its own data, model and settings.",
                              "Give only --resume RUN (and optionally --epochs N or --processes N).")
        info = train_run(None, printer, resume=args.resume, epochs=args.epochs, stop_event=stop)
    else:
        info = train_run(_new_run_config(args), printer, stop_event=stop)
    if w.lead:  # the other ranks' record is not the run's
        _print_fit_end(args, info)
    return info


def _new_run_config(args):
    """The RunConfig of `train --data ... --model ... --set ...` (the model's preset under what the user set)."""
    from .config import DataConfig, ModelConfig, RunConfig, TrainConfig, from_dict
    from .models import model_preset

    if not args.data:
        raise ConfigError("Say which data to train on.", "Add --data SPEC, for example --data builtin:synthetic_reviews.")
    settings = _settings(args.set)
    data_keys = {f for f in DataConfig.__dataclass_fields__} - {"spec"}
    train_keys = set(TrainConfig.__dataclass_fields__)
    data = {k: _typed(DataConfig, k, settings.pop(k)) for k in list(settings) if k in data_keys}
    train = {k: _typed(TrainConfig, k, settings.pop(k)) for k in list(settings) if k in train_keys}
    train.update({k: v for k, v in (("epochs", args.epochs), ("device", args.device), ("seed", args.seed),
                                    ("processes", args.processes)) if v is not None})
    if args.dry_run:
        train["dry_run"] = True
    vectors = settings.pop("embeddings", None)
    freeze = _typed(ModelConfig, "freeze_embeddings", settings.pop("freeze_embeddings", "false"))
    model_name = args.model or _default_model_for(args.data)
    preset = model_preset(model_name)  # a pretrained model fine-tunes gently; what the user set wins
    chosen = {**preset["data"], **preset["train"]}
    if chosen:
        _print(args, {"event": "preset", "model": model_name, **preset},
               f"The {model_name} preset: " + ", ".join(f"{k}={v}" for k, v in chosen.items()
                                                     if k not in data and k not in train)
               + " (change any with --set KEY=VALUE)")
    data, train = {**preset["data"], **data}, {**preset["train"], **train}
    data_cfg = from_dict(DataConfig, {"spec": args.data, **data})
    model = ModelConfig(model_name, settings, embeddings=vectors or None, freeze_embeddings=freeze)
    return RunConfig(data_cfg, model, from_dict(TrainConfig, train), name=args.name)


def _print_fit_end(args, info) -> None:
    m = info.metrics
    emb = info.embeddings
    if emb:
        cov = emb["coverage"]
        _print(args, {"event": "embeddings", **emb},
               f"Word vectors {emb['vectors']} ({emb['dim']} dimensions, {'frozen' if emb['frozen'] else 'fine-tuned'}): "
               f"{cov['found']:,} of {cov['total']:,} words ({cov['fraction']:.1%}) got a vector")
    _print(args, {"event": "fit_end", "run": info.id, "path": info.path, "stopped": info.stopped, "status": info.status,
                  "metrics": m},
           f"Saved run {info.id}: val accuracy {_num(m['val_accuracy'])}, test accuracy {_num(m['test_accuracy'])}")


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"  # a split of size 0 has no figure


def _default_model_for(spec: str) -> str:
    """The model the app picks for this kind of data (`models --json` marks it "default": true)."""
    from .data.images.dataset import is_image_spec
    from .models import default_model

    return default_model("image" if is_image_spec(spec) else "text")


def _typed(cls, key: str, value: str) -> Any:
    """A CLI string to the checked type of the dataclass field (settings.parse_field: one routine for all)."""
    from .settings import parse_field

    return parse_field(cls, key, value)


def cmd_eval(args) -> None:
    from .evaluate import evaluate_run

    res = evaluate_run(args.run, args.data)
    m = res["metrics"]
    _print(args, {"event": "eval", "run": res["run"], "metrics": m},
           f"Run {res['run']} on {args.data}: accuracy {m['accuracy']:.3f}, macro F1 {m['macro_f1']:.3f} ({m['rows']} rows)")


def _image_input(predictor, path: str):
    """An image file made into the model's input the way the app does (centred, scaled, inverted if needed)."""
    from .data.images.drawing import prepare_upload
    from .errors import InputError

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        raise InputError(f"The image file '{path}' cannot be read.", "Check the path.") from None
    try:
        return prepare_upload(data, predictor.preprocess.size, predictor.preprocess.channels)
    except InputError as exc:  # name the file: with several --image the user must know which one
        raise InputError(f"The image file '{path}' cannot be used: {exc.message}", exc.hint) from None


def _need_inputs(args, predictor) -> None:
    from .tasks import check_inputs

    check_inputs(predictor, args.text, args.image)


def cmd_predict(args) -> None:
    from .serve.bundle import load_bundle

    predictor = load_bundle(args.run, device=args.device)
    _need_inputs(args, predictor)
    for path in args.image or []:
        out = predictor.predict(_image_input(predictor, path))
        top = ", ".join(f"{c} {p:.3f}" for c, p in out["top"])
        _print(args, {"event": "predict", "image": path, "prediction": out["prediction"],
                      "probabilities": out["probabilities"]}, f"{out['prediction']}  (top: {top})")
    for text in args.text or []:
        out = predictor.predict(text)
        unknown = [t["token"] for t in out["tokens"] if not t["known"]]
        probs = ", ".join(f"{k} {v:.3f}" for k, v in out["probabilities"].items())
        _print(args, {"event": "predict", "text": text, "prediction": out["prediction"],
                      "probabilities": out["probabilities"], "unknown_words": unknown, "warning": out["warning"]},
               f"{out['prediction']}  ({probs})" + (f"  unknown words: {', '.join(unknown)}" if unknown else "")
               + (f"\n  Note: {out['warning']}" if out["warning"] else ""))


TEXT_METHODS = ("lime", "ig", "attention")
IMAGE_METHODS = ("lime", "saliency", "ig", "gradxinput")


def cmd_explain(args) -> None:
    from .serve.bundle import load_bundle

    predictor = load_bundle(args.run, device=args.device)
    _need_inputs(args, predictor)
    for path in args.image or []:
        _explain_image(args, predictor, path)
    for text in args.text or []:
        _explain_text(args, predictor, text)


def _explain_text(args, predictor, text: str) -> None:
    from .errors import InputError
    from .explain.lime_text import explain_text
    from .explain.text_attributions import attention_text, integrated_gradients_text

    method = args.method or "lime"
    if method not in TEXT_METHODS:
        raise InputError(f"'{method}' is not a method for text models.", "Choose one of: " + ", ".join(TEXT_METHODS) + ".")
    if method == "attention":
        att = attention_text(predictor, text)
        top = sorted(zip(att.tokens, att.rollout), key=lambda p: -p[1])[:8]
        _print(args, {"event": "explain", "text": text, "method": method, "layers": att.layers, "heads": att.heads,
                      **att.to_dict()},
               f"attention rollout ({att.layers} layers x {att.heads} heads): " + ", ".join(f"{t} {w:.3f}" for t, w in top))
        return
    if method == "ig":
        exp = integrated_gradients_text(predictor, text, label=args.label)
    else:
        exp = explain_text(predictor, text, num_samples=args.samples, seed=args.seed, label=args.label)
    d = exp.to_dict()
    top = ", ".join(f"{t} {w:+.3f}" for t, w in exp.top(k=8))
    _print(args, {"event": "explain", "text": text, "method": method, "prediction": _argmax_name(exp),
                  "explained": d["label"], "probabilities": d["probabilities"], "weights": d["weights"], "score": d["score"]},
           f"{d['label']} ({method}): {top}")


def _explain_image(args, predictor, path: str) -> None:
    import numpy as np

    from .explain.gradients import attribute_image
    from .explain.lime_image import explain_image

    from .errors import InputError

    method = args.method or "lime"
    if method not in IMAGE_METHODS:
        raise InputError(f"'{method}' is not a method for image models.", "Choose one of: " + ", ".join(IMAGE_METHODS) + ".")
    image = _image_input(predictor, path)
    if method == "lime":
        exp = explain_image(predictor, image, num_samples=args.samples, seed=args.seed, label=args.label)
    else:
        exp = attribute_image(predictor, image, method, label=args.label)
    heat = np.round(exp.heatmap, 4).tolist()
    peak = np.unravel_index(int(np.argmax(np.abs(exp.heatmap))), exp.heatmap.shape)
    _print(args, {"event": "explain", "image": path, "method": method, "prediction": _argmax_name(exp),
                  "explained": exp.class_names[exp.label], "probabilities": dict(zip(exp.class_names, exp.probabilities)),
                  "heatmap": heat},
           f"{exp.class_names[exp.label]} ({method}): strongest pixel at row {peak[0]}, column {peak[1]}")


def _argmax_name(exp) -> str:
    return exp.class_names[max(range(len(exp.probabilities)), key=exp.probabilities.__getitem__)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bigmodel_core", description="BigModel Lab engine")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("datasets", help="list datasets and their SPECs")
    s.set_defaults(fn=cmd_datasets)
    s = sub.add_parser("models", help="list models")
    s.add_argument("--task", choices=["text", "image"])
    s.set_defaults(fn=cmd_models)
    s = sub.add_parser("train", help="train a model and save the run")
    s.add_argument("--data", help="builtin:NAME, download:NAME, csv:PATH[#text=COL,label=COL]")
    s.add_argument("--model", help="a model name (see `models`); default: the one the app picks for this data")
    s.add_argument("--resume", metavar="RUN", help="continue an interrupted or stopped run from its last checkpoint")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="model, data or training setting")
    s.add_argument("--epochs", type=int)
    s.add_argument("--device")
    s.add_argument("--seed", type=int)
    s.add_argument("--name", help="run id (default: time and model)")
    s.add_argument("--dry-run", action="store_true", help="one epoch of two batches (smoke test)")
    s.add_argument("--processes", type=int, metavar="N",
                   help="train in N processes on this machine (data-parallel, started with torchrun); "
                        "--set batch_size stays the global batch")
    s.set_defaults(fn=cmd_train)
    s = sub.add_parser("eval", help="evaluate a saved run on a dataset")
    s.add_argument("--run", required=True)
    s.add_argument("--data", required=True)
    s.set_defaults(fn=cmd_eval)
    for name, fn in (("predict", cmd_predict), ("explain", cmd_explain)):
        s = sub.add_parser(name, help=f"{name} texts with a saved run")
        s.add_argument("--run", required=True)
        s.add_argument("--text", action="append", help="a sentence (text runs); repeat for several")
        s.add_argument("--image", action="append", help="a picture file (image runs); repeat for several")
        s.add_argument("--device", default="cpu")
        if name == "explain":
            s.add_argument("--samples", type=int, default=1000)
            s.add_argument("--seed", type=int, default=0)
            s.add_argument("--label", help="class to explain (default: the predicted one)")
            s.add_argument("--method", choices=sorted(set(TEXT_METHODS + IMAGE_METHODS)),
                           help="text: lime (default), ig or attention (Transformer runs); "
                                "images: lime (default), saliency, ig or gradxinput")
        s.set_defaults(fn=fn)
    from .cli_embed import add_parsers as embed_parsers
    from .cli_export import add_parsers as export_parsers
    from .cli_optimize import add_parsers as optimize_parsers
    from .cli_pretrained import add_parsers as pretrained_parsers
    from .cli_runs import add_parsers
    from .cli_serve import add_parsers as serve_parsers

    embed = embed_parsers(sub)
    optimize_parsers(sub)  # a top-level command: it gets --json below
    serve_parsers(sub)  # a top-level command too
    export_parsers(sub)  # a top-level command too
    nested = embed + add_parsers(sub) + pretrained_parsers(sub)
    for s in [p for name, p in sub.choices.items() if name not in ("embed", "runs", "sweep", "pretrained")] + nested:
        s.add_argument("--json", action="store_true", help="print one JSON object per line")
    return p


def _kept(stop: BaseException) -> str:
    """After Ctrl-C or SIGTERM in `train`: the sentence naming the run kept as interrupted, if any."""
    run = getattr(stop, "kept_run", None)
    return (f" beyond the epochs the run {run} finished: it is kept as an interrupted run "
            f"(continue it with: train --resume {run})") if run else ""


def main(argv: list[str] | None = None) -> int:
    """The CLI; under torchrun (one process per rank) through torch's @record (cli_distributed)."""
    from .cli_distributed import under_torchrun

    return under_torchrun(_main, argv)


def _main(argv: list[str] | None, w) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what `train --processes N` hands to torchrun
    code, failure = 0, None
    try:
        with sigterm_as_interrupt():
            code = args.fn(args) or 0
    except BigModelError as exc:
        print(f"Error: {exc.message}\nHint: {exc.hint}" if exc.hint else f"Error: {exc.message}", file=sys.stderr)
        code, failure = exc.exit_code, exc
    except Terminated as stop:
        print(f"Stopped by {stop.signal_name}: nothing half-done was kept{_kept(stop)}.", file=sys.stderr)
        code = 128 + stop.signal_number
    except KeyboardInterrupt as stop:
        print(f"Interrupted: nothing half-done was kept{_kept(stop)}.", file=sys.stderr)
        code = 130
    except MemoryError as exc:
        print("Error: The computer ran out of memory, so the command stopped.\n"
              "Hint: Try a smaller model, batch size or dataset (--set max_rows=...).", file=sys.stderr)
        code, failure = 1, exc
    except Exception as exc:  # noqa: BLE001 - a bug: one plain line, the traceback only on request
        code, failure = 1, exc
        if os.environ.get("BIGMODEL_DEBUG"):
            raise
        print(f"Error: Something unexpected went wrong ({type(exc).__name__}: {str(exc)[:200]}).\n"
              "Hint: This is a bug in BigModel Lab; run again with BIGMODEL_DEBUG=1 to see the details "
              "and report them.", file=sys.stderr)
    finally:
        if w.launched:
            from .cli_distributed import rank_exit

            rank_exit(w, code, failure)
    return code


if __name__ == "__main__":
    sys.exit(main())
