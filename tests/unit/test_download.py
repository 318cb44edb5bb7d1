"""Downloads of real corpora, exercised against a local HTTP server serving tiny stand-in files."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import socket
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bigmodel_core.data.text import corpora
from bigmodel_core.data.text.corpora import CORPORA, corpus_info, download_corpus, is_cached
from bigmodel_core.data.download import cache_dir, fetch, remote_size
from bigmodel_core.errors import DataError, DownloadError

SST2_TRAIN = "sentence\tlabel\nit 's a charming journey \t1\na dull , lifeless mess \t0\n"
SST2_DEV = "sentence\tlabel\nwarm and funny \t1\n"
SST2_TEST = "index\tsentence\n0\tno label here\n"
POLARITY = {"pos": "a gorgeous film .\nsharp and witty !\n", "neg": "tedious and flat .\n"}
REVIEWS = {"pos/cv000_1.txt": "a fine film .\n", "neg/cv001_2.txt": "bad , really bad .\n"}


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace; no proxy, and NLTK's search path restored after the test."""
    import nltk

    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path))
    workspace = tmp_path / "home"
    monkeypatch.setenv("BIGMODEL_HOME", str(workspace))
    return workspace


@pytest.fixture()
def loopback_nltk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let NLTK's downloader reach the test server: NLTK refuses non-public IPs (anti-SSRF)."""
    import nltk.pathsec

    refuse = nltk.pathsec._ip_is_forbidden
    allow_loopback = lambda ip: not ip.is_loopback and refuse(ip)  # noqa: E731
    monkeypatch.setattr(nltk.pathsec, "_ip_is_forbidden", allow_loopback)


def serve_file(root: Path, url: str, data: bytes) -> Path:
    """Put `data` where the server answers the path of `url`."""
    path = root / urlsplit(url).path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sst2_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("SST-2/train.tsv", SST2_TRAIN)
        archive.writestr("SST-2/dev.tsv", SST2_DEV)
        archive.writestr("SST-2/test.tsv", SST2_TEST)
    return buffer.getvalue()


def imdb_tar(extra: list[tarfile.TarInfo] = ()) -> bytes:
    files = {
        "aclImdb/train/pos/0_9.txt": "Loved it.<br /><br />Would watch again.",
        "aclImdb/train/neg/1_2.txt": "Boring from start to end.",
        "aclImdb/test/pos/2_10.txt": "A masterpiece.",
        "aclImdb/train/unsup/3_0.txt": "Unlabelled: must be left out.",
        "aclImdb/train/pos/../../../evil.txt": "Outside the archive folder.",
        "/aclImdb/test/neg/4_1.txt": "Absolute name.",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("aclImdb/test/neg/5_1.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    return buffer.getvalue()


def with_checksum(monkeypatch: pytest.MonkeyPatch, name: str, data: bytes | None) -> None:
    """Register corpus `name` with the checksum of the stand-in file (None: trust on first use)."""
    digest = hashlib.sha256(data).hexdigest() if data is not None else None
    monkeypatch.setitem(CORPORA, name, dataclasses.replace(CORPORA[name], sha256=digest))


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def cache_files(home: Path) -> list[str]:
    folder = cache_dir(home)
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------------------------------------


def test_sst2_download_gives_texts_and_labels(home, server, monkeypatch):
    base, root, _ = server
    data = sst2_zip()
    serve_file(root, CORPORA["sst2"].url, data)
    with_checksum(monkeypatch, "sst2", data)
    assert not is_cached("sst2")

    texts, labels = download_corpus("sst2", base_url=base)

    assert texts == ["it 's a charming journey", "a dull , lifeless mess", "warm and funny"]
    assert labels == ["positive", "negative", "positive"]
    assert is_cached("sst2") and corpus_info("sst2")["cached"]
    assert (home / "cache" / "SST-2.zip").read_bytes() == data


def test_progress_counts_up_to_the_total(home, server):
    base, root, _ = server
    data = bytes(range(256)) * 1000  # 256 kB: several chunks
    serve_file(root, "/big.bin", data)
    calls: list[tuple[int, int | None]] = []

    fetch(f"{base}/big.bin", cache_dir() / "big.bin", hashlib.sha256(data).hexdigest(),
          progress=lambda done, total: calls.append((done, total)))

    done = [d for d, _ in calls]
    assert len(calls) > 2 and done == sorted(done)
    assert {t for _, t in calls} == {len(data)} and calls[-1] == (len(data), len(data))


def test_second_download_uses_the_cache_without_network(home, server, monkeypatch):
    base, root, stop = server
    data = sst2_zip()
    serve_file(root, CORPORA["sst2"].url, data)
    with_checksum(monkeypatch, "sst2", None)  # trust on first use
    first = download_corpus("sst2", base_url=base)
    stop()

    assert download_corpus("sst2", base_url=base) == first
    assert "SST-2.zip" in (home / "cache" / "checksums.json").read_text()


def test_checksum_mismatch_raises_and_leaves_nothing_in_the_cache(home, server, monkeypatch):
    base, root, _ = server
    serve_file(root, CORPORA["sst2"].url, sst2_zip())
    monkeypatch.setitem(CORPORA, "sst2", dataclasses.replace(CORPORA["sst2"], sha256="0" * 64))

    with pytest.raises(DownloadError, match="did not match its checksum") as caught:
        download_corpus("sst2", base_url=base)

    assert caught.value.hint
    assert cache_files(home) == []


def test_changed_file_after_first_use_is_refused(home, server, monkeypatch):
    base, root, _ = server
    with_checksum(monkeypatch, "sst2", None)
    path = serve_file(root, CORPORA["sst2"].url, sst2_zip())
    download_corpus("sst2", base_url=base)
    (home / "cache" / "SST-2.zip").unlink()
    path.write_bytes(sst2_zip() + b"tampered")

    with pytest.raises(DownloadError, match="checksum"):
        download_corpus("sst2", base_url=base)
    assert "SST-2.zip" not in cache_files(home)


def test_unreachable_server_says_offline(home):
    with pytest.raises(DownloadError, match="offline") as caught:
        download_corpus("sst2", base_url=closed_port_url())

    assert "builtin:synthetic_reviews" in caught.value.hint
    assert "SST-2.zip" not in cache_files(home)


def test_missing_file_gives_a_plain_http_error(home, server):
    base, _, _ = server
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_corpus("imdb", base_url=base)
    assert cache_files(home) == []


def test_interrupted_download_leaves_nothing_in_the_cache(home, server):
    base, root, _ = server
    serve_file(root, "/big.bin", b"x" * 300_000)

    def interrupt(done: int, total: int | None) -> None:
        if done > 100_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(f"{base}/big.bin", cache_dir() / "big.bin", None, progress=interrupt)
    assert cache_files(home) == []


def test_unreadable_first_download_is_dropped_from_the_cache(home, server, monkeypatch):
    base, root, _ = server
    serve_file(root, CORPORA["sst2"].url, b"<html>Please log in to the wifi</html>")
    with_checksum(monkeypatch, "sst2", None)

    with pytest.raises(DataError, match="could not be read"):
        download_corpus("sst2", base_url=base)
    assert "SST-2.zip" not in cache_files(home)
    assert "SST-2.zip" not in (home / "cache" / "checksums.json").read_text()


def test_imdb_reads_labelled_reviews_and_skips_unsafe_members(home, server, monkeypatch):
    base, root, _ = server
    data = imdb_tar()
    serve_file(root, CORPORA["imdb"].url, data)
    with_checksum(monkeypatch, "imdb", data)

    texts, labels = download_corpus("imdb", base_url=base)

    assert sorted(zip(texts, labels)) == [
        ("A masterpiece.", "positive"),
        ("Boring from start to end.", "negative"),
        ("Loved it.  Would watch again.", "positive"),
    ]
    assert not any((home.parent / name).exists() for name in ("evil.txt", "aclImdb"))


def nltk_package(root: Path, base: str, package_id: str, files: dict[str, str]) -> str:
    """Serve a zipped NLTK package; return its <package> entry for index.xml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{package_id}/{name}", text)
    data = buffer.getvalue()
    serve_file(root, f"/packages/corpora/{package_id}.zip", data)
    unzipped = sum(len(t.encode()) for t in files.values())
    return (
        f'<package id="{package_id}" name="{package_id}" subdir="corpora" unzip="1" '
        f'url="{base}/packages/corpora/{package_id}.zip" size="{len(data)}" '
        f'unzipped_size="{unzipped}" checksum="{hashlib.md5(data).hexdigest()}" '
        f'sha256_checksum="{hashlib.sha256(data).hexdigest()}" />'
    )


@pytest.fixture()
def nltk_server(server, loopback_nltk):
    """The test server with an NLTK index listing sentence_polarity and movie_reviews."""
    base, root, stop = server
    entries = [
        nltk_package(root, base, "sentence_polarity",
                     {f"rt-polarity.{c}": t for c, t in POLARITY.items()} | {"README": "x\n"}),
        nltk_package(root, base, "movie_reviews", REVIEWS | {"README": "y\n"}),
    ]
    index = f'<?xml version="1.0"?>\n<nltk_data><packages>{"".join(entries)}</packages>' \
            "<collections></collections></nltk_data>"
    serve_file(root, corpora.NLTK_INDEX_URL, index.encode())
    return base, root, stop


def test_nltk_corpus_installs_into_the_app_cache_and_reads_offline(home, nltk_server):
    base, _, stop = nltk_server
    seen: list[int] = []

    texts, labels = download_corpus("sentence_polarity", base_url=base,
                                    progress=lambda done, total: seen.append(done))

    assert sorted(zip(texts, labels)) == [
        ("a gorgeous film .", "positive"),
        ("sharp and witty !", "positive"),
        ("tedious and flat .", "negative"),
    ]
    assert (home / "cache" / "nltk_data" / "corpora" / "sentence_polarity").is_dir()
    assert seen == sorted(seen) and seen[-1] > 0
    stop()
    assert is_cached("sentence_polarity")
    assert download_corpus("sentence_polarity", base_url=base) == (texts, labels)


def test_nltk_movie_reviews_gives_one_text_per_file(home, nltk_server):
    base, _, _ = nltk_server
    texts, labels = download_corpus("movie_reviews", base_url=base)
    assert sorted(zip(texts, labels)) == [("a fine film .", "positive"),
                                         ("bad , really bad .", "negative")]


def test_nltk_corpus_offline_says_offline(home, loopback_nltk):
    with pytest.raises(DownloadError, match="offline"):
        download_corpus("movie_reviews", base_url=closed_port_url())
    assert not is_cached("movie_reviews")


def test_remote_size_reads_content_length(server):
    base, root, _ = server
    serve_file(root, "/f.bin", b"z" * 1234)
    assert remote_size(f"{base}/f.bin") == 1234
    assert remote_size(f"{closed_port_url()}/f.bin") is None


def test_unknown_corpus_suggests_the_closest_name(home):
    with pytest.raises(DataError, match="no downloadable corpus") as caught:
        download_corpus("imbd")
    assert "imdb" in caught.value.hint


def test_cache_dir_follows_bigmodel_home(home, tmp_path):
    assert cache_dir() == home / "cache"
    assert cache_dir(tmp_path / "other") == tmp_path / "other" / "cache"
