"""Installing NLTK corpora with NLTK's own downloader into the app's cache, and letting NLTK read them."""
from __future__ import annotations

import http.client
import os
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit

from bigmodel_core.data.download import RETRY_HINT, Progress, download_error
from bigmodel_core.errors import DownloadError, msg

NLTK_INDEX_URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/index.xml"


def nltk_corpus_root(package_id: str, data_dir: Path) -> Path | None:
    """The installed folder of NLTK corpus `package_id` under `data_dir`, or None if absent.

    A marker written after NLTK finished tells a complete install from one cut short while
    unzipping (NLTK extracts in place).
    """
    folder = data_dir / "corpora" / package_id
    marker = data_dir / f".installed-{package_id}"
    return folder if folder.is_dir() and marker.is_file() else None


def install_nltk_package(
    package_id: str, data_dir: Path, index_url: str, progress: Progress | None = None
) -> Path:
    """Install NLTK corpus `package_id` into `data_dir` (not the user's nltk_data); return it.

    `index_url` is the NLTK data server's index.xml (injectable, so tests can serve their
    own). Nothing touches the network when a complete install is already there.
    """
    from nltk.downloader import Downloader, ErrorMessage, ProgressMessage

    data_dir = _private_dir(data_dir)
    installed = nltk_corpus_root(package_id, data_dir)
    if installed is not None:
        _authorize_nltk_dir(data_dir)
        return installed
    downloader = Downloader(server_index_url=index_url, download_dir=str(data_dir))
    try:
        info = downloader.info(package_id)  # fetches the index
    except (OSError, ValueError, http.client.HTTPException) as e:
        raise _nltk_error(index_url, package_id, e) from None
    marker = data_dir / f".installed-{package_id}"
    marker.unlink(missing_ok=True)
    total = int(info.size)
    done = 0
    if progress:
        progress(0, total)
    for message in downloader.incr_download(info, str(data_dir)):
        if isinstance(message, ErrorMessage):
            detail = str(message.message).strip().splitlines()[0][:200]
            raise DownloadError(
                msg("errors.nltk_install.failed", "NLTK could not install the corpus {corpus} ({detail}).",
                    corpus=package_id, detail=detail),
                RETRY_HINT,
            )
        if isinstance(message, ProgressMessage) and progress:
            done = max(done, min(total, int(total * float(message.progress) / 100)))
            progress(done, total)
    folder = data_dir / info.subdir / package_id
    if not folder.is_dir():
        raise DownloadError(
            msg("errors.nltk_install.no_folder", "NLTK installed {corpus} but its folder {folder} is missing.",
                corpus=package_id, folder=str(folder)),
            msg("errors.nltk_install.no_folder.hint", "Delete the nltk_data folder in the cache and download again."),
        )
    marker.write_text(index_url + "\n", encoding="utf-8")
    if progress:
        progress(total, total)
    _authorize_nltk_dir(data_dir)
    return nltk_corpus_root(package_id, data_dir) or folder


def _nltk_error(index_url: str, package_id: str, exc: BaseException) -> DownloadError:
    """A plain error for a failed look-up in NLTK's index."""
    host = urlsplit(index_url).hostname or index_url
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, PermissionError):  # NLTK's own guard: private address or proxy
        return DownloadError(
            msg("errors.nltk_install.refused", "NLTK's downloader refused to connect to {host} to download {corpus}.",
                host=host, corpus=package_id),
            msg("errors.nltk_install.refused.hint", "NLTK downloads only from public addresses, and through a proxy "
                "only when the environment variable NLTK_ALLOW_PROXIED_URLOPEN=1 is set; check the proxy settings."),
        )
    if isinstance(exc, ValueError) and "not found in index" in str(exc):
        return DownloadError(
            msg("errors.nltk_install.not_listed", "The NLTK data server at {host} does not list the corpus {corpus}.",
                host=host, corpus=package_id),
            msg("errors.nltk_install.not_listed.hint", "Try again later, or choose another dataset."),
        )
    return download_error(index_url, msg("engine.nltk_install.index", "the NLTK index for {corpus}", corpus=package_id),
                          exc)


def _private_dir(folder: Path) -> Path:
    """Create `folder` with no group/world write bit: NLTK (3.10+) refuses to install into or
    read from folders other accounts could write to, and a umask of 002 would make them so."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = folder.stat().st_mode
    if os.name == "posix" and mode & 0o022:
        folder.chmod(mode & ~0o022 & 0o7777)
    return folder


def _authorize_nltk_dir(data_dir: Path) -> None:
    """Let NLTK's readers open files under `data_dir`.

    NLTK (3.10+) reads corpora only from folders on `nltk.data.path`; the downloader itself
    appends its download folder there, and this does the same when reading from the cache
    in a later session. Appended last, so the user's own nltk_data still wins look-ups.
    """
    import nltk

    resolved = str(Path(data_dir).resolve())
    known = {os.path.realpath(p) for p in nltk.data.path if isinstance(p, str)}
    if resolved not in known:
        nltk.data.path.append(resolved)
