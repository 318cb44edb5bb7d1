"""Export a saved run's model to ONNX (runs/<id>/model.onnx), checked against PyTorch in onnxruntime.

`export_onnx` runs the export in a child Python process: a second export of an LSTM or GRU in one
process silently fixed the sequence length of its graph (torch 2.13), so every export gets a fresh
process, and the graph's input shapes are checked to be symbolic anyway. The child writes
model.onnx and export.json under the run's lock, only after the export passed its checks; a failed
export leaves neither behind. `onnx_predictor` serves a verified export with the run's own
pipeline and the same predictor class that `load_bundle` gives, so it answers exactly as the
PyTorch predictor does (to 1e-4 in the logits).

The graph's inputs are the PyTorch model's: for text `ids` (batch, seq) int64, padded with 0 after
each text, and `lengths` (batch,) int64, each from 1 to seq; batch and seq are free. Recurrent
models are exported in their unpacked form (serve._onnx_graph), which gives packing's answer for
padded batches, so any mix of lengths is served as PyTorch serves it. For pictures `images`
(batch, channels, size, size) float32, normalised as the run's preprocess.json says; batch is free.
The output is `logits` (batch, classes).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import BigModelError, ConfigError, RunError, error_texts, error_to_dict, msg, msg_from_json, msg_to_json
from ..runs.store import read_run, resolve_run, run_lock, write_atomic
from ..tasks import task_named

ONNX_FILE, EXPORT_FILE = "model.onnx", "export.json"
TOLERANCE = 1e-4  # largest absolute difference in the logits for an export to count as verified
FORMATS = ("onnx",)
Progress = Callable[[float, str], None]  # (fraction done 0..1, what is happening) — st.progress's arguments


class ExportFailed(BigModelError):
    """The export stopped for a reason that is not the user's input (a crash of the exporting process)."""

    exit_code = 1


def check_format(fmt: str) -> str:
    """`fmt` if runs can be exported to it; else a plain ConfigError naming the formats they can."""
    if fmt not in FORMATS:
        hint = msg("errors.export.format.hint", "Export to one of: {formats}.", formats=", ".join(FORMATS))
        if fmt == "torchscript":
            raise ConfigError(msg("errors.export.torchscript", "Runs cannot be exported to '{fmt}' (TorchScript is "
                                  "deprecated in torch 2.13, so it is not offered).", fmt=fmt), hint)
        raise ConfigError(msg("errors.export.format", "Runs cannot be exported to '{fmt}'.", fmt=fmt), hint)
    return fmt


def export_onnx(run: str | Path, home: str | Path | None = None, progress: Optional[Progress] = None) -> dict[str, Any]:
    """Export run `run` to runs/<id>/model.onnx, verify it in onnxruntime, write runs/<id>/export.json.

    Returns export.json's content plus "path" (the model.onnx written) and "run". Raises a
    RunError for a run that is missing, unfinished or incomplete, a ModelError naming the
    operator or construct when ONNX cannot express the model, ExportFailed when the exporting
    process crashed. An export whose difference from PyTorch exceeds TOLERANCE is kept with
    "verified": false (and is not used for serving).
    """
    folder = resolve_run(run, home)
    _check_bundle(folder)
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        hint = msg("errors.export.missing.hint",
                   "Install them with `pip install -r requirements.txt`; meanwhile PyTorch serves the run.")
        if len(missing) > 1:
            raise ExportFailed(msg("errors.export.missing_packages", "ONNX export needs the {names} packages, which "
                                   "this Python does not have.", names=", ".join(missing)), hint)
        raise ExportFailed(msg("errors.export.missing_package", "ONNX export needs the {name} package, which this "
                               "Python does not have.", name=missing[0]), hint)
    say = progress or (lambda fraction, text: None)
    say(0.0, msg("engine.export.starting", "Starting the exporting process"))
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds bigmodel_core
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
           "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1", "PYTHONWARNINGS": "ignore"}
    code = "import sys; from bigmodel_core.serve.onnx_export import child_main; sys.exit(child_main(sys.argv[1]))"
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, stderr=err,
                                 stdin=subprocess.DEVNULL, env=env, text=True)
        try:
            result = _follow(child, say)
        finally:
            if child.poll() is None:  # the caller stopped us (Ctrl-C, a closed page): stop the child too
                child.kill()
            child.wait()
            (folder / _tmp_name(child.pid)).unlink(missing_ok=True)
        if result is None:
            err.seek(0)
            last = [line for line in err.read().decode("utf-8", "replace").splitlines() if line.strip()][-1:]
            hint = msg("errors.export.crashed.hint",
                       "Try again; if it fails again, run with BIGMODEL_DEBUG=1 and report it as a bug.")
            if last:
                raise ExportFailed(msg("errors.export.crashed_said", "The exporting process stopped unexpectedly "
                                       "(exit code {code}: {said}).", code=child.returncode, said=last[0][:200]), hint)
            raise ExportFailed(msg("errors.export.crashed", "The exporting process stopped unexpectedly (exit code "
                                   "{code}).", code=child.returncode), hint)
    if "error" in result:
        raise _rebuild_error(result["error"])
    say(1.0, msg("engine.export.done", "Exported and checked"))
    return result["result"]


def _follow(child: subprocess.Popen, say: Progress) -> Optional[dict[str, Any]]:
    """Relay the child's progress lines; its last line: {"result": ...} or {"error": ...} (None if it died)."""
    final = None
    for line in child.stdout:
        try:
            said = json.loads(line)
        except ValueError:
            continue
        if "progress" in said:  # the step's sentence comes back as a Msg, so the page shows it in its language
            say(float(said["progress"]), msg_from_json(said.get("text_msg"), str(said.get("text", ""))))
        elif "result" in said or "error" in said:
            final = said
    child.wait()
    return final


def _rebuild_error(err: dict[str, Any]) -> BigModelError:
    from .. import errors

    kind = getattr(errors, str(err.get("type")), None)
    cls = kind if isinstance(kind, type) and issubclass(kind, BigModelError) else ExportFailed
    exc = cls(*error_texts(err))  # with their message keys, when the child kept them
    exc.exit_code = int(err.get("exit_code", exc.exit_code))
    return exc


def _check_bundle(folder: Path) -> None:
    """A RunError unless the run is finished and has its weights and its pipeline file."""
    info = read_run(folder)
    if not info.usable:
        from ..optimize.derive import STATUS

        raise RunError(msg("errors.export.unusable", "The run '{name}' is {status}, so it has no final model to "
                           "export.", name=folder.name, status=STATUS.get(info.status, info.status)),
                       msg("errors.export.unusable.hint",
                           "Export a finished or stopped run (resume this one first if it was interrupted)."))
    needed = ["weights.safetensors", task_named(info.task).pipeline_file]
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        hint = msg("errors.export.files.hint", "Its files are incomplete; delete it and train it again.")
        if len(missing) == 1:
            raise RunError(msg("errors.export.file_missing", "The run '{name}' cannot be exported: its {file} is "
                               "missing.", name=folder.name, file=missing[0]), hint)
        raise RunError(msg("errors.export.files_missing", "The run '{name}' cannot be exported: its {first} and "
                           "{second} are missing.", name=folder.name, first=" and ".join(missing[:-1]),
                           second=missing[-1]), hint)


def _tmp_name(pid: int) -> str:
    return f".{ONNX_FILE}.tmp-{pid}"


# --- the exporting process ------------------------------------------------------------------------
def child_main(folder: str) -> int:
    """Entry of the exporting process: one JSON line per step on stdout, the last one the result or error."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the exporter prints its steps: they go to the captured stderr, never to the user
    sys.stdout = sys.stderr
    _quiet()

    def emit(**line: Any) -> None:
        out.write(json.dumps(line) + "\n")

    try:
        result = export_here(Path(folder), lambda f, text: emit(progress=f, text=str(text), text_msg=msg_to_json(text)))
    except BigModelError as exc:
        emit(error=error_to_dict(exc, exit_code=exc.exit_code))  # keeps the message keys across the process
        return exc.exit_code
    except MemoryError:
        emit(error=error_to_dict(ExportFailed(
            msg("errors.export.memory", "The computer ran out of memory while exporting."),
            msg("errors.export.memory.hint", "Close other programs and try again.")), exit_code=1))
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: one plain line in the parent
        if os.environ.get("BIGMODEL_DEBUG"):
            raise
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        emit(error=error_to_dict(ExportFailed(
            msg("errors.export.bug", "The export went wrong unexpectedly ({kind}: {detail}).",
                kind=type(exc).__name__, detail=first),
            msg("errors.export.bug.hint",
                "This is a bug in BigModel Lab; run again with BIGMODEL_DEBUG=1 and report it.")),
            exit_code=1))
        return 1
    emit(result=result)
    return 0


def _quiet() -> None:
    """No warnings or exporter log lines from torch, onnxscript or transformers in this process."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def export_here(folder: Path, progress: Progress) -> dict[str, Any]:
    """Export and verify in this process (the child's work; call it directly only in a fresh process)."""
    import torch

    from ..training.devices import choose_threads
    from .bundle import load_bundle
    from ._onnx_checks import check_dynamic, opset_of, session, unsupported, verify
    from ._onnx_graph import example_and_cases

    t0 = time.perf_counter()
    torch.set_num_threads(choose_threads())
    stamp = _weights_stamp(folder)  # before loading: weights rewritten meanwhile make the record out of date
    predictor = load_bundle(folder)
    progress(0.1, msg("engine.export.tracing", "Tracing the model"))
    module, example, dynamic, names, cases = example_and_cases(predictor)
    tmp = folder / _tmp_name(os.getpid())
    try:
        try:
            torch.onnx.export(module, example, str(tmp), dynamo=True, external_data=False, input_names=names,
                              output_names=["logits"], dynamic_shapes=dynamic, optimize=True, verbose=False)
        except Exception as exc:  # noqa: BLE001 - the exporter's errors become one plain ModelError
            raise unsupported(exc, predictor.info.model_name) from None
        inputs = check_dynamic(tmp, predictor.task)
        progress(0.7, msg("engine.export.checking", "Checking the export in onnxruntime against PyTorch"))
        checked = verify(session(tmp), predictor.model, cases)
        worst = max(c["max_abs_diff"] for c in checked)
        record = {"format": "onnx", "file": ONNX_FILE, "verified": bool(worst <= TOLERANCE), "max_abs_diff": worst,
                  "tolerance": TOLERANCE, "checked": checked, "inputs": inputs, "opset": opset_of(tmp),
                  "torch": torch.__version__, "onnxruntime": _ort_version(),
                  "seconds": round(time.perf_counter() - t0, 3), "bytes": tmp.stat().st_size,
                  "weights": stamp}
        with run_lock(folder):
            (folder / EXPORT_FILE).unlink(missing_ok=True)  # never a record that speaks for another file
            os.replace(tmp, folder / ONNX_FILE)
            write_atomic(folder / EXPORT_FILE, json.dumps(record, indent=2))
    finally:
        tmp.unlink(missing_ok=True)
    return {**record, "run": folder.name, "path": str(folder / ONNX_FILE)}


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


# --- serving ----------------------------------------------------------------------------------------
def read_export(run: str | Path, home: str | Path | None = None) -> Optional[dict[str, Any]]:
    """The run's export.json when it describes the model.onnx beside it and the run's current weights, else None."""
    folder = resolve_run(run, home)
    try:
        record = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
        size = (folder / ONNX_FILE).stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("file") != ONNX_FILE or record.get("bytes") != size:
        return None
    if record.get("weights") != _weights_stamp(folder):  # trained further since (a resumed run): out of date
        return None
    return record


def _weights_stamp(folder: Path) -> Optional[dict[str, int]]:
    """Size and modification time of the weights an export was made from (None when they are gone)."""
    try:
        st = (folder / "weights.safetensors").stat()
    except OSError:
        return None
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def onnx_predictor(run: str | Path, home: str | Path | None = None, threads: int = 1):
    """The run's predictor on onnxruntime, or None when the run has no verified, current ONNX export
    (or onnxruntime is not installed).

    The same class `load_bundle` returns (Predictor for text, ImagePredictor for images) with
    the run's own pipeline, so `predict`, `predict_proba`, `tokens`, `class_names`, `run_id` and
    `info` behave the same; only the model behind it is the ONNX graph (`predictor.model.backend`
    is "onnxruntime"). Gradient-based explanations need the PyTorch model: use load_bundle for them.
    `threads`: onnxruntime's intra-op threads (1: the machine is shared with the app and training).
    """
    folder = resolve_run(run, home)
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    with run_lock(folder):
        record = read_export(folder)
        if not record or record.get("verified") is not True:
            return None
        from ._onnx_checks import OnnxModel, session

        try:
            sess = session(folder / ONNX_FILE, threads)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors for a bad file
            raise RunError(msg("errors.export.not_loaded", "The ONNX export of the run '{name}' could not be loaded "
                               "({kind}).", name=folder.name, kind=type(exc).__name__),
                           msg("errors.export.not_loaded.hint",
                               "Export the run again; until then PyTorch can serve it.")) from None
    import torch

    info = read_run(folder)
    task = task_named(info.task)
    try:
        pipeline = task.load_pipeline(folder)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise RunError(msg("errors.bundle.not_loaded", "The run '{name}' could not be loaded: {kind}.",
                           name=folder.name, kind=type(exc).__name__),
                       msg("errors.bundle.not_loaded.hint", "Its files may be incomplete; delete it and train it "
                           "again.")) from None
    return task.predictor(OnnxModel(sess, record), pipeline, info, torch.device("cpu"))

