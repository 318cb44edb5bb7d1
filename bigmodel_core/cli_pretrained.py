"""The CLI's pretrained-model commands: `pretrained list | check PATH | download ID`.

Nothing is downloaded unless `pretrained download` is run: training names the weights (a folder
or a Hub id already downloaded) with `--set weights=...`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from .__main__ import _print


def cmd_list(args) -> None:
    from .models.hub import SUGGESTED, WEIGHTS
    from .models.pretrained import hub_cache_folder

    for s in SUGGESTED:
        here = (hub_cache_folder(s["id"]) / WEIGHTS).is_file()
        _print(args, {**s, "downloaded": here},
               f"{s['id']:42} {s['parameters'] / 1e6:6.1f} M parameters  {s['download_mb']:>4} MB  "
               f"{'downloaded' if here else 'not downloaded'}  {s['title']}")


def cmd_check(args) -> None:
    from .models.hub import check_pretrained_folder

    info = check_pretrained_folder(args.path)
    _print(args, {"event": "checked", **{k: str(v) if k == "path" else v for k, v in info.items()}},
           f"{args.path}: a {info['model_type']} model, {info['layers']} layers, hidden size {info['hidden_size']}, "
           f"{info['weights_bytes'] / 2**20:.0f} MB of safetensors weights: usable with --set weights={args.path}")


def cmd_download(args) -> None:
    from .models.hub import download_pretrained, hub_files

    files = hub_files(args.model_id, args.hub_url)  # the size is known (and shown) before the first byte
    total = sum(f["size"] or 0 for f in files)
    _print(args, {"event": "download_start", "model": args.model_id, "bytes": total, "files": [f["name"] for f in files]},
           f"Downloading {args.model_id}: {len(files)} files, {total / 2**20:.0f} MB")
    last = [-1]

    def progress(done: int, whole: Optional[int]) -> None:
        pct = int(100 * done / whole) if whole else -1
        if pct != last[0] and not args.json and pct % 5 == 0:
            last[0] = pct
            print(f"\r  {pct:3d} %  {done / 2**20:.0f} of {(whole or 0) / 2**20:.0f} MB", end="", file=sys.stderr)

    info = download_pretrained(args.model_id, base_url=args.hub_url, progress=progress)
    if not args.json:
        print(file=sys.stderr)
    _print(args, {"event": "downloaded", "model": args.model_id, "path": str(info["path"])},
           f"Saved {args.model_id} in {info['path']}: train with --model pretrained_transformer "
           f"--set weights={args.model_id}")


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    """Add the `pretrained` command group to the CLI's subparsers; returns its leaf parsers."""
    p = sub.add_parser("pretrained", help="pretrained Transformers: list, check a folder, download from the Hub")
    psub = p.add_subparsers(dest="pretrained_command", required=True)
    leaves = []
    s = psub.add_parser("list", help="the suggested models, their sizes, and whether they are downloaded")
    s.set_defaults(fn=cmd_list)
    leaves.append(s)
    s = psub.add_parser("check", help="check a local Hugging Face folder (config.json, model.safetensors, tokenizer)")
    s.add_argument("path")
    s.set_defaults(fn=cmd_check)
    leaves.append(s)
    s = psub.add_parser("download", help="download a model from the Hugging Face Hub into the workspace cache")
    s.add_argument("model_id", help="for example sentence-transformers/all-MiniLM-L6-v2")
    s.add_argument("--hub-url", default=None, help="another Hub mirror (default https://huggingface.co)")
    s.set_defaults(fn=cmd_download)
    leaves.append(s)
    return leaves
