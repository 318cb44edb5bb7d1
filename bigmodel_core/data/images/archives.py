"""Read image files and archives safely: folder/zip image trees, .npz, IDX files and CIFAR pickles.

Everything here treats its input as hostile. Zip archives are checked from their central
directory before a byte is decompressed (names that point outside the archive, total size,
compression ratio) and every entry is read in memory under a streaming size guard; nothing is
ever extracted to disk. Images are size-checked from their header before Pillow decodes them,
and `.npz` arrays from their .npy header before anything is allocated. `.npz` files are loaded
without pickle, and CIFAR-10's pickles go through an unpickler that can build numpy arrays and
nothing else, so a doctored file cannot run code.
"""
from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import tarfile
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from ...errors import DataError, msg
from ..download import DELETE_HINT
from .numpy_pickle import load_pickle

MAX_TOTAL_BYTES = 500 * 2**20  # uncompressed size of a whole zip: a classroom set is far smaller
MAX_RATIO = 100  # a real image compresses 1-10x; a zip bomb compresses 1000x or more
RATIO_MIN_BYTES = 1 << 20  # tiny entries may compress well legitimately; the ratio cap is for big ones
MAX_ENTRY_BYTES = 80 * 2**20  # one image file: 4096 x 4096 RGBA as BMP is 64 MiB
MAX_IMAGES = 200_000  # more images than this would not fit in memory once decoded
MAX_SIDE = 4096  # widest/tallest image decoded: more pixels is a decompression bomb, not a photo
MAX_IDX_BYTES = 200 * 2**20  # MNIST's biggest IDX file unpacks to 47 MB
MAX_CIFAR_MEMBER_BYTES = 64 * 2**20  # a CIFAR-10 batch is 31 MB
CHUNK_BYTES = 1 << 16
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
ZIP_HINT = msg("errors.archives.zip.hint", "Make a new zip of the class folders (one folder per class) and upload "
               "that.")
CIFAR_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
               "test_batch", "batches.meta")


def is_safe_name(name: str) -> bool:
    """False for archive member names that would point outside the archive's folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and ":" not in name


def is_ignored(parts: tuple[str, ...]) -> bool:
    """Hidden files and folders, and macOS's resource-fork folder, are not data."""
    return any(p.startswith(".") or p == "__MACOSX" or p == "Thumbs.db" for p in parts)


# --- folders and zips of class folders ---------------------------------------------------------


class ImageFiles:
    """The image files of a folder or zip, each with its class, read one at a time on demand."""

    def __init__(self, source: str, names: list[str], labels: list[str], skipped: int, loose: int,
                 read: Callable[[str], bytes], close: Callable[[], None] = lambda: None) -> None:
        self.source = source  # the folder's or zip's file name, for messages
        self.names = names  # path of each image inside the folder or zip
        self.labels = labels  # class of each image: its top folder below the common root
        self.skipped = skipped  # files that are not images (by extension)
        self.loose = loose  # images lying outside any class folder
        self._read, self._close = read, close

    def __len__(self) -> int:
        return len(self.names)

    def read(self, i: int) -> bytes:
        return self._read(self.names[i])

    def close(self) -> None:
        self._close()

    def __enter__(self) -> "ImageFiles":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_image_files(path: Path | str) -> ImageFiles:
    """List the images of a folder (or .zip) holding one sub-folder per class.

    Raises:
        DataError: the path is missing or not a folder/zip, the zip is unsafe or damaged,
            there are no images in class folders, or there are more than MAX_IMAGES.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        names = _walk(path)
        read, close = (lambda name: _read_file(path, name)), (lambda: None)
    elif path.is_file():
        if not zipfile.is_zipfile(path):
            raise DataError(msg("errors.archives.not_folder_or_zip", "'{name}' is neither a folder nor a zip file.",
                                name=path.name),
                            msg("errors.archives.not_folder_or_zip.hint",
                                "Choose a folder with one sub-folder per class, or a .zip of such a folder."))
        archive = _open_zip(path)
        infos = {i.filename: i for i in check_zip(archive, path.name) if not _is_symlink(i)}
        names = sorted(n for n in infos if not is_ignored(PurePosixPath(n).parts))
        read = lambda name: read_entry(archive, infos[name], path.name)  # noqa: E731
        close = archive.close
    else:
        raise DataError(msg("errors.archives.missing", "There is no folder or zip file at '{path}'.", path=str(path)),
                        msg("errors.archives.missing.hint", "Check the path and try again."))
    try:
        return _classify(path.name, names, read, close)
    except BaseException:
        close()
        raise


def _classify(source: str, names: list[str], read: Callable[[str], bytes],
              close: Callable[[], None]) -> ImageFiles:
    """Keep image files, and name each one's class after its folder below the common root."""
    images = [n for n in names if PurePosixPath(n).suffix.lower() in IMAGE_EXTENSIONS]
    skipped = len(names) - len(images)
    if len(images) > MAX_IMAGES:
        raise DataError(msg("errors.archives.too_many_images", "'{source}' holds {n:,} images, more than the {most:,} "
                            "BigModel Lab can load at once.", source=source, n=len(images), most=MAX_IMAGES),
                        msg("errors.archives.too_many_images.hint", "Use a sample of the images in each class folder."))
    dirs = [PurePosixPath(n).parts[:-1] for n in images]
    root = _common_root([d for d in dirs if d])
    kept = [(n, d[root]) for n, d in zip(images, dirs) if len(d) > root]
    if not kept:
        raise DataError(msg("errors.archives.no_class_folders", "'{source}' has no images inside class folders.",
                            source=source),
                        msg("errors.archives.no_class_folders.hint",
                            "Put the images of each class in their own folder (cats/, dogs/, ...) and try again."))
    return ImageFiles(source, [n for n, _ in kept], [c for _, c in kept], skipped,
                      len(images) - len(kept), read, close)


def _common_root(dirs: list[tuple[str, ...]]) -> int:
    """How many leading folders every image shares and that are not yet the class level.

    `data/cats/a.png` and `data/dogs/b.png` share `data/`, so the classes are `cats`, `dogs`;
    the stripping stops one level above the images so a one-class set keeps its class name.
    """
    depth = 0
    while dirs and all(len(d) > depth + 1 for d in dirs) and len({d[depth] for d in dirs}) == 1:
        depth += 1
    return depth


def _walk(root: Path) -> list[str]:
    """Every non-hidden file under `root` as a sorted relative POSIX path (symlinked dirs not followed)."""
    found = []
    for folder, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not is_ignored((d,))]
        rel = Path(folder).relative_to(root)
        found += [(rel / f).as_posix() for f in files if not is_ignored((f,))]
    return sorted(found)


def _read_file(root: Path, name: str) -> bytes:
    path = root / name
    if path.stat().st_size > MAX_ENTRY_BYTES:
        raise _too_big_entry(name)
    return path.read_bytes()


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as e:  # e.g. "zip file version 6.4"
        raise DataError(msg("errors.archives.damaged_zip", "The zip file '{name}' is damaged ({error}).",
                            name=path.name, error=str(e)), ZIP_HINT) from None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def check_zip(archive: zipfile.ZipFile, what: str, check_ratio: bool = True) -> list[zipfile.ZipInfo]:
    """Refuse an unsafe zip from its central directory alone; return its file entries.

    `check_ratio=False` (for .npz) skips the compression-ratio test: sorted labels compress 600x
    and more, and the total cap with each array's header check bounds memory on its own.

    Raises:
        DataError: an entry name points outside the archive (zip-slip), the archive would
            unpack to more than MAX_TOTAL_BYTES, or an entry is compressed suspiciously well.
    """
    infos = archive.infolist()
    for info in infos:
        if not info.filename:
            raise DataError(msg("errors.archives.nameless_entry", "The zip '{zip}' is damaged: one of its entries has "
                                "no name.", zip=what), ZIP_HINT)
        if not is_safe_name(info.filename):
            raise DataError(msg("errors.archives.zip_slip", "The zip '{zip}' holds an entry named '{entry}' that "
                                "points outside the archive, so none of it was read.", zip=what, entry=info.filename),
                            ZIP_HINT)
        if (check_ratio and info.file_size > RATIO_MIN_BYTES
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise _bomb(what, msg("engine.archives.bomb_ratio", "'{entry}' unpacks {ratio:,} times bigger than it is "
                                  "stored", entry=info.filename, ratio=info.file_size // max(info.compress_size, 1)))
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise _bomb(what, msg("engine.archives.bomb_total", "it would unpack to {mb:,.0f} MB, more than the {limit} MB "
                              "limit", mb=total / 2**20, limit=MAX_TOTAL_BYTES // 2**20))
    return [i for i in infos if not i.is_dir()]


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    """One zip entry's bytes, stopping as soon as it grows past its declared or allowed size."""
    if info.file_size > MAX_ENTRY_BYTES:
        raise _too_big_entry(info.filename)
    limit = info.file_size
    buffer = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                buffer += chunk
                if len(buffer) > limit:
                    raise _bomb(what, msg("engine.archives.bomb_size", "'{entry}' unpacks to more than its listed size",
                                          entry=info.filename))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError,
            ValueError) as e:  # ValueError: a local header whose name is not UTF-8
        raise DataError(msg("errors.archives.bad_entry", "The entry '{entry}' of the zip '{zip}' could not be read "
                            "({error}).", entry=info.filename, zip=what, error=str(e)), ZIP_HINT) from None
    return bytes(buffer)


def _bomb(what: str, why: str) -> DataError:
    return DataError(msg("errors.archives.bomb", "The zip '{zip}' was refused because {why}; it may be a zip bomb.",
                         zip=what, why=why),
                     msg("errors.archives.bomb.hint",
                         "Zip the image folders again with ordinary compression, or use fewer or smaller images."))


def _too_big_entry(name: str) -> DataError:
    return DataError(msg("errors.archives.entry_too_big", "The file '{name}' is more than {limit} MB, too big for one "
                         "image.", name=name, limit=MAX_ENTRY_BYTES // 2**20), _shrink_hint())


# --- single images -----------------------------------------------------------------------------


@contextmanager
def _image_errors(name: str) -> Iterator[None]:
    """Turn Pillow's many failure modes (and its bomb warning) into one plain DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name, None) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError) as e:
        if isinstance(e, Image.UnidentifiedImageError):
            text = msg("errors.archives.bad_image", "The image '{name}' could not be read: it is damaged or not "
                       "really an image.", name=name)
        else:
            text = msg("errors.archives.bad_image_detail", "The image '{name}' could not be read: it is damaged or "
                       "not really an image ({error}).", name=name, error=str(e))
        raise DataError(text, msg("errors.archives.bad_image.hint",
                                  "Remove it or replace it with a working copy, then try again.")) from None


def _too_many_pixels(name: str, size: tuple[int, int] | None) -> DataError:
    if size:
        text = msg("errors.archives.too_many_pixels_size", "The image '{name}' is too large to decode ({width} x "
                   "{height} pixels).", name=name, width=size[0], height=size[1])
    else:
        text = msg("errors.archives.too_many_pixels", "The image '{name}' is too large to decode.", name=name)
    return DataError(text, _shrink_hint())


def _shrink_hint() -> str:
    return msg("errors.archives.shrink.hint", "Shrink it to at most {side} x {side} pixels, or remove it.",
               side=MAX_SIDE)


def open_image(data: bytes, name: str) -> Image.Image:
    """Open an image from bytes and check its size from the header, before decoding any pixel."""
    with _image_errors(name):
        img = Image.open(io.BytesIO(data))
    if max(img.size) > MAX_SIDE:
        raise _too_many_pixels(name, img.size)
    return img


def load_image(img: Image.Image, name: str) -> Image.Image:
    """Decode an opened image (the first frame of an animation) with plain errors."""
    with _image_errors(name):
        img.seek(0)
        img.load()
    return img


def decode_image(data: bytes, name: str) -> Image.Image:
    """Open, size-check and decode one image file."""
    return load_image(open_image(data, name), name)


# --- .npz --------------------------------------------------------------------------------------

def read_idx(path: Path, ndim: int) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes (magic 0x00 0x00 0x08 ndim, big-endian sizes).

    Raises:
        DataError: not gzip, wrong magic or rank, or a size that does not match the header.
    """
    name, hint = path.name, DELETE_HINT
    try:
        with gzip.open(path, "rb") as f:
            head = f.read(4)
            if len(head) != 4 or head[:3] != b"\x00\x00\x08" or head[3] != ndim:
                raise DataError(msg("errors.archives.idx_magic", "The file {name} is damaged: it is not an IDX file of "
                                    "{ndim}-D bytes.", name=name, ndim=ndim), hint)
            raw = f.read(4 * ndim)
            if len(raw) != 4 * ndim:
                raise DataError(msg("errors.archives.idx_header", "The file {name} is damaged: its header is cut "
                                    "short.", name=name), hint)
            dims = struct.unpack(f">{ndim}I", raw)
            count = int(np.prod(dims, dtype=np.int64))
            if count > MAX_IDX_BYTES:
                raise DataError(msg("errors.archives.idx_claims", "The file {name} is damaged: its header claims "
                                    "{count:,} bytes of data.", name=name, count=count), hint)
            data = f.read(count)
            if len(data) != count or f.read(1):
                raise DataError(msg("errors.archives.idx_size", "The file {name} is damaged: it holds {held:,} bytes "
                                    "of data where its header says {count:,}.", name=name, held=len(data),
                                    count=count), hint)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(msg("errors.archives.idx_damaged", "The file {name} is damaged ({error}).", name=name,
                            error=str(e)), hint) from None
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


# --- CIFAR-10 pickles --------------------------------------------------------------------------


def read_cifar10(path: Path) -> tuple[np.ndarray, list[str]]:
    """cifar-10-python.tar.gz -> (images (N, 32, 32, 3) uint8, class name per image), train then test.

    The archive is streamed and nothing is extracted; only regular files with the expected names
    are read, and only through `numpy_pickle.load_pickle`.
    """
    hint = DELETE_HINT
    found: dict[str, bytes] = {}
    with tarfile.open(path, mode="r|gz") as archive:
        for member in archive:
            base = PurePosixPath(member.name).name
            if (base in CIFAR_FILES and member.isfile() and is_safe_name(member.name)
                    and member.size <= MAX_CIFAR_MEMBER_BYTES):
                stream = archive.extractfile(member)
                if stream is not None:
                    found[base] = stream.read()
    missing = [n for n in CIFAR_FILES if n not in found]
    if missing:
        raise DataError(msg("errors.archives.cifar_missing", "The CIFAR-10 archive {name} has no {files}.",
                            name=path.name, files=", ".join(missing)), hint)
    meta = load_pickle(found["batches.meta"], _member("batches.meta", path.name))
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in _field(meta, "label_names", path)]
    images, labels = [], []
    for batch in CIFAR_FILES[:-1]:
        d = load_pickle(found[batch], _member(batch, path.name))
        data, batch_labels = _field(d, "data", path), np.asarray(_field(d, "labels", path))
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
                and data.shape[1] == 3072 and batch_labels.shape == (len(data),)
                and batch_labels.dtype.kind in "iu" and np.all((batch_labels >= 0) & (batch_labels < len(names)))):
            raise DataError(msg("errors.archives.cifar_layout", "The CIFAR-10 batch {batch} in {name} is not laid out "
                                "as expected.", batch=batch, name=path.name), hint)
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # (n, 32, 32, 3)
        labels.append(batch_labels)
    all_labels = np.concatenate(labels)
    return np.ascontiguousarray(np.concatenate(images)), np.asarray(names, dtype=object)[all_labels].tolist()


def _field(d: object, key: str, path: Path) -> object:
    """d[b'key'] (Python 2 pickles) or d['key'] (Python 3 ones)."""
    if isinstance(d, dict):
        for k in (key.encode(), key):
            if k in d:
                return d[k]
    raise DataError(msg("errors.archives.cifar_field", "The CIFAR-10 archive {name} lacks its '{entry}' entries.",
                        name=path.name, entry=key), DELETE_HINT)


def _member(member: str, archive: str) -> str:
    return msg("engine.archives.member", "{member} in {archive}", member=member, archive=archive)
