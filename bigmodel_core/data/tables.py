"""Uploaded tables (CSV / TSV / JSONL): safe reading and text/label column detection."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..errors import DataError

MAX_BYTES = 200 * 1024 * 1024  # larger files would stall a classroom server; sample them first
MAX_CLASSES = 100  # more distinct labels than this is almost surely not a category column
_LABEL_NAMES = ("label", "labels", "sentiment", "class", "target", "y", "category", "polarity", "rating")
_TEXT_NAMES = ("text", "sentence", "review", "content", "body", "comment", "tweet", "document", "message")
FORMATS = {".csv": ",", ".tsv": "\t", ".txt": "\t", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV/TSV/JSONL file into a DataFrame, with a plain error for every way it can fail."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"The file '{path}' does not exist.", "Check the path, or upload the file again.")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"The file '{path.name}' is empty.", "Choose a file with a header row and at least a few rows of data.")
    if size > MAX_BYTES:
        raise DataError(f"The file '{path.name}' is {size / 1e9:.1f} GB, more than the {MAX_BYTES // 2**20} MB limit.",
                        "Use a sample of its rows (for example the first 100,000) and upload that.")
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise DataError(f"The file '{path.name}' is a binary file, not a text table.",
                        "Upload a CSV, TSV or JSONL file saved as text.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"The file '{path.name}' is not UTF-8 text (bad byte at position {exc.start}).",
                        "Save it again as UTF-8 (in Excel: Save As → 'CSV UTF-8') and upload it again.") from None
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        kind = "jsonl" if text.lstrip().startswith("{") else _sniff_delimiter(text)
    try:
        if kind == "jsonl":
            df = pd.read_json(io.StringIO(text), lines=True)
        else:
            df = pd.read_csv(io.StringIO(text), sep=kind, dtype=str, keep_default_na=True,
                             quoting=csv.QUOTE_MINIMAL, on_bad_lines="error")
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"The file '{path.name}' could not be read as a {'JSON lines' if kind == 'jsonl' else 'table'}: {str(exc).splitlines()[0]}",
                        "Check that every row has the same number of columns and the first row is a header.") from None
    if df.empty or len(df.columns) == 0:
        raise DataError(f"The file '{path.name}' has no rows of data.", "Add rows below the header row.")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def detect_columns(df: pd.DataFrame) -> tuple[str, str]:
    """Guess (text column, label column); raises a DataError if there is no text column."""
    text_col = _detect_text_column(df)
    label_col = _detect_label_column(df, exclude=text_col)
    return text_col, label_col


def _detect_text_column(df: pd.DataFrame) -> str:
    for name in df.columns:
        if name.lower() in _TEXT_NAMES and _is_texty(df[name]):
            return name
    scores = {c: _mean_words(df[c]) for c in df.columns if _is_texty(df[c])}
    best = max(scores, key=scores.get, default=None)
    if best is None or scores[best] < 2:
        raise DataError("No column of this file holds sentences of text.",
                        "Use a file with one column of text (a sentence or review per row) and one column of labels.")
    return best


def _detect_label_column(df: pd.DataFrame, exclude: str) -> str:
    others = [c for c in df.columns if c != exclude]
    if not others:
        raise DataError("The file has a text column but no column of labels.",
                        "Add a column that says the class of each row (for example 'label' with positive/negative).")
    for name in others:
        if name.lower() in _LABEL_NAMES:
            return name
    distinct = {c: df[c].nunique(dropna=True) for c in others}
    fitting = [c for c in others if 2 <= distinct[c] <= MAX_CLASSES]
    return min(fitting or others, key=lambda c: distinct[c])


def _is_texty(col: pd.Series) -> bool:
    sample = col.dropna().head(200)
    return len(sample) > 0 and all(isinstance(v, str) for v in sample)


def _mean_words(col: pd.Series) -> float:
    sample = col.dropna().astype(str).head(500)
    return float(sample.str.split().str.len().mean()) if len(sample) else 0.0


def column_summary(df: pd.DataFrame) -> list[dict]:
    """One row per column (name, distinct values, mean words, example) to help pick columns."""
    return [{"column": c, "distinct values": int(df[c].nunique(dropna=True)),
             "mean words": round(_mean_words(df[c]), 1) if _is_texty(df[c]) else 0.0,
             "example": str(df[c].dropna().iloc[0])[:80] if df[c].notna().any() else ""} for c in df.columns]
