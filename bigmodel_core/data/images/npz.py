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

from ...errors import DataError
from .archives import MAX_TOTAL_BYTES, _open_zip, check_zip

NPZ_KEYS = (("images", "labels"), ("x", "y"), ("X", "y"), ("X", "Y"))
NPZ_HINT = "Save it again with numpy.savez(path, images=..., labels=...)."


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
        raise DataError(f"There is no file at '{path}'.", "Check the path, or upload the file again.")
    if not zipfile.is_zipfile(path):
        raise DataError(f"'{path.name}' is not an .npz file.",
                        "Save the arrays with numpy.savez(path, images=..., labels=...).")
    with _open_zip(path) as archive:
        members = {i.filename.removesuffix(".npy"): i for i in check_zip(archive, path.name, check_ratio=False)}
        pair = next(((i, lab) for i, lab in NPZ_KEYS if i in members and lab in members), None)
        if pair is None:
            found = ", ".join(sorted(members)) or "none"
            raise DataError(f"'{path.name}' has no arrays called 'images' and 'labels' (or 'x' and 'y'); "
                            f"it has: {found}.", NPZ_HINT)
        images, labels = (_read_npy(archive, members[key], f"'{key}' in '{path.name}'") for key in pair)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # Keras style (N, 1) labels
    if labels.ndim != 1:
        raise DataError(f"The labels in '{path.name}' have shape {labels.shape}, not one label per image.",
                        "Store the labels as a one-dimensional array.")
    if labels.dtype.kind not in "biufSU":  # complex, dates, structured records: not class names
        raise DataError(f"The labels in '{path.name}' are of type {labels.dtype}, not numbers or names.",
                        "Store the labels as whole numbers or text, one per image.")
    if images.ndim < 1 or len(images) != len(labels):
        raise DataError(f"'{path.name}' has {len(images) if images.ndim else 0} images but {len(labels)} labels.",
                        "Give every image exactly one label.")
    return images, labels


def _read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> np.ndarray:
    """One .npy member, after its header has shown it to be plain numbers of a sane size."""
    try:
        with archive.open(info) as stream:
            shape, dtype = _npy_header(stream, what)
            stored = info.file_size - stream.tell()  # data bytes after the header
        declared = math.prod(shape) * max(dtype.itemsize, 1)  # exact: Python ints do not overflow
        if declared > MAX_TOTAL_BYTES:
            raise DataError(f"The array {what} declares shape {shape} of {dtype}, {declared / 2**20:,.0f} MB, "
                            f"more than the {MAX_TOTAL_BYTES // 2**20} MB limit.",
                            "Use fewer or smaller images (a sample of them), saved with numpy.savez.")
        if declared > stored:
            raise DataError(f"The array {what} is damaged: its header declares shape {shape} of {dtype} "
                            f"({declared:,} bytes) but it holds only {max(stored, 0):,} bytes.", NPZ_HINT)
        with archive.open(info) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError) as e:
        raise DataError(f"The array {what} could not be read ({str(e)[:200]}).", NPZ_HINT) from None


def _npy_header(stream: io.BufferedIOBase, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a .npy header, refusing object arrays and anything malformed."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise DataError(f"The array {what} is in .npy format version {version[0]}.{version[1]}, "
                            "which BigModel Lab does not read.", NPZ_HINT)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "created on Python 2": readable, and not the user's concern
            shape, _, dtype = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(stream)
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - a hostile header fails in many ways (SyntaxError, TokenError, ...)
        detail = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise DataError(f"The array {what} is not a readable numpy array ({detail}).", NPZ_HINT) from None
    if dtype.hasobject:
        raise DataError(f"The array {what} stores Python objects, which BigModel Lab does not load "
                        "because loading them could run code.",
                        "Save plain numeric images and number or text labels (not dtype=object).")
    if any(d < 0 for d in shape):
        raise DataError(f"The array {what} is damaged: its header declares the shape {shape}.", NPZ_HINT)
    return shape, dtype


# --- IDX (MNIST, Fashion-MNIST) ----------------------------------------------------------------
