"""The optional GloVe 6B download: fetch Stanford's zip into the cache once, extract one width by streaming.

Stanford publishes GloVe 6B (Wikipedia 2014 + Gigaword 5; 400,000 lower-case words) only as one
archive, glove.6B.zip: 822 MB (862,182,613 bytes) holding all four widths (50d, 100d, 200d, 300d).
There is no download of a single width, so even 50d costs the whole 822 MB; the archive is kept
in `BIGMODEL_HOME/cache` (unless `keep_archive=False`) so that the other width needs no second
download. Only 50d and 100d are offered: the wider ones are slow to load on a classroom laptop.

Integrity: no SHA-256 of glove.6B.zip is published, so `download.fetch` trusts the archive on
first use (records its SHA-256 in cache/checksums.json and checks every later use). The member
is checked by the zip's own CRC-32 while it is extracted to a temporary file, which is renamed
into place only when complete, so a cached .txt is always whole.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..data.download import Progress, cache_dir, discard, fetch, rebase_url
from ..errors import DataError, msg

GLOVE_URL = "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip"
GLOVE_ARCHIVE = "glove.6B.zip"
GLOVE_ARCHIVE_BYTES = 862_182_613  # shown before downloading
GLOVE_SHA256: Optional[str] = None  # not published: trusted on first use (see module docstring)
GLOVE_LICENSE = msg("engine.glove.license", "Public Domain Dedication and License v1.0. Cite: Pennington, Socher "
                    "and Manning, GloVe: Global Vectors for Word Representation, EMNLP 2014.")
MAX_MEMBER_BYTES = 2 << 30  # the 300d file is ~1 GB; anything far bigger is not GloVe


@dataclass(frozen=True)
class GloveSet:
    """One width of GloVe 6B: which member of the archive holds it and how big it is unpacked."""

    dim: int
    member: str
    member_bytes: int  # approximate size of the extracted .txt

    @property
    def title(self) -> str:
        return msg("engine.glove.title", "GloVe 6B, {dim} dimensions (400,000 words)", dim=self.dim)


GLOVE: dict[int, GloveSet] = {
    50: GloveSet(50, "glove.6B.50d.txt", 171_350_079),
    100: GloveSet(100, "glove.6B.100d.txt", 347_116_733),
}


def get_glove(dim: int) -> GloveSet:
    if dim not in GLOVE:
        raise DataError(msg("errors.glove.not_offered", "GloVe 6B with {dim} dimensions is not offered.", dim=dim),
                        msg("errors.glove.not_offered.hint", "Choose one of: {widths}.",
                            widths=", ".join(f"{d}d" for d in GLOVE)))
    return GLOVE[dim]


def glove_info(dim: int, home: Path | str | None = None) -> dict:
    """What the UI shows before the download: sizes (archive first), license, what is cached."""
    entry = get_glove(dim)
    cache = cache_dir(home)
    return {"dim": dim, "title": entry.title, "url": GLOVE_URL, "archive_bytes": GLOVE_ARCHIVE_BYTES,
            "member": entry.member, "member_bytes": entry.member_bytes, "license": GLOVE_LICENSE,
            "archive_cached": (cache / GLOVE_ARCHIVE).is_file(), "cached": (cache / entry.member).is_file(),
            "note": msg("engine.glove.note",
                        "Stanford offers only one 822 MB zip holding all widths (50d, 100d, 200d, 300d).")}


def download_glove(dim: int, home: Path | str | None = None, progress: Optional[Progress] = None,
                   base_url: Optional[str] = None, keep_archive: bool = True) -> Path:
    """The path of glove.6B.<dim>d.txt in the cache, downloading and extracting it when missing.

    Args:
        dim: 50 or 100.
        progress: called as `progress(done_bytes, total_bytes_or_None)` while downloading.
        base_url: replaces the scheme and host of the URL (a mirror, or a test server).
        keep_archive: keep glove.6B.zip (822 MB) so another width needs no new download.

    Raises:
        DownloadError: offline, refused, or the archive changed since it was first downloaded.
        DataError: the archive is not a zip or lacks the member (it is then removed from the cache).
    """
    entry = get_glove(dim)
    cache = Path(cache_dir(home))
    target = cache / entry.member
    if target.is_file():
        return target
    archive = fetch(rebase_url(GLOVE_URL, base_url), cache / GLOVE_ARCHIVE, GLOVE_SHA256,
                    GLOVE_ARCHIVE_BYTES, progress, name="GloVe 6B (glove.6B.zip)")
    _extract(archive, entry.member, target)
    if not keep_archive:
        discard(archive)
    return target


def _extract(archive: Path, member: str, target: Path) -> None:
    """Stream one member of the zip to `target` (temporary file + rename), checking its CRC."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(member)
            if info.file_size > MAX_MEMBER_BYTES:
                raise zipfile.BadZipFile(f"{member} claims {info.file_size:,} bytes")
            written = 0
            with zf.open(info) as src:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size:
                        raise zipfile.BadZipFile(f"{member} is bigger than the archive says")
                    _write(out, chunk)
        os.replace(tmp, target)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        tmp.unlink(missing_ok=True)
        discard(archive)  # trusted on first use: a bad archive must not stay trusted
        if isinstance(e, KeyError):
            what = msg("errors.glove.archive_bad", "The downloaded GloVe archive has no {member}.", member=member)
        else:
            what = msg("errors.glove.archive_unreadable", "The downloaded GloVe archive could not be read ({error}).",
                       error=str(e))
        raise DataError(what, msg("errors.glove.archive_bad.hint",
                                  "It was removed from the cache; download it again.")) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(out, chunk: bytes) -> None:
    try:
        out.write(chunk)
    except OSError as e:
        raise DataError(msg("errors.glove.unpack", "Could not unpack GloVe into the cache: {error}.",
                            error=str(e.strerror or e)),
                        msg("errors.glove.unpack.hint",
                            "Free some disk space, or set BIGMODEL_HOME to a folder on a bigger disk.")) from None
