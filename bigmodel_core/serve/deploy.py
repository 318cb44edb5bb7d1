"""What the Deploy page asks of the engine besides starting servers: the ONNX export's state, a timed
test request to a running server, and ready-to-copy curl and Python examples filled with its URL.

Requests use the standard library (urllib), so the app needs no HTTP client of its own.
"""
from __future__ import annotations

import base64
import io
import json
import shlex
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import BigModelError, msg

SAMPLE_TEXT = "a gripping, well acted film"


def export_state(run: str, home: str | Path | None = None) -> dict[str, Any]:
    """{"available": ONNX export is installed, "exported": a model.onnx with its export.json, "verified",
    "max_abs_diff", ...} of run `run`."""
    try:
        from .onnx_export import read_export
    except ImportError:
        return {"available": False, "exported": False, "verified": False, "max_abs_diff": None}
    record = read_export(run, home) or {}
    return {"available": True, "exported": bool(record), "verified": record.get("verified") is True,
            "max_abs_diff": record.get("max_abs_diff"), "tolerance": record.get("tolerance"),
            "bytes": record.get("bytes")}


def export_to_onnx(run: str, home: str | Path | None = None, progress=None) -> dict[str, Any]:
    """Export `run` to ONNX and verify it (serve.onnx_export); a plain error where that is not installed."""
    try:
        from .onnx_export import export_onnx
    except ImportError:
        raise BigModelError(msg("errors.deploy.no_onnx", "ONNX export is not installed here."),
                            msg("errors.deploy.no_onnx.hint", "Install onnx, onnxscript and onnxruntime "
                                "(requirements.txt); the server uses PyTorch meanwhile.")) from None
    return export_onnx(run, home, progress=progress)


def send_request(url: str, path: str, payload: Optional[dict] = None, token: Optional[str] = None,
                 timeout: float = 60.0) -> dict[str, Any]:
    """POST `payload` (or GET when None) to url+path: {"status", "body" (parsed JSON), "ms" (round trip)}."""
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url.rstrip("/") + path, data=data, headers=headers,
                                     method="GET" if data is None else "POST")
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:  # a 4xx answer is an answer: show it
        status, raw = exc.code, exc.read()
    except (OSError, ValueError):
        raise BigModelError(msg("errors.deploy.no_answer", "The server at {url} does not answer.", url=url),
                            msg("errors.deploy.no_answer.hint",
                                "It may have stopped: look at its status and log, and start it again.")) from None
    ms = (time.perf_counter() - t0) * 1000
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    return {"status": status, "body": body, "ms": round(ms, 1)}


def png_base64(image: np.ndarray) -> str:
    """A uint8 (H, W[, C]) image as base64 PNG text, what POST /predict takes in "images"."""
    from PIL import Image

    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def client_examples(url: str, task: str, token: Optional[str] = None, text: str = SAMPLE_TEXT) -> dict[str, str]:
    """{"curl": a shell command, "python": a script} that call POST /predict on `url` (standard library only)."""
    curl_headers = ["-H 'Content-Type: application/json'"] + (
        [f"-H {shlex.quote('Authorization: Bearer ' + token)}"] if token else [])
    py_headers = ['"Content-Type": "application/json"'] + (
        [f'"Authorization": {_py("Bearer " + token)}'] if token else [])
    if task == "image":
        data = "-d \"{\\\"images\\\": [\\\"$(base64 -w0 digit.png)\\\"]}\""
        body = '{"images": [base64.b64encode(open("digit.png", "rb").read()).decode()]}'
        imports = ["import base64", "import json", "import urllib.request"]
    else:
        data = f"-d {shlex.quote(json.dumps({'texts': [text]}))}"
        body = "{" + f'"texts": [{_py(text)}]' + "}"
        imports = ["import json", "import urllib.request"]
    curl = " \\\n  ".join([f"curl -s -X POST {url}/predict", *curl_headers, data])
    headers = "".join(f"\n        {h}," for h in py_headers)
    python = "\n".join([*imports, "", "request = urllib.request.Request(", f'    "{url}/predict",',
                        f"    data=json.dumps({body}).encode(),", f"    headers={{{headers}\n    }},", ")",
                        "with urllib.request.urlopen(request) as response:", "    answer = json.load(response)",
                        'print(answer["predictions"][0]["label"], answer["predictions"][0]["probabilities"])', ""])
    return {"curl": curl, "python": python}


def _py(text: str) -> str:
    """`text` as a Python string literal in double quotes."""
    return json.dumps(text, ensure_ascii=False)
