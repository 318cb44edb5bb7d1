"""The CLI's `serve` command: a saved run's REST API (FastAPI + uvicorn) until Ctrl-C or SIGTERM.

    python -m bigmodel_core serve --run RUN [--host 127.0.0.1] [--port 8000] [--token T] [--json]
"""
from __future__ import annotations

import argparse
import os

from .__main__ import _print


def cmd_serve(args) -> None:
    from .serve.server import TOKEN_ENV, WATCH_ENV, serve

    token = args.token or os.environ.get(TOKEN_ENV) or None  # the Deploy page passes it in the environment
    watch = os.environ.get(WATCH_ENV, "")

    def announce(facts: dict) -> None:
        _print(args, {"event": "serving", **facts},
               f"Serving the run {facts['run']} ({facts['backend']}) at {facts['url']}"
               f"{' (bearer token required)' if token else ''}; API docs at {facts['docs']}. Press Ctrl-C to stop."
               + ("\n  Note: other computers on your network can reach it; without --token anyone there can use it."
                  if facts["open_to_network"] and not token else ""))

    try:
        serve(args.run, host=args.host, port=args.port, token=token,
              watch_parent=int(watch) if watch.isdigit() else None, announce=announce)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, after uvicorn finished the open requests
        _print(args, {"event": "stopped", "run": args.run}, "Server stopped.")


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    """Add `serve` to the CLI's subparsers; returns no nested leaves (it is a top-level command)."""
    s = sub.add_parser("serve", help="serve a saved run as a REST API (GET /health, /model; POST /predict, /explain)")
    s.add_argument("--run", required=True)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only; "
                                                        "0.0.0.0 for every network)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on /model, /predict and /explain "
                                   "(or set BIGMODEL_SERVE_TOKEN)")
    s.set_defaults(fn=cmd_serve)
    return []
