"""Reading .npz arrays of images and labels safely: every .npy header is checked before anything is allocated.

No pickle (`allow_pickle=False`, object dtypes refused), declared sizes checked against the memory cap
and against what the zip member really holds, so a small file claiming terabytes is a plain error.
"""
from __future__ import annotations

import io
import math
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataError, msg
from .archives import MAX_TOTAL_BYTES, _open_zip, check_zip

NPZ_KEYS = (("images", "labels"), ("x", "y"), ("X", "y"), ("X", "Y"))
NPZ_HINT = msg("errors.npz.hint", "Save it again with numpy.savez(path, images=..., labels=...).")


def read_npz(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """The raw (images, labels) arrays of an .npz file, loaded without pickle.

    Each array's .npy header is read first, so a header that claims more data than the file
    holds or than MAX_TOTAL_BYTES (the cap on a whole zip) is refused before any allocation.

    Raises:
        DataError: missing file, not an npz, unsafe zip, keys missing, damaged or oversized
            headers, object arrays, labels not one per image.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(msg("errors.npz.missing", "There is no file at '{path}'.", path=str(path)),
                        msg("errors.tables.missing.hint", "Check the path, or upload the file again."))
    if not zipfile.is_zipfile(path):
        raise DataError(msg("errors.npz.not_npz", "'{name}' is not an .npz file.", name=path.name),
                        msg("errors.npz.not_npz.hint", "Save the arrays with numpy.savez(path, images=..., "
                            "labels=...)."))
    with _open_zip(path) as archive:
        members = {i.filename.removesuffix(".npy"): i for i in check_zip(archive, path.name, check_ratio=False)}
        pair = next(((i, lab) for i, lab in NPZ_KEYS if i in members and lab in members), None)
        if pair is None:
            found = ", ".join(sorted(members)) or msg("engine.npz.none", "none")
            raise DataError(msg("errors.npz.no_arrays", "'{name}' has no arrays called 'images' and 'labels' (or 'x' "
                                "and 'y'); it has: {found}.", name=path.name, found=found), NPZ_HINT)
        images, labels = (_read_npy(archive, members[key], msg("engine.npz.array", "'{array}' in '{name}'", array=key,
                                                               name=path.name)) for key in pair)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # Keras style (N, 1) labels
    if labels.ndim != 1:
        raise DataError(msg("errors.npz.label_shape", "The labels in '{name}' have shape {shape}, not one label per "
                            "image.", name=path.name, shape=str(labels.shape)),
                        msg("errors.npz.label_shape.hint", "Store the labels as a one-dimensional array."))
    if labels.dtype.kind not in "biufSU":  # complex, dates, structured records: not class names
        raise DataError(msg("errors.npz.label_type", "The labels in '{name}' are of type {dtype}, not numbers or "
                            "names.", name=path.name, dtype=str(labels.dtype)),
                        msg("errors.npz.label_type.hint", "Store the labels as whole numbers or text, one per image."))
    if images.ndim < 1 or len(images) != len(labels):
        raise DataError(msg("errors.npz.count_mismatch", "'{name}' has {images} images but {labels} labels.",
                            name=path.name, images=len(images) if images.ndim else 0, labels=len(labels)),
                        msg("errors.npz.count_mismatch.hint", "Give every image exactly one label."))
    return images, labels


def _read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> np.ndarray:
    """One .npy member, after its header has shown it to be plain numbers of a sane size."""
    try:
        with archive.open(info) as stream:
            shape, dtype = _npy_header(stream, what)
            stored = info.file_size - stream.tell()  # data bytes after the header
        declared = math.prod(shape) * max(dtype.itemsize, 1)  # exact: Python ints do not overflow
        if declared > MAX_TOTAL_BYTES:
            raise DataError(msg("errors.npz.too_big", "The array {what} declares shape {shape} of {dtype}, {mb:,.0f} "
                                "MB, more than the {limit} MB limit.", what=what, shape=str(shape), dtype=str(dtype),
                                mb=declared / 2**20, limit=MAX_TOTAL_BYTES // 2**20),
                            msg("errors.npz.too_big.hint",
                                "Use fewer or smaller images (a sample of them), saved with numpy.savez."))
        if declared > stored:
            raise DataError(msg("errors.npz.short", "The array {what} is damaged: its header declares shape {shape} of "
                                "{dtype} ({declared:,} bytes) but it holds only {stored:,} bytes.", what=what,
                                shape=str(shape), dtype=str(dtype), declared=declared, stored=max(stored, 0)), NPZ_HINT)
        with archive.open(info) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError) as e:
        raise DataError(msg("errors.npz.unreadable", "The array {what} could not be read ({error}).", what=what,
                            error=str(e)[:200]), NPZ_HINT) from None


def _npy_header(stream: io.BufferedIOBase, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a .npy header, refusing object arrays and anything malformed."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise DataError(msg("errors.npz.version", "The array {what} is in .npy format version {version}, which "
                                "BigModel Lab does not read.", what=what, version=f"{version[0]}.{version[1]}"),
                            NPZ_HINT)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "created on Python 2": readable, and not the user's concern
            shape, _, dtype = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(stream)
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - a hostile header fails in many ways (SyntaxError, TokenError, ...)
        detail = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise DataError(msg("errors.npz.bad_header", "The array {what} is not a readable numpy array ({detail}).",
                            what=what, detail=detail), NPZ_HINT) from None
    if dtype.hasobject:
        raise DataError(msg("errors.npz.objects", "The array {what} stores Python objects, which BigModel Lab does not "
                            "load because loading them could run code.", what=what),
                        msg("errors.npz.objects.hint",
                            "Save plain numeric images and number or text labels (not dtype=object)."))
    if any(d < 0 for d in shape):
        raise DataError(msg("errors.npz.negative_shape", "The array {what} is damaged: its header declares the shape "
                            "{shape}.", what=what, shape=str(shape)), NPZ_HINT)
    return shape, dtype


# --- IDX (MNIST, Fashion-MNIST) ----------------------------------------------------------------
