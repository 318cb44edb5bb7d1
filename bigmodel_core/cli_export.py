"""The CLI's `export --run R --format onnx [--json]`: the run's model as ONNX, checked in onnxruntime."""
from __future__ import annotations

import argparse
import sys

from .__main__ import _print


def cmd_export(args) -> None:
    from .serve.onnx_export import TOLERANCE, check_format, export_onnx

    check_format(args.format)

    def progress(fraction: float, text: str) -> None:
        if args.json:
            _print(args, {"event": "export_step", "run": args.run, "progress": round(fraction, 3), "text": text}, "")
        elif fraction < 1:  # the last step is the summary line below
            print(f"  {text} ...", file=sys.stderr, flush=True)

    r = export_onnx(args.run, progress=progress)
    checks = ", ".join(f"{c['batch']}x{c['seq']}" if "seq" in c else f"{c['batch']}" for c in r["checked"])
    verdict = (f"verified in onnxruntime: largest difference from PyTorch {r['max_abs_diff']:.1e} "
               f"(batch x tokens checked: {checks})" if r["verified"] else
               f"NOT verified: onnxruntime differs from PyTorch by up to {r['max_abs_diff']:.1e} (more than "
               f"{TOLERANCE:g}), so the server keeps using PyTorch for this run")
    _print(args, {"event": "export_end", "run": r["run"], "path": r["path"], "max_abs_diff": r["max_abs_diff"],
                  "verified": r["verified"], "bytes": r["bytes"]},
           f"Exported {r['run']} to {r['path']} ({r['bytes'] / 2**20:.2f} MB, opset {r['opset']}); {verdict}.")


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    """Add the top-level `export` command; returns its parser (build_parser's loop gives it --json)."""
    s = sub.add_parser("export", help="export a saved run's model to ONNX and check it against PyTorch")
    s.add_argument("--run", required=True)
    s.add_argument("--format", default="onnx", help="onnx (the only format offered)")
    s.set_defaults(fn=cmd_export)
    return [s]
