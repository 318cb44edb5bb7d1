"""Downloads of MNIST, Fashion-MNIST and CIFAR-10 against a local HTTP server serving tiny stand-ins."""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data.images.corpora import (IMAGE_CORPORA, download_images, image_corpus_info,
                                              is_image_set_cached)
from bigmodel_core.data.images.dataset import load_image_dataset
from bigmodel_core.errors import DataError, DownloadError

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    workspace = tmp_path / "home"
    monkeypatch.setenv("BIGMODEL_HOME", str(workspace))
    return workspace


def serve_file(root: Path, url: str, data: bytes) -> Path:
    path = root / urlsplit(url).path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pin(monkeypatch: pytest.MonkeyPatch, name: str, served: list[bytes] | None) -> None:
    """Register set `name` with the checksums of the stand-in files (None: trust on first use)."""
    corpus = IMAGE_CORPORA[name]
    digests = [hashlib.sha256(d).hexdigest() for d in served] if served else [None] * len(corpus.files)
    files = tuple(dataclasses.replace(f, sha256=s) for f, s in zip(corpus.files, digests))
    monkeypatch.setitem(IMAGE_CORPORA, name, dataclasses.replace(corpus, files=files))


def idx(array: np.ndarray) -> bytes:
    """A gzipped IDX file of unsigned bytes."""
    head = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(head + array.astype(np.uint8).tobytes())


def mnist_files(n_train: int = 16, n_test: int = 6) -> list[bytes]:
    """Train images, train labels, test images, test labels; image i is filled with its label * 20."""
    out = []
    for n in (n_train, n_test):
        labels = np.arange(n) % 10
        out += [idx(np.repeat(labels * 20, 28 * 28).reshape(n, 28, 28)), idx(labels)]
    return out


def serve_set(root: Path, name: str, files: list[bytes]) -> None:
    for remote, data in zip(IMAGE_CORPORA[name].files, files):
        serve_file(root, remote.url, data)


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 strings, as in the real CIFAR-10 files (made with Python 2)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj: str | bytes) -> None:
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_string
    dispatch[bytes] = save_py2_string


def py2_pickle(obj: object) -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def cifar_tar(batch: int = 3, replace: dict[str, bytes] | None = None) -> bytes:
    """A CIFAR-10-style tar.gz: image k of each batch is red with label k, the rest are zeros."""
    members = {"batches.meta": py2_pickle({"label_names": CIFAR_NAMES, "num_cases_per_batch": batch})}
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        data = np.zeros((batch, 3072), dtype=np.uint8)
        data[:, :1024] = 255  # the red plane
        members[name] = py2_pickle({"batch_label": name, "data": data, "labels": list(range(batch)),
                                    "filenames": [f"{name}_{i}.png" for i in range(batch)]})
    members |= replace or {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def cached(home: Path, name: str) -> list[str]:
    folder = home / "cache" / name
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------


def test_mnist_download_gives_grey_images_and_digit_labels(home, server, monkeypatch):
    base, root, _ = server
    files = mnist_files()
    serve_set(root, "mnist", files)
    pin(monkeypatch, "mnist", files)
    assert not image_corpus_info("mnist")["cached"]

    images, labels = download_images("mnist", base_url=base)

    assert images.shape == (22, 28, 28, 1) and images.dtype == np.uint8
    assert labels[:11] == [str(d) for d in range(10)] + ["0"]
    assert all(int(images[i].max()) == int(label) * 20 for i, label in enumerate(labels))
    assert is_image_set_cached("mnist") and image_corpus_info("mnist")["cached"]


def test_cached_set_loads_as_a_dataset_without_network(home, server, monkeypatch):
    base, root, stop = server
    files = mnist_files(n_train=40, n_test=10)
    serve_set(root, "fashion_mnist", files)
    pin(monkeypatch, "fashion_mnist", None)  # trust on first use
    download_images("fashion_mnist", base_url=base)
    stop()

    ds = load_image_dataset(DataConfig(spec="download:fashion_mnist", max_rows=30, image_size=14))

    assert ds.images.shape == (30, 14, 14, 1) and "Ankle boot" in ds.class_names
    assert sum(ds.summary()["split"].values()) == 30
    assert "train-images-idx3-ubyte.gz" in (home / "cache" / "fashion_mnist" / "checksums.json").read_text()


def test_progress_covers_all_files_of_a_set(home, server, monkeypatch):
    base, root, _ = server
    files = mnist_files(n_train=200)
    serve_set(root, "mnist", files)
    pin(monkeypatch, "mnist", files)
    calls: list[tuple[int, int]] = []

    download_images("mnist", base_url=base, progress=lambda done, total: calls.append((done, total)))

    done = [d for d, _ in calls]
    assert done == sorted(done) and all(d <= t for d, t in calls)
    assert calls[-1] == (sum(map(len, files)),) * 2


def test_real_checksums_refuse_stand_in_files(home, server):
    base, root, _ = server
    serve_set(root, "mnist", mnist_files())
    with pytest.raises(DownloadError, match="did not match its checksum"):
        download_images("mnist", base_url=base)
    assert [n for n in cached(home, "mnist") if n.endswith(".gz")] == []


@pytest.mark.parametrize("damage,match", [
    (lambda data: gzip.compress(gzip.decompress(data)[:-5]), "header says"),
    (lambda data: gzip.compress(b"\x00\x00\x09\x03" + gzip.decompress(data)[4:]), "not an IDX file"),
    (lambda data: b"<html>wifi login</html>", "damaged"),
])
def test_damaged_idx_file_is_a_plain_error_and_leaves_the_cache(home, server, monkeypatch, damage, match):
    base, root, _ = server
    files = mnist_files()
    files[0] = damage(files[0])
    serve_set(root, "mnist", files)
    pin(monkeypatch, "mnist", None)

    with pytest.raises(DataError, match=match) as caught:
        download_images("mnist", base_url=base)

    assert "removed from the cache" in caught.value.hint
    assert [n for n in cached(home, "mnist") if n.endswith(".gz")] == []


def test_cifar10_reads_python2_pickles_into_colour_images(home, server, monkeypatch):
    base, root, _ = server
    data = cifar_tar()
    serve_set(root, "cifar10", [data])
    pin(monkeypatch, "cifar10", [data])

    images, labels = download_images("cifar10", base_url=base)

    assert images.shape == (18, 32, 32, 3) and images.dtype == np.uint8
    assert (images[..., 0] == 255).all() and images[..., 1:].max() == 0  # channels in RGB order
    assert labels[:3] == ["airplane", "automobile", "bird"]


def test_cifar10_pickle_that_runs_code_is_refused_and_nothing_runs(home, server, monkeypatch, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    base, root, _ = server
    serve_set(root, "cifar10", [cifar_tar(replace={"data_batch_2": py2_pickle({"data": Evil()})})])
    pin(monkeypatch, "cifar10", None)

    with pytest.raises(DataError, match=r"data_batch_2 in cifar-10-python.tar.gz asks to run (posix|nt).system") as caught:
        download_images("cifar10", base_url=base)

    assert not marker.exists()
    assert "removed from the cache" in caught.value.hint and cached(home, "cifar10") == ["checksums.json"]


@pytest.mark.parametrize("payload", [
    b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1q\x00\x85R.",  # eval("1+1")
    # numpy.ndarray((1,), dtype("O"), b"AAAAAAAA"): an object array from raw bytes would crash Python
    b"\x80\x04cnumpy\nndarray\n(K\x01\x85cnumpy\ndtype\nX\x01\x00\x00\x00O\x85RC\x08AAAAAAAAtR.",
])
def test_cifar10_other_dangerous_pickles_are_refused(home, server, monkeypatch, payload):
    base, root, _ = server
    serve_set(root, "cifar10", [cifar_tar(replace={"test_batch": payload})])
    pin(monkeypatch, "cifar10", None)
    with pytest.raises(DataError, match="never allows"):
        download_images("cifar10", base_url=base)


def test_cifar10_archive_missing_a_batch_is_a_plain_error(home, server, monkeypatch):
    base, root, _ = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz"):
        pass
    serve_set(root, "cifar10", [buffer.getvalue()])
    pin(monkeypatch, "cifar10", None)
    with pytest.raises(DataError, match="has no data_batch_1"):
        download_images("cifar10", base_url=base)


def test_offline_download_says_offline(home):
    with pytest.raises(DownloadError, match="offline") as caught:
        download_images("cifar10", base_url=closed_port_url())
    assert caught.value.hint
    assert [n for n in cached(home, "cifar10") if n.endswith(".gz")] == []


def test_info_shows_size_before_download_and_unknown_names_get_a_hint(home):
    info = image_corpus_info("cifar10")
    assert info["size_bytes"] == 170_498_071 and not info["cached"] and info["spec"] == "download:cifar10"
    assert info["license"] and info["title"].startswith("CIFAR-10")
    with pytest.raises(DataError, match="no downloadable image set") as caught:
        download_images("fashion-mnist")
    assert "fashion_mnist" in caught.value.hint
