"""Reading word-vector files: GloVe text (no header), word2vec text ("N D" header), word2vec binary,
and gensim's KeyedVectors files (read without unpickling code: see gensim_kv.py).

Every problem a user's file can have becomes a DataError that names the file and, for text
files, the line: a row with a different number of values, a value that is not a number, bytes
that are not UTF-8, an empty file, binary garbage, a header promising more words than there are.

Text files are parsed here, a block of lines at a time (numpy parses the numbers of 4,096 lines
in one call): faster than gensim's text reader (BENCHMARKS.md section 8), and it can say which
line is wrong.
Binary files are read by gensim's `load_word2vec_format(binary=True)` (no pickle), after
checking the header so that a damaged one cannot make it allocate a huge matrix.
Both keep the first of duplicate words, as gensim does. Everything read is held in memory:
`limit` keeps only the first (for these files: most frequent) words.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import DataError, msg

FORMATS = ("glove", "word2vec", "word2vec-binary", "gensim")
MAX_DIM = 10_000  # no real embedding is wider; a bigger header number means a damaged file
SNIFF_BYTES = 1 << 16
BLOCK_LINES = 4096
FORMAT_HINT = msg("errors.formats.format.hint",
                  "Use a GloVe .txt file, a word2vec .txt or binary .bin file, or a gensim KeyedVectors .kv file.")
Progress = Callable[[int, int], None]


def detect_format(path: Path) -> str:
    """'glove', 'word2vec', 'word2vec-binary' or 'gensim', from the first bytes of the file."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    name = path.name
    if not head.strip():
        raise DataError(msg("errors.formats.empty", "The file {name} is empty.", name=name), FORMAT_HINT)
    if head.startswith((b"\x1f\x8b", b"PK\x03\x04")):
        raise DataError(msg("errors.formats.compressed",
                            "The file {name} is compressed (gzip or zip), not a vectors file.", name=name),
                        msg("errors.formats.compressed.hint", "Unpack it first and load the .txt or .bin file inside."))
    from .gensim_kv import is_gensim_file

    if is_gensim_file(head):
        return "gensim"
    first, _, rest = head.partition(b"\n")
    header = _parse_header(first)
    if header is not None:
        second = rest.split(b"\n", 1)[0]
        return "word2vec" if _looks_like_row(second, header[1]) else "word2vec-binary"
    if _looks_like_row(first, None):
        return "glove"
    raise DataError(msg("errors.formats.not_vectors",
                        "The file {name} is not a word-vector file: its first line is neither a "
                        "'words dimensions' header nor a word followed by numbers.", name=name), FORMAT_HINT)


def read_vectors_file(path: Path, fmt: str = "auto", limit: Optional[int] = None,
                      progress: Optional[Progress] = None) -> tuple[list[str], np.ndarray]:
    """(words, float32 matrix (len(words), dim)) of a vectors file, at most `limit` words."""
    path = Path(path)
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt not in FORMATS:
        from ..errors import did_you_mean

        raise DataError(msg("errors.formats.unknown_format", "'{fmt}' is not a vectors file format.", fmt=fmt),
                        did_you_mean(fmt, FORMATS + ("auto",)))
    if limit is not None and limit < 1:
        raise DataError(msg("errors.formats.limit", "The word limit must be at least 1, not {limit}.", limit=limit),
                        msg("errors.formats.limit.hint", "Leave it empty to read every word."))
    if fmt == "word2vec-binary":
        return _read_binary(path, limit)
    if fmt == "gensim":
        from .gensim_kv import read_gensim

        return read_gensim(path, limit)
    return _read_text(path, fmt == "word2vec", limit, progress)


# --- text ---------------------------------------------------------------------------------------
class _TextReader:
    """Fills a preallocated matrix from text lines, parsing the numbers block by block."""

    def __init__(self, name: str, dim: Optional[int], capacity: int, progress: Optional[Progress]) -> None:
        self.name, self.dim, self.capacity, self.progress = name, dim, capacity, progress
        self.dim_from = msg("errors.formats.dim_from_header", "the header says")  # or "line N has" (first row)
        self.words: list[str] = []
        self.index: set[str] = set()
        self.matrix = np.empty((capacity, dim), np.float32) if dim else None
        self.rests: list[str] = []  # numbers of the lines not parsed yet
        self.linenos: list[int] = []

    def add(self, lineno: int, text: str) -> None:
        word, _, rest = text.partition(" ")
        count = len(rest.split())
        if self.dim is None:
            if count < 1:
                raise DataError(msg("errors.formats.no_numbers", "Line {line} of {name} holds a word but no numbers.",
                                    line=lineno, name=self.name), FORMAT_HINT)
            self.dim, self.dim_from = count, msg("errors.formats.dim_from_line", "line {line} has", line=lineno)
            self.matrix = np.empty((self.capacity, count), np.float32)
        if count != self.dim:
            raise DataError(
                msg("errors.formats.row_width", "Line {line} of {name} has {count} numbers after the word, "
                    "but {dim_from} {dim}.", line=lineno, name=self.name, count=count, dim_from=self.dim_from,
                    dim=self.dim),
                msg("errors.formats.row_width.hint",
                    "Every line must be one word and the same number of values; fix or delete that line."))
        if word in self.index:
            return  # a duplicate word: keep the first, as gensim does
        self.index.add(word)
        self.words.append(word)
        self.rests.append(rest)
        self.linenos.append(lineno)
        if len(self.rests) == BLOCK_LINES:
            self.flush()

    def flush(self) -> None:
        if not self.rests:
            return
        start = len(self.words) - len(self.rests)
        try:
            block = np.fromstring(" ".join(self.rests), sep=" ", dtype=np.float32)
        except ValueError:
            block = None
        if block is None or block.size != len(self.rests) * self.dim:
            self._raise_bad_number()
        block = block.reshape(len(self.rests), self.dim)
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            lineno = self.linenos[int(np.argmin(finite))]
            raise DataError(msg("errors.formats.not_finite",
                                "Line {line} of {name} holds a value that is not a finite number (nan or inf).",
                                line=lineno, name=self.name),
                            msg("errors.formats.not_finite.hint", "Fix or delete that line."))
        self.matrix[start:start + len(block)] = block
        self.rests, self.linenos = [], []
        if self.progress:
            self.progress(len(self.words), self.capacity)

    def _raise_bad_number(self) -> None:
        for lineno, rest in zip(self.linenos, self.rests):
            for value in rest.split():
                try:
                    float(value)
                except ValueError:
                    raise DataError(msg("errors.formats.not_number",
                                        "Line {line} of {name} holds '{value}', which is not a number.",
                                        line=lineno, name=self.name, value=value[:30]),
                                    msg("errors.formats.not_number.hint",
                                        "Every line must be one word followed by numbers; fix or delete it.")) from None
        raise DataError(msg("errors.formats.unreadable_numbers", "The numbers in {name} could not be read.",
                            name=self.name), FORMAT_HINT)  # pragma: no cover


def _read_text(path: Path, has_header: bool, limit: Optional[int],
               progress: Optional[Progress]) -> tuple[list[str], np.ndarray]:
    name = path.name
    with open(path, "rb") as f:
        lineno, dim, promised = 0, None, None
        if has_header:
            lineno = 1
            promised, dim = _parse_header(f.readline()) or _bad_header(name)
            capacity = promised
        else:
            capacity = _count_lines(path)
        capacity = min(capacity, limit) if limit else capacity
        reader = _TextReader(name, dim, max(capacity, 1), progress)
        for raw in f:
            lineno += 1
            if len(reader.words) >= capacity:
                break
            text = _decode(raw, lineno, name).rstrip()
            if lineno == 1:
                text = text.lstrip("\ufeff")  # a byte-order mark some editors add
            if text:
                reader.add(lineno, text)
        reader.flush()
    n = len(reader.words)
    if n == 0:
        raise DataError(msg("errors.formats.no_vectors", "The file {name} holds no word vectors.", name=name),
                        FORMAT_HINT)
    if promised is not None and n < min(promised, limit or promised):
        raise DataError(msg("errors.formats.cut_off",
                            "The header of {name} promises {promised:,} words, but the file ends after {n:,}.",
                            name=name, promised=promised, n=n),
                        msg("errors.formats.cut_off.hint",
                            "The file may be cut off (or hold repeated words); copy or download it again."))
    return reader.words, reader.matrix[:n]


def _decode(raw: bytes, lineno: int, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(msg("errors.formats.not_utf8", "Line {line} of {name} is not UTF-8 text.",
                            line=lineno, name=name),
                        msg("errors.formats.not_utf8.hint",
                            "Save the file with UTF-8 encoding, or delete that line.")) from None


def _count_lines(path: Path) -> int:
    """Number of lines (an upper bound on the words), counted in 1 MiB chunks."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


# --- binary -------------------------------------------------------------------------------------
def _read_binary(path: Path, limit: Optional[int]) -> tuple[list[str], np.ndarray]:
    from gensim.models import KeyedVectors

    name = path.name
    with open(path, "rb") as f:
        first = f.readline()
    count, dim = _parse_header(first) or _bad_header(name)
    rows = min(count, limit) if limit else count
    body = path.stat().st_size - len(first)
    if body < rows * (4 * dim + 2):  # each record: >= 1 byte of word, a space, dim float32s
        raise DataError(msg("errors.formats.binary_short", "The header of {name} promises {count:,} words of "
                            "{dim} numbers, but the file is too short to hold {rows:,} of them.",
                            name=name, count=count, dim=dim, rows=rows),
                        msg("errors.formats.binary_short.hint",
                            "The file may be cut off or not a word2vec binary file; copy or download it again."))
    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=True, limit=limit)
    except UnicodeDecodeError:
        raise DataError(msg("errors.formats.binary_not_utf8",
                            "{name} holds a word that is not UTF-8 text, so it is probably damaged.", name=name),
                        FORMAT_HINT) from None
    except EOFError:
        raise DataError(msg("errors.formats.binary_eof",
                            "{name} ends before all the words its header promises; it is cut off or damaged.",
                            name=name),
                        msg("errors.formats.binary_eof.hint", "Copy or download the file again.")) from None
    except (ValueError, AssertionError, IndexError) as e:
        raise DataError(msg("errors.formats.binary_unreadable",
                            "{name} is not a readable word2vec binary file ({error}).", name=name, error=str(e)),
                        FORMAT_HINT) from None
    matrix = np.asarray(kv.vectors, dtype=np.float32)
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        word = kv.index_to_key[int(np.argmin(finite))]
        raise DataError(msg("errors.formats.binary_not_finite",
                            "The vector of '{word}' in {name} holds a value that is not a finite number.",
                            word=word, name=name),
                        msg("errors.formats.damaged.hint", "The file is probably damaged; copy or download it again."))
    return list(kv.index_to_key), matrix


# --- sniffing -----------------------------------------------------------------------------------
def _parse_header(line: bytes) -> Optional[tuple[int, int]]:
    """(words, dimensions) of a word2vec header line 'N D', else None."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    count, dim = int(parts[0]), int(parts[1])
    return (count, dim) if count >= 1 and 1 <= dim <= MAX_DIM else None


def _bad_header(name: str):
    raise DataError(msg("errors.formats.bad_header",
                        "The first line of {name} is not a valid 'words dimensions' header.", name=name), FORMAT_HINT)


def _looks_like_row(raw: bytes, dim: Optional[int]) -> bool:
    """True when `raw` reads as 'word number number ...' (with `dim` numbers, when given)."""
    text = raw.decode("utf-8", errors="replace").strip()
    parts = text.split()
    if len(parts) < 2 or (dim is not None and len(parts) - 1 != dim) or "\ufffd" in "".join(parts[1:]):
        return False
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return False
    return True
