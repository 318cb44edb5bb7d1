"""A run as one .zip file: export it to share or back up, import one that someone sent.

An import is checked before anything lands in the workspace: only the bundle's known file names,
one folder level at most, no links, no path that leaves the bundle, bounded sizes (a zip bomb
stops at the limit, whatever its headers claim), a run.json that reads as a run, weights that
safetensors can open, and, for a finished run, a model that loads. Nothing in it is executed or
unpickled. It is unpacked into a hidden temporary folder and renamed into place whole.
"""
from __future__ import annotations

import io
import json
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Optional, Union

from ..errors import Msg, RunError, msg
from .info import RunInfo
from .store import CHECKPOINT, RUN_FILES, read_epoch_rows, read_run, resolve_run, runs_dir
from .workspace import AtomicFolder, check_name

KNOWN_FILES = (*RUN_FILES, CHECKPOINT)
MAX_IMPORT_BYTES = 4 * 2**30  # unpacked, all files together
CHUNK = 1 << 20


def export_zip(run: str, home: Path | str | None = None, out: Optional[Union[Path, BinaryIO]] = None) -> bytes | Path:
    """The run's bundle as a zip (files under `<id>/`); written to `out` (a path or file), else returned as bytes."""
    folder = resolve_run(run, home)
    buffer = io.BytesIO() if out is None else out
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in KNOWN_FILES:
            path = folder / name
            if path.is_file() and not path.is_symlink():
                zf.write(path, f"{folder.name}/{name}")
    return buffer.getvalue() if out is None else out


def _bad(why: str) -> RunError:
    """`why`: a Msg, the reason as a clause ("it holds a link (x)")."""
    return RunError(msg("errors.archive.not_a_run", "This file is not a BigModel Lab run: {why}.", why=why),
                    msg("errors.archive.not_a_run.hint",
                        "Import a .zip made by “Download run” on the Runs page (or `runs export`)."))


def _members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """{file name: entry} of a bundle zip, after checking every entry's name and kind."""
    files: dict[str, zipfile.ZipInfo] = {}
    prefix: Optional[str] = None
    for entry in zf.infolist():
        name = entry.filename
        mode = entry.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _bad(msg("errors.archive.why.link", "it holds a link ({name})", name=name))
        if "\\" in name or name.startswith("/") or ":" in name or any(p in ("..", ".") for p in name.split("/")):
            raise _bad(msg("errors.archive.why.outside", "it holds a path outside the run ({name})", name=name[:80]))
        parts = [p for p in name.split("/") if p]
        if entry.is_dir():
            if len(parts) > 1:
                raise _bad(msg("errors.archive.why.folder", "it holds a folder inside the run folder ({name})",
                               name=name[:80]))
            continue
        if len(parts) > 2:
            raise _bad(msg("errors.archive.why.sub_folder", "it holds a file in a sub-folder ({name})", name=name[:80]))
        folder = parts[0] if len(parts) == 2 else ""
        if prefix is None:
            prefix = folder
        elif folder != prefix:
            raise _bad(msg("errors.archive.why.two_runs", "it holds more than one run folder"))
        base = parts[-1]
        if base not in KNOWN_FILES:
            raise _bad(msg("errors.archive.why.unknown_file", "it holds a file a run does not have ({name})",
                           name=base[:60]))
        if base in files:
            raise _bad(msg("errors.archive.why.twice", "it holds {name} twice", name=base))
        files[base] = entry
    return files


def import_zip(source: Union[str, Path, bytes, BinaryIO], home: Path | str | None = None) -> RunInfo:
    """Check and unpack a run's zip into the workspace; returns its record (a taken id gets -2, -3, ...)."""
    data = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        zf = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _bad(msg("errors.archive.why.not_zip", "it is not a readable .zip file")) from None
    try:
        return _import(zf, home)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise _bad(msg("errors.archive.why.damaged", "it is damaged ({error})", error=type(exc).__name__)) from None
    except RuntimeError as exc:
        if "password" in str(exc).lower() or "encrypted" in str(exc).lower():
            raise _bad(msg("errors.archive.why.password", "it is protected by a password")) from None
        raise
    finally:
        zf.close()


def _import(zf: zipfile.ZipFile, home: Path | str | None) -> RunInfo:
    from . import index

    files = _members(zf)
    missing = [n for n in ("run.json", "weights.safetensors") if n not in files]
    if missing:
        raise _bad(msg("errors.archive.why.missing_both", "it has no {a} and no {b}", a=missing[0], b=missing[1])
                   if len(missing) == 2 else msg("errors.archive.why.missing", "it has no {name}", name=missing[0]))
    if "vocab.json" not in files and "preprocess.json" not in files:
        raise _bad(msg("errors.archive.why.no_inputs",
                       "it has no vocab.json or preprocess.json (how its inputs are read)"))
    record = _read_limited(zf, files["run.json"], 64 * 2**20)
    try:
        raw = json.loads(record.decode("utf-8"))
        info = RunInfo.from_dict(raw)
    except Exception:  # noqa: BLE001 - any fault in the record is one plain message
        raise _bad(msg("errors.archive.why.bad_record", "its run.json does not describe a run")) from None
    new_id = _free_id(check_name(info.id, "run name"), home)
    writer = AtomicFolder(runs_dir(home), new_id, "run")
    try:
        total = 0
        for name, entry in files.items():
            with zf.open(entry) as src, open(writer.path(name), "wb") as dst:
                while chunk := src.read(CHUNK):
                    total += len(chunk)
                    if total > MAX_IMPORT_BYTES:
                        raise _bad(msg("errors.archive.why.too_big", "it unpacks to more than {gb} GB",
                                       gb=MAX_IMPORT_BYTES // 2**30))
                    dst.write(chunk)
        _check_weights(writer.path("weights.safetensors"))
        if CHECKPOINT in files:
            from ..training.checkpoint import load

            load(writer.path(CHECKPOINT))
        info.id, info.owner = new_id, None
        if info.status in ("running", "queued"):
            info.status = "interrupted"
        writer.path("run.json").write_text(json.dumps(info.to_dict(), indent=2), encoding="utf-8")
        if info.status in ("finished", "stopped"):
            _check_loads(writer.tmp)
        path = writer.commit()
    except BaseException:
        writer.discard()
        raise
    info = read_run(path)
    index.put_run(info, home, read_epoch_rows(path))
    return info


def _read_limited(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes:
    with zf.open(entry) as fh:
        out = fh.read(limit + 1)
    if len(out) > limit:
        raise _bad(msg("errors.archive.why.file_too_big", "its {name} is far too big", name=entry.filename))
    return out


def _free_id(wanted: str, home: Path | str | None) -> str:
    folder = runs_dir(home)
    if not (folder / wanted).exists():
        return wanted
    for i in range(2, 1000):
        candidate = f"{wanted[:95]}-{i}"
        if not (folder / candidate).exists():
            return candidate
    raise RunError(msg("errors.archive.too_many", "There are already too many runs called '{name}'.", name=wanted),
                   msg("errors.archive.too_many.hint", "Delete some of them, then import again."))


def _check_weights(path: Path) -> None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            list(f.keys())
    except Exception:  # noqa: BLE001
        raise _bad(msg("errors.archive.why.bad_weights",
                       "its weights.safetensors is not a readable safetensors file")) from None


def _check_loads(folder: Path) -> None:
    """The bundle rebuilds into a working model (the same loader Predict uses)."""
    from ..errors import BigModelError
    from ..serve.bundle import load_bundle

    try:
        load_bundle(folder)
    except BigModelError as exc:
        raise _bad(msg("errors.archive.why.no_load", "its model does not load ({reason})",
                       reason=_clause(exc.message))) from None
    except Exception as exc:  # noqa: BLE001 - weights that do not fit the model, and the like
        raise _bad(msg("errors.archive.why.no_load", "its model does not load ({reason})",
                       reason=type(exc).__name__)) from None


def _clause(message: str) -> str:
    """An error's message without its final full stop, still translatable when it is a Msg."""
    plain = str(message).rstrip(".")
    if isinstance(message, Msg):
        clause = Msg(message.key, message.template.rstrip("."), **message.params)
        if clause == plain:
            return clause
    return plain


def export_tensorboard(run: str, home: Path | str | None = None, out: Optional[Path] = None) -> Path:
    """Write the run's curves as TensorBoard event files (tensorboardX); returns their folder.

    Per batch: loss and learning rate against the step; per epoch: every metric, against the
    step too, so both line up in TensorBoard. `out` defaults to BIGMODEL_HOME/tensorboard/<id>.
    """
    from .store import home_dir, read_history

    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise RunError(msg("errors.archive.no_tensorboardx",
                           "TensorBoard export needs the tensorboardX package, which is not installed."),
                       msg("errors.archive.no_tensorboardx.hint",
                           "Install it with `pip install tensorboardX`, then export again.")) from None
    folder = resolve_run(run, home)
    out = Path(out) if out is not None else home_dir(home) / "tensorboard" / folder.name
    out.mkdir(parents=True, exist_ok=True)
    writer = SummaryWriter(logdir=str(out), flush_secs=1)
    try:
        for event in read_history(folder):
            m, step = event.get("metrics") or {}, int(event.get("step") or 0)
            if event.get("kind") == "batch_end":
                for key in ("loss", "lr"):
                    if isinstance(m.get(key), (int, float)):
                        writer.add_scalar(f"batch/{key}", m[key], step)
            elif event.get("kind") == "epoch_end":
                for key, value in m.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        writer.add_scalar(f"epoch/{key}", value, step)
    finally:
        writer.close()
    return out
