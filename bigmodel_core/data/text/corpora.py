"""Registry of downloadable real text corpora: what each is, where it comes from, how to read it.

SST-2 and IMDB are single archives fetched into `BIGMODEL_HOME/cache` by `download.fetch` and
read straight from the archive (nothing is extracted). `sentence_polarity` and `movie_reviews`
are installed by NLTK's own downloader into `BIGMODEL_HOME/cache/nltk_data` (never the user's
global nltk_data) and read with NLTK's corpus readers.

Checksums: a `sha256` below was checked against several independent published copies. Where it
is None the file is trusted on first use: `fetch` records its SHA-256 in `cache/checksums.json`
on the first download and verifies every later use against that record. NLTK packages are
verified by NLTK's downloader against the checksums in NLTK's index.
"""
from __future__ import annotations

import logging
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urlsplit

from bigmodel_core.data.download import (DELETE_HINT, REMOVED_HINT, Progress, cache_dir, discard, fetch,
                                         rebase_url)
from bigmodel_core.data.text.nltk_install import NLTK_INDEX_URL, install_nltk_package, nltk_corpus_root
from bigmodel_core.errors import DataError, did_you_mean, msg

log = logging.getLogger(__name__)

Texts = tuple[list[str], list[str]]  # (texts, labels), same length


@dataclass(frozen=True)
class Corpus:
    """One downloadable corpus, described well enough to show it before anything is fetched."""

    name: str  # the NAME in `download:NAME`
    title: str
    description: str
    url: str  # the archive; for NLTK corpora, the index of NLTK's data server
    sha256: str | None  # None: trust on first use (see the module docstring)
    size_bytes: int  # approximate download size, shown before downloading
    license: str  # license and citation, shown next to the dataset
    parse: Callable[[Path], Texts]  # archive (or NLTK corpus folder) -> (texts, labels)
    nltk_id: str | None = None  # set when NLTK's downloader installs it

    @property
    def filename(self) -> str:
        """The archive's file name in the cache (the last part of its URL)."""
        return PurePosixPath(urlsplit(self.url).path).name


BINARY_LABELS = {"0": "negative", "1": "positive"}
IMDB_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/[^/]+\.txt")
POLARITY = {"pos": "positive", "neg": "negative"}
MAX_REVIEW_BYTES = 1 << 20  # the longest IMDB review is ~14 KB; anything huge is not a review
HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def parse_sst2(path: Path) -> Texts:
    """Read GLUE's SST-2.zip: train.tsv then dev.tsv (`sentence<TAB>label`, no quoting)."""
    texts: list[str] = []
    labels: list[str] = []
    with zipfile.ZipFile(path) as archive:
        members = {PurePosixPath(n).name: n for n in archive.namelist()}
        for split in ("train.tsv", "dev.tsv"):
            if split not in members:
                raise DataError(msg("errors.corpora.sst2_missing", "SST-2.zip has no {file}.", file=split),
                                msg("errors.corpora.sst2_missing.hint", "Delete it and download it again."))
            lines = archive.read(members[split]).decode("utf-8").splitlines()
            for number, line in enumerate(lines[1:], start=2):  # line 1 is the header
                if not line.strip():
                    continue
                sentence, _, label = line.rpartition("\t")
                if label not in BINARY_LABELS:
                    raise DataError(
                        msg("errors.corpora.sst2_label", "Line {line} of SST-2 {file} has the label '{label}', not 0 "
                            "or 1.", line=number, file=split, label=label),
                        msg("errors.corpora.sst2_label.hint", "Delete SST-2.zip from the cache and download it again."),
                    )
                texts.append(sentence.strip())
                labels.append(BINARY_LABELS[label])
    return texts, labels


def parse_imdb(path: Path) -> Texts:
    """Read the reviews of aclImdb_v1.tar.gz in one streaming pass, extracting nothing.

    Only regular files named `aclImdb/{train,test}/{pos,neg}/*.txt` are read; a member with an
    absolute name or a `..` part is skipped. `<br />` tags in the reviews become spaces.
    """
    found: list[tuple[str, str, str]] = []
    with tarfile.open(path, mode="r|gz") as archive:
        for member in archive:
            name = member.name
            if not _is_safe_member(name):
                log.warning("Skipped the unsafe archive member %r in %s", name, path.name)
                continue
            match = IMDB_MEMBER.fullmatch(name)
            if not (match and member.isfile() and member.size <= MAX_REVIEW_BYTES):
                continue
            stream = archive.extractfile(member)
            if stream is None:
                continue
            text = stream.read().decode("utf-8", errors="replace")
            found.append((name, HTML_BREAK.sub(" ", text).strip(), POLARITY[match.group(2)]))
    found.sort()  # the same order whatever order the archive happens to list them in
    return [text for _, text, _ in found], [label for _, _, label in found]


def _is_safe_member(name: str) -> bool:
    """False for archive member names that would point outside the archive's folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and ":" not in name


def parse_sentence_polarity(folder: Path) -> Texts:
    """Read NLTK's sentence_polarity: one snippet per line in rt-polarity.pos / .neg."""
    from nltk.corpus.reader import CategorizedSentencesCorpusReader

    reader = CategorizedSentencesCorpusReader(
        str(folder),
        r"rt-polarity\.(neg|pos)",
        cat_pattern=r"rt-polarity\.(neg|pos)",
        encoding="utf-8",
    )
    texts: list[str] = []
    labels: list[str] = []
    for category in sorted(reader.categories()):
        for tokens in reader.sents(categories=category):
            if tokens:
                texts.append(" ".join(tokens))
                labels.append(POLARITY[category])
    return texts, labels


def parse_movie_reviews(folder: Path) -> Texts:
    """Read NLTK's movie_reviews: one review per file in pos/ and neg/."""
    from nltk.corpus.reader import CategorizedPlaintextCorpusReader

    reader = CategorizedPlaintextCorpusReader(
        str(folder), r"(?!\.).*\.txt", cat_pattern=r"(neg|pos)/.*", encoding="ascii"
    )
    texts: list[str] = []
    labels: list[str] = []
    for category in sorted(reader.categories()):
        for fileid in reader.fileids(categories=category):
            texts.append(" ".join(reader.raw(fileid).split()))
            labels.append(POLARITY[category])
    return texts, labels


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus(
            name="sst2",
            title=msg("engine.corpora.sst2.title", "SST-2: movie-review sentences"),
            description=msg("engine.corpora.sst2.description", "68,221 sentences and phrases from Rotten Tomatoes "
                            "reviews (GLUE's train and dev sets of the Stanford Sentiment Treebank), labelled positive "
                            "or negative. Short texts: quick to train on."),
            url="https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
            sha256="d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa",
            size_bytes=7_439_277,
            license=msg("engine.corpora.research_use", "Research use. Cite: {citation}", citation="Socher et al., "
                        "Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank, EMNLP 2013; "
                        "Wang et al., GLUE, 2018."),
            parse=parse_sst2,
        ),
        Corpus(
            name="imdb",
            title=msg("engine.corpora.imdb.title", "IMDB: Large Movie Review Dataset"),
            description=msg("engine.corpora.imdb.description", "50,000 full movie reviews from IMDb (25,000 train + "
                            "25,000 test), half positive and half negative. Long texts: slower to train, a real "
                            "benchmark."),
            url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
            size_bytes=84_125_825,
            license=msg("engine.corpora.research_use", "Research use. Cite: {citation}", citation="Maas et al., "
                        "Learning Word Vectors for Sentiment Analysis, ACL 2011."),
            parse=parse_imdb,
        ),
        Corpus(
            name="sentence_polarity",
            title=msg("engine.corpora.sentence_polarity.title", "Sentence polarity (Pang & Lee)"),
            description=msg("engine.corpora.sentence_polarity.description", "10,662 one-line snippets of Rotten "
                            "Tomatoes reviews, 5,331 positive and 5,331 negative, as packaged by NLTK."),
            url=NLTK_INDEX_URL,
            sha256=None,  # verified by NLTK's downloader against NLTK's index
            size_bytes=500_000,
            license=msg("engine.corpora.research_use", "Research use. Cite: {citation}", citation="Pang & Lee, "
                        "Seeing Stars: Exploiting Class Relationships for Sentiment Categorization with Respect to "
                        "Rating Scales, ACL 2005."),
            parse=parse_sentence_polarity,
            nltk_id="sentence_polarity",
        ),
        Corpus(
            name="movie_reviews",
            title=msg("engine.corpora.movie_reviews.title", "Movie reviews (Pang & Lee polarity 2.0)"),
            description=msg("engine.corpora.movie_reviews.description", "2,000 full movie reviews, 1,000 positive "
                            "and 1,000 negative, lower-cased and tokenized, as packaged by NLTK."),
            url=NLTK_INDEX_URL,
            sha256=None,  # verified by NLTK's downloader against NLTK's index
            size_bytes=4_000_000,
            license=msg("engine.corpora.research_use", "Research use. Cite: {citation}", citation="Pang & Lee, "
                        "A Sentimental Education: Sentiment Analysis Using Subjectivity Summarization Based on "
                        "Minimum Cuts, ACL 2004."),
            parse=parse_movie_reviews,
            nltk_id="movie_reviews",
        ),
    )
}


def get_corpus(name: str) -> Corpus:
    """The registered corpus called `name`; DataError with a did-you-mean hint otherwise."""
    if name not in CORPORA:
        raise DataError(
            msg("errors.corpora.unknown", "There is no downloadable corpus called '{name}'.", name=name),
            did_you_mean(name, CORPORA),
        )
    return CORPORA[name]


def download_corpus(
    name: str,
    home: Path | None = None,
    progress: Progress | None = None,
    base_url: str | None = None,
) -> Texts:
    """Download corpus `name` into the cache (unless it is there already) and read it.

    Args:
        name: a key of CORPORA ("sst2", "imdb", "sentence_polarity", "movie_reviews").
        home: the workspace (default: BIGMODEL_HOME, else ./workspace).
        progress: called as `progress(done_bytes, total_bytes_or_None)` while downloading.
        base_url: replaces the scheme and host of the corpus URL (a mirror, or a test server);
            for NLTK corpora it rebases the index, whose entries then name the package URLs.

    Returns:
        (texts, labels), with labels "positive" / "negative".

    Raises:
        DataError: unknown name, or a downloaded file that cannot be read.
        DownloadError: offline, refused, or a checksum that did not match.
    """
    corpus = get_corpus(name)
    cache = cache_dir(home)
    url = rebase_url(corpus.url, base_url)
    if corpus.nltk_id:
        folder = install_nltk_package(corpus.nltk_id, cache / "nltk_data", url, progress)
        return _read(corpus, folder, discard_on_error=None)
    path = fetch(url, cache / corpus.filename, corpus.sha256, corpus.size_bytes, progress)
    return _read(corpus, path, discard_on_error=path if corpus.sha256 is None else None)


def is_cached(name: str, home: Path | None = None) -> bool:
    """True when corpus `name` is already in the cache, so reading it needs no network."""
    corpus = get_corpus(name)
    cache = cache_dir(home)
    if corpus.nltk_id:
        return nltk_corpus_root(corpus.nltk_id, cache / "nltk_data") is not None
    return (cache / corpus.filename).is_file()


def corpus_info(name: str, home: Path | None = None) -> dict:
    """What the UI shows before a download: title, size, description, license, cached or not."""
    corpus = get_corpus(name)
    return {
        "name": corpus.name,
        "spec": f"download:{corpus.name}",
        "title": corpus.title,
        "description": corpus.description,
        "size_bytes": corpus.size_bytes,
        "license": corpus.license,
        "url": corpus.url,
        "cached": is_cached(name, home),
    }


def _read(corpus: Corpus, path: Path, discard_on_error: Path | None) -> Texts:
    """Parse a downloaded corpus into plain errors; a trusted-on-first-use file that cannot be
    read (say, a wifi login page saved instead of the archive) is dropped from the cache."""
    try:
        texts, labels = corpus.parse(path)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, tarfile.TarError, zlib.error) as e:
        hint = DELETE_HINT
        if discard_on_error is not None:
            discard(discard_on_error)
            hint = REMOVED_HINT
        raise DataError(msg("errors.corpora.unreadable", "The downloaded {title} could not be read ({error}).",
                            title=corpus.title, error=str(e)), hint) from None
    if not texts:
        raise DataError(
            msg("errors.corpora.empty", "The downloaded {title} holds no labelled texts.", title=corpus.title),
            DELETE_HINT,
        )
    return texts, labels
