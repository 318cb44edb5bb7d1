"""Registry of downloadable image sets (MNIST, Fashion-MNIST, CIFAR-10): where from, how to read.

Files are fetched into `BIGMODEL_HOME/cache/NAME/` by `download.fetch` (streamed, checksummed,
atomic, plain errors when offline) and read straight from the downloaded archives. Every SHA-256
below was checked against several independent published copies; a file registered with
`sha256=None` would be trusted on first use (its digest recorded in that folder's
checksums.json). A trusted-on-first-use file that cannot be read is dropped from the cache.
"""
from __future__ import annotations

import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urlsplit

import numpy as np

from ...errors import DataError, did_you_mean, msg
from ..download import rebase_url
from ..download import DELETE_HINT, REMOVED_HINT, Progress, cache_dir, discard, fetch
from .archives import read_cifar10, read_idx

Images = tuple[np.ndarray, list[str]]  # (images (N, H, W, C) uint8, class name per image)

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # TensorFlow's mirror of LeCun's files
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # Zalando's own; http only,
# but the pinned SHA-256 protects the content all the same
IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a downloadable set."""

    url: str
    sha256: str | None  # None: trust on first use
    size_bytes: int  # exact or approximate, shown before downloading

    @property
    def filename(self) -> str:
        return PurePosixPath(urlsplit(self.url).path).name


@dataclass(frozen=True)
class ImageCorpus:
    """One downloadable image set, described well enough to show it before anything is fetched."""

    name: str  # the NAME in `download:NAME`
    title: str
    description: str
    files: tuple[RemoteFile, ...]
    license: str
    parse: Callable[[list[Path]], Images]  # the downloaded files, in `files` order -> images

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def parse_idx_set(class_names: tuple[str, ...]) -> Callable[[list[Path]], Images]:
    """A reader for the four gzipped IDX files of MNIST-style sets (train then test)."""

    def parse(paths: list[Path]) -> Images:
        train_x, train_y, test_x, test_y = (read_idx(p, 3 if "images" in p.name else 1) for p in paths)
        for x, y, part in ((train_x, train_y, "training"), (test_x, test_y, "test")):
            if len(x) != len(y):
                text = (msg("errors.image_corpora.count_mismatch_train", "The training files hold {images:,} images "
                            "but {labels:,} labels.", images=len(x), labels=len(y)) if part == "training" else
                        msg("errors.image_corpora.count_mismatch_test", "The test files hold {images:,} images but "
                            "{labels:,} labels.", images=len(x), labels=len(y)))
                raise DataError(text,
                                msg("errors.image_corpora.count_mismatch.hint",
                                    "Delete them from the cache folder and download them again."))
        labels = np.concatenate([train_y, test_y])
        if labels.size and labels.max() >= len(class_names):
            raise DataError(msg("errors.image_corpora.bad_label", "A label file holds the class number {label}, but "
                                "there are only {n} classes.", label=int(labels.max()), n=len(class_names)),
                            DELETE_HINT)
        images = np.concatenate([train_x, test_x])[..., None]  # (n, 28, 28, 1)
        return images, np.asarray(class_names, dtype=object)[labels].tolist()

    return parse


def parse_cifar10(paths: list[Path]) -> Images:
    return read_cifar10(paths[0])


IMAGE_CORPORA: dict[str, ImageCorpus] = {
    c.name: c
    for c in (
        ImageCorpus(
            name="mnist",
            title=msg("engine.image_corpora.mnist.title", "MNIST: handwritten digits"),
            description=msg("engine.image_corpora.mnist.description", "70,000 grey 28x28 images of handwritten "
                            "digits 0-9 (60,000 train + 10,000 test), the classic first image-classification task."),
            files=tuple(RemoteFile(MNIST_URL + n, s, b) for n, s, b in zip(IDX_NAMES, (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ), (9_912_422, 28_881, 1_648_877, 4_542))),
            license=msg("engine.image_corpora.mnist.license", "Freely available for research and teaching. Cite: "
                        "{citation}", citation="LeCun, Cortes & Burges, The MNIST database of handwritten digits; "
                        "LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998."),
            parse=parse_idx_set(tuple(str(d) for d in range(10))),
        ),
        ImageCorpus(
            name="fashion_mnist",
            title=msg("engine.image_corpora.fashion_mnist.title", "Fashion-MNIST: clothing pictures"),
            description=msg("engine.image_corpora.fashion_mnist.description", "70,000 grey 28x28 pictures of clothes "
                            "in 10 classes (T-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, "
                            "ankle boot): harder than digits."),
            files=tuple(RemoteFile(FASHION_URL + n, s, b) for n, s, b in zip(IDX_NAMES, (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ), (26_421_880, 29_515, 4_422_102, 5_148))),
            license=msg("engine.image_corpora.fashion_mnist.license", "MIT License, Zalando SE. Cite: {citation}",
                        citation="Xiao, Rasul & Vollgraf, Fashion-MNIST: a Novel Image Dataset for Benchmarking "
                        "Machine Learning Algorithms, 2017."),
            parse=parse_idx_set(FASHION_CLASSES),
        ),
        ImageCorpus(
            name="cifar10",
            title=msg("engine.image_corpora.cifar10.title", "CIFAR-10: small colour photos"),
            description=msg("engine.image_corpora.cifar10.description", "60,000 colour 32x32 photos in 10 classes "
                            "(airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck): a real challenge "
                            "for small CNNs."),
            files=(RemoteFile("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                              "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                              170_498_071),),
            license=msg("engine.image_corpora.cifar10.license", "Free for research and teaching. Cite: {citation}",
                        citation="Krizhevsky, Learning Multiple Layers of Features from Tiny Images, Technical Report, "
                        "University of Toronto, 2009."),
            parse=parse_cifar10,
        ),
    )
}


def get_image_corpus(name: str) -> ImageCorpus:
    """The registered image set called `name`; DataError with a did-you-mean hint otherwise."""
    if name not in IMAGE_CORPORA:
        raise DataError(msg("errors.image_corpora.unknown", "There is no downloadable image set called '{name}'.",
                            name=name), did_you_mean(name, IMAGE_CORPORA))
    return IMAGE_CORPORA[name]


def download_images(
    name: str,
    home: Path | None = None,
    progress: Progress | None = None,
    base_url: str | None = None,
) -> Images:
    """Download image set `name` into the cache (unless it is there already) and read it.

    Args:
        name: a key of IMAGE_CORPORA ("mnist", "fashion_mnist", "cifar10").
        home: the workspace (default: BIGMODEL_HOME, else ./workspace).
        progress: called as `progress(done_bytes, total_bytes)` over all the set's files.
        base_url: replaces the scheme and host of the file URLs (a mirror, or a test server).

    Returns:
        (images (N, H, W, C) uint8, class name per image), training images first.

    Raises:
        DataError: unknown name, or a downloaded file that cannot be read.
        DownloadError: offline, refused, or a checksum that did not match.
    """
    corpus = get_image_corpus(name)
    folder = cache_dir(home) / corpus.name
    paths: list[Path] = []
    done = 0
    for i, remote in enumerate(corpus.files):
        later = sum(f.size_bytes for f in corpus.files[i + 1:])
        path = fetch(rebase_url(remote.url, base_url), folder / remote.filename, remote.sha256,
                     remote.size_bytes, _overall(progress, done, later),
                     name=msg("engine.image_corpora.file", "{set} file {file}", set=corpus.title.split(":")[0],
                              file=remote.filename))
        paths.append(path)
        done += path.stat().st_size
    if progress:
        progress(done, done)
    return _read(corpus, paths)


def _overall(progress: Progress | None, before: int, later: int) -> Progress | None:
    """Progress of one file reported as progress of the whole set (earlier files count as done)."""
    if progress is None:
        return None

    def report(done: int, total: int | None) -> None:
        progress(before + done, before + max(total or 0, done) + later)

    return report


def _read(corpus: ImageCorpus, paths: list[Path]) -> Images:
    """Parse the downloaded files into plain errors; unreadable trusted-on-first-use files are dropped."""
    try:
        images, labels = corpus.parse(paths)
    except (DataError, OSError, EOFError, ValueError, tarfile.TarError, zlib.error, pickle.UnpicklingError) as e:
        unpinned = [p for f, p in zip(corpus.files, paths) if f.sha256 is None]
        for path in unpinned:
            discard(path)
        message = e.message if isinstance(e, DataError) else msg(
            "errors.corpora.unreadable", "The downloaded {title} could not be read ({error}).",
            title=corpus.title, error=str(e))
        hint = REMOVED_HINT if unpinned else (e.hint if isinstance(e, DataError) else DELETE_HINT)
        raise DataError(message, hint) from None
    if not len(images):
        raise DataError(msg("errors.image_corpora.empty", "The downloaded {title} holds no images.",
                            title=corpus.title),
                        DELETE_HINT)
    return images, labels


def is_image_set_cached(name: str, home: Path | None = None) -> bool:
    """True when every file of image set `name` is in the cache, so reading it needs no network."""
    corpus = get_image_corpus(name)
    folder = cache_dir(home) / corpus.name
    return all((folder / f.filename).is_file() for f in corpus.files)


def image_corpus_info(name: str, home: Path | None = None) -> dict:
    """What the UI shows before a download: title, size, description, license, cached or not."""
    corpus = get_image_corpus(name)
    return {
        "name": corpus.name,
        "spec": f"download:{corpus.name}",
        "title": corpus.title,
        "task": "image",
        "description": corpus.description,
        "size_bytes": corpus.size_bytes,
        "license": corpus.license,
        "urls": [f.url for f in corpus.files],
        "cached": is_image_set_cached(name, home),
    }
