"""Download a file into the cache: streamed, checksummed, atomic, with plain errors when offline.

A download goes to a hidden temporary file next to its destination and is renamed into place
only after its SHA-256 matched, so the cache never holds a partial or damaged file, even when the
user presses Ctrl+C. Files whose checksum is not known in advance are trusted on first use: their
SHA-256 is recorded in `checksums.json` beside them and every later use is checked against it.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import socket
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable

from bigmodel_core.errors import DownloadError, msg

Progress = Callable[[int, int | None], None]

CHUNK_BYTES = 1 << 16  # 64 KiB: small enough for a smooth progress bar, big enough to be fast
CHECKSUMS_FILE = "checksums.json"  # trust-on-first-use record: {file name: sha256}
USER_AGENT = "BigModelLab/0.1 (python-urllib)"
OFFLINE_HINT = msg(
    "errors.download.offline.hint",
    "Connect to the internet and try again, "
    "or use the built-in dataset (builtin:synthetic_reviews).",
)
RETRY_HINT = msg("errors.download.broken.hint", "Check the internet connection and try again.")
# what to do with a cached file that cannot be read (shared by the text and image corpora)
DELETE_HINT = msg("errors.download.delete_cached.hint", "Delete it from the cache folder and download it again.")
REMOVED_HINT = msg("errors.download.removed.hint", "It was removed from the cache; download it again.")


def cache_dir(home: Path | None = None) -> Path:
    """The download cache: `BIGMODEL_HOME/cache` (BIGMODEL_HOME defaults to ./workspace)."""
    if home is None:
        home = Path(os.environ.get("BIGMODEL_HOME") or "workspace")
    return Path(home) / "cache"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so big archives do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    url: str,
    dest: Path,
    sha256: str | None,
    size: int | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
    *,
    name: str | None = None,
) -> Path:
    """Download `url` to `dest` unless a verified copy is already there; return `dest`.

    Args:
        url: where to download from (http, https or file).
        dest: the final path in the cache; its folder is created when missing.
        sha256: expected hex digest; None means trust on first use (recorded in checksums.json).
        size: approximate size in bytes, used as the progress total when the server sends none.
        progress: called as `progress(done_bytes, total_bytes_or_None)` after every chunk.
        timeout: seconds to wait for the server before calling the computer offline.
        name: what to call the file in messages (default: the file name of `dest`).

    Raises:
        DownloadError: offline, the server refused, the transfer broke, or the checksum differed.
    """
    dest = Path(dest)
    name = name or dest.name
    expected = (sha256 or _recorded_checksum(dest) or "").lower() or None
    if dest.is_file():
        actual = sha256_of(dest)
        if expected is None or actual == expected:
            if expected is None:
                _record_checksum(dest, actual)
            return dest
        dest.unlink()  # a damaged or changed cached copy: download it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _stream(url, out, name, size, progress, timeout)
        if expected is not None and actual != expected:
            raise DownloadError(
                msg("errors.download.checksum", "The downloaded file {name} did not match its checksum.", name=name),
                msg("errors.download.checksum.hint", "It was damaged on the way or changed on the server and was not "
                    "kept; try again, and report it if this keeps happening."),
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if expected is None:
        _record_checksum(dest, actual)
    return dest


def remote_size(url: str, timeout: float = 10) -> int | None:
    """Size in bytes that the server announces (HEAD, Content-Length); None if unknown/offline."""
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
    except (OSError, ValueError):  # URLError and timeouts are OSErrors
        return None
    try:
        return int(length) if length is not None else None
    except ValueError:
        return None


def _stream(
    url: str,
    out: BinaryIO,
    name: str,
    size: int | None,
    progress: Progress | None,
    timeout: float,
) -> str:
    """Copy the response body of `url` into `out`; return its hex SHA-256."""
    host = urllib.parse.urlsplit(url).hostname or url
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else size
            done = 0
            if progress:
                progress(0, total)
            while chunk := response.read(CHUNK_BYTES):
                digest.update(chunk)
                _write(out, chunk, name)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (OSError, ValueError, http.client.HTTPException) as e:  # URLError is an OSError
        raise download_error(url, name, e) from None
    if length and length.isdigit() and done != int(length):
        raise DownloadError(_broken(host, name), RETRY_HINT)
    return digest.hexdigest()


def download_error(url: str, name: str, exc: BaseException) -> DownloadError:
    """The plain DownloadError for a failed request of `url` (HTTP status, offline, broken)."""
    host = urllib.parse.urlsplit(url).hostname or url
    if isinstance(exc, urllib.error.HTTPError):
        return _http_error(host, name, exc.code, str(exc.reason))
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return _network_error(host, name, reason)


def _http_error(host: str, name: str, code: int, reason: str) -> DownloadError:
    """The plain error for a server that answered with an HTTP error status."""
    if code in (404, 410):
        return DownloadError(
            msg("errors.download.gone", "The server {host} no longer has {name} (HTTP {code} {reason}).",
                host=host, name=name, code=code, reason=reason),
            msg("errors.download.gone.hint", "The file may have moved; try again later or choose another dataset."),
        )
    return DownloadError(
        msg("errors.download.http", "The server {host} could not send {name} (HTTP {code} {reason}).",
            host=host, name=name, code=code, reason=reason),
        msg("errors.download.http.hint", "The server may be busy or blocking the download; try again later."),
    )


def _write(out: BinaryIO, chunk: bytes, name: str) -> None:
    """Write one chunk, turning a full disk into a plain error."""
    try:
        out.write(chunk)
    except OSError as e:
        raise DownloadError(
            msg("errors.download.disk", "Could not save {name} to the cache: {error}.", name=name,
                error=str(e.strerror or e)),
            msg("errors.download.disk.hint", "Free some disk space, or set BIGMODEL_HOME to a folder on a bigger "
                "disk."),
        ) from None


def _network_error(host: str, name: str, reason: object) -> DownloadError:
    """The plain error for a transfer that failed below HTTP (offline, refused, timed out, ...)."""
    if _looks_offline(reason):
        return DownloadError(
            msg("errors.download.offline", "Could not reach {host} to download {name}: the computer seems to be "
                "offline.", host=host, name=name),
            OFFLINE_HINT,
        )
    if isinstance(reason, ssl.SSLError):
        return DownloadError(
            msg("errors.download.ssl", "Could not make a secure connection to {host} to download {name}.",
                host=host, name=name),
            msg("errors.download.ssl.hint", "Check that the computer's date and time are right and that no proxy or "
                "firewall interferes, then try again."),
        )
    if isinstance(reason, (str, ValueError)):  # urllib's "unknown url type" and friends
        return DownloadError(
            msg("errors.download.bad_address", "The address for {name} ({host}) is not a valid download address.",
                name=name, host=host),
            msg("errors.download.bad_address.hint", "Check the address, or use one of the listed corpora."),
        )
    if isinstance(reason, FileNotFoundError):
        return DownloadError(msg("errors.download.no_file", "The file for {name} does not exist at {host}.",
                                 name=name, host=host),
                             msg("errors.download.no_file.hint", "Check the address."))
    return DownloadError(_broken(host, name), RETRY_HINT)


def _broken(host: str, name: str) -> str:
    return msg("errors.download.broken", "The download of {name} from {host} stopped before it finished.",
               name=name, host=host)


def _looks_offline(reason: object) -> bool:
    """True for failures that mean the server cannot be reached at all."""
    if isinstance(reason, (socket.gaierror, TimeoutError, ConnectionRefusedError)):
        return True  # socket.timeout is TimeoutError since Python 3.10
    unreachable = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
    return isinstance(reason, OSError) and reason.errno in unreachable


def discard(dest: Path) -> None:
    """Remove a cached file and forget its recorded checksum, so the next fetch starts afresh."""
    dest = Path(dest)
    dest.unlink(missing_ok=True)
    table = _read_checksums(dest.parent)
    if table.pop(dest.name, None) is not None:
        _write_checksums(dest.parent, table)


def _recorded_checksum(dest: Path) -> str | None:
    """The SHA-256 recorded for `dest` on its first download, if any."""
    return _read_checksums(dest.parent).get(dest.name)


def _record_checksum(dest: Path, digest: str) -> None:
    """Remember `dest`'s SHA-256 (trust on first use), written atomically."""
    table = _read_checksums(dest.parent)
    if table.get(dest.name) == digest:
        return
    table[dest.name] = digest
    _write_checksums(dest.parent, table)


def _write_checksums(folder: Path, table: dict[str, str]) -> None:
    """Replace `folder`'s checksums.json atomically, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{CHECKSUMS_FILE}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(table, f, indent=2, sort_keys=True)
        os.replace(tmp, folder / CHECKSUMS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_checksums(folder: Path) -> dict[str, str]:
    """The checksums.json of `folder` as a dict; an unreadable file counts as empty."""
    try:
        table = json.loads((folder / CHECKSUMS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in table.items() if isinstance(v, str)} if isinstance(table, dict) else {}


def rebase_url(url: str, base_url: str | None) -> str:
    """`url` with its scheme and host replaced by `base_url` (which may carry a path prefix)."""
    if not base_url:
        return url
    parts = urllib.parse.urlsplit(url)
    rebased = base_url.rstrip("/") + parts.path
    return f"{rebased}?{parts.query}" if parts.query else rebased
