"""After an ONNX export: its input shapes, its answers next to PyTorch's, and plain words for its failures."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModelError, msg

DYNAMIC = {"text": {"ids": ("batch", "seq"), "lengths": ("batch",)}, "image": {"images": ("batch",)}}
FEEDS = {1: ("images",), 2: ("ids", "lengths")}  # the model's positional inputs, by how many there are


def graph_inputs(path: Path) -> list[dict[str, Any]]:
    """[{"name", "shape"}] of the graph's inputs; a symbolic dimension is its name, a fixed one its size."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [{"name": i.name, "shape": [d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
                                       for d in i.type.tensor_type.shape.dim]} for i in graph.input]


def check_dynamic(path: Path, task: str) -> list[dict[str, Any]]:
    """The graph's inputs, after checking that batch (and sequence) dimensions are symbolic, not fixed."""
    from .onnx_export import ExportFailed

    inputs = graph_inputs(path)
    for i in inputs:
        want = DYNAMIC[task].get(i["name"], ())
        for axis, (dim, name) in enumerate(zip(i["shape"], want)):
            if not isinstance(dim, str):
                raise ExportFailed(msg("errors.onnx.fixed_size", "The exported graph has a fixed {dimension} size "
                                       "({size}) for its input '{input}', so it would refuse other sizes.",
                                       dimension=name, size=dim, input=i["name"]),
                                   msg("errors.onnx.fixed_size.hint",
                                       "Export again; if it happens again, report it as a bug."))
    return inputs


def opset_of(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx"))


def session(path: Path, threads: int = 1):
    """An onnxruntime session on the CPU with `threads` intra-op threads and no log lines below errors."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _feed(sess, tensors: tuple) -> dict[str, np.ndarray]:
    """Inputs for `sess` by name (an input the model ignores may have been left out of the graph)."""
    names = {i.name for i in sess.get_inputs()}
    return {n: t.detach().cpu().numpy() for n, t in zip(FEEDS[len(tensors)], tensors) if n in names}


def verify(sess, model: torch.nn.Module, cases: list[dict]) -> list[dict[str, Any]]:
    """Each case with the largest absolute difference between onnxruntime's and PyTorch's logits."""
    from .onnx_export import ExportFailed

    model.eval()
    checked = []
    for case in cases:
        with torch.inference_mode():
            want = model(*case["inputs"]).float().numpy()
        try:
            got = sess.run(["logits"], _feed(sess, case["inputs"]))[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors carry no type worth keeping
            detail = (str(exc).splitlines() or [""])[0][:160]
            if "seq" in case:
                said = msg("errors.onnx.did_not_run_texts", "The exported model did not run in onnxruntime on a batch "
                           "of {batch} texts of up to {seq} tokens ({detail}).", batch=case["batch"], seq=case["seq"],
                           detail=detail)
            else:
                said = msg("errors.onnx.did_not_run_pictures", "The exported model did not run in onnxruntime on a "
                           "batch of {batch} pictures ({detail}).", batch=case["batch"], detail=detail)
            hint = msg("errors.onnx.did_not_run.hint",
                       "Report it as a bug; the PyTorch model still works for predictions.")
            raise ExportFailed(said, hint) from None
        diff = float(np.abs(got.astype(np.float64) - want).max()) if got.shape == want.shape else float("inf")
        checked.append({k: case[k] for k in ("batch", "seq", "lengths") if k in case} | {"max_abs_diff": diff})
    return checked


class OnnxModel:
    """An ONNX session that a Predictor calls like its PyTorch model: tensors in, logits (a tensor) out."""

    backend = "onnxruntime"

    def __init__(self, sess, record: dict[str, Any]) -> None:
        self.session, self.record = sess, record

    def eval(self) -> "OnnxModel":
        return self

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(["logits"], _feed(self.session, tensors))[0])


_OP = re.compile(r"OpOverload\(op='([\w.:]+)'")
_SCRIPT_CLASS = re.compile(r"torch\.classes\.(\w+)\.(\w+)")


def unsupported(exc: BaseException, model_name: str) -> ModelError:
    """A plain ModelError for an export failure, naming the operator (or construct) ONNX cannot express."""
    text = "\n".join(str(e) for e in _chain(exc))
    op = _OP.search(text)
    packed = _SCRIPT_CLASS.search(text)
    if op:
        what = msg("engine.onnx.uses_operator", "the operator {op}, which has no ONNX equivalent in this exporter",
                   op=op.group(1))
    elif packed:
        what = msg("engine.onnx.uses_packed", "{kind} packed weights ({kind}.{cls}), which the ONNX exporter "
                   "cannot read", kind=packed.group(1), cls=packed.group(2))
    elif "DataDependent" in text or "data-dependent" in text:
        line = re.search(r'File "[^"]*?([\w]+\.py)", line (\d+)', text)
        if line:
            what = msg("engine.onnx.uses_decisions_at", "Python decisions on the values of its inputs (at {file} line "
                       "{line}), which a fixed ONNX graph cannot make", file=line.group(1), line=line.group(2))
        else:
            what = msg("engine.onnx.uses_decisions", "Python decisions on the values of its inputs, which a fixed "
                       "ONNX graph cannot make")
    else:
        summary = re.search(r"## Exception summary\s+(.+)", text)
        first = (summary.group(1) if summary else text.splitlines()[0] if text else type(exc).__name__)
        what = msg("engine.onnx.uses_other", "something the ONNX exporter cannot translate ({detail})",
                   detail=first.strip()[:160])
    return ModelError(msg("errors.onnx.unsupported", "The {model} model cannot be exported to ONNX: it uses {what}.",
                          model=model_name, what=what),
                      msg("errors.onnx.unsupported.hint", "Serve it with PyTorch instead (the server does this when "
                          "there is no export), or export the run it was derived from."))


def _chain(exc: BaseException):
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
