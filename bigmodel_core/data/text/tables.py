"""Uploaded tables (CSV / TSV / JSONL): safe reading and text/label column detection."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from ...errors import DataError, msg

MAX_BYTES = 200 * 1024 * 1024  # larger files would stall a classroom server; sample them first
MAX_CLASSES = 100  # more distinct labels than this is almost surely not a category column
MAX_COLUMNS = 1000  # a table of texts and labels has a handful; thousands are a wrong delimiter and stall pandas
_LABEL_NAMES = ("label", "labels", "sentiment", "class", "target", "y", "category", "polarity", "rating",
                "标签", "类别", "情感", "分类", "极性")
_TEXT_NAMES = ("text", "sentence", "review", "content", "body", "comment", "tweet", "document", "message",
               "文本", "句子", "评论", "评价", "内容", "正文", "留言")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
CJK_CHARS_PER_WORD = 1.5  # a Chinese word is about one and a half characters; the text has no spaces between them
FORMATS = {".csv": ",", ".tsv": "\t", ".txt": "\t", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
DELIMITERS = {",": msg("engine.tables.commas", "commas (,)"), ";": msg("engine.tables.semicolons", "semicolons (;)"),
              "\t": msg("engine.tables.tabs", "tabs"), "|": msg("engine.tables.bars", "vertical bars (|)")}
JSONL_HINT = msg("errors.tables.jsonl.hint", "Each line must be one JSON object like {example}; "
                 "fix or remove that line and upload the file again.",
                 example='{"text": "a fine film", "label": "positive"}')
SAMPLE_HINT = msg("errors.tables.too_big.hint", "Use a sample of its rows (for example the first 100,000) and upload "
                  "that.")


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV/TSV/JSONL file into a DataFrame, with a plain error for every way it can fail.

    The delimiter is read from the content when the extension's one plainly does not fit
    (Excel in much of Europe saves "CSV" files with ';').
    """
    path = Path(path)
    if not path.exists():
        raise DataError(msg("errors.tables.missing", "The file '{path}' does not exist.", path=str(path)),
                        msg("errors.tables.missing.hint", "Check the path, or upload the file again."))
    size = path.stat().st_size
    if size == 0:
        raise DataError(msg("errors.tables.empty", "The file '{name}' is empty.", name=path.name),
                        msg("errors.tables.empty.hint", "Choose a file with a header row and at least a few rows of "
                            "data."))
    if size > MAX_BYTES:
        raise DataError(msg("errors.tables.too_big", "The file '{name}' is {gb:.1f} GB, more than the {limit} MB "
                            "limit.", name=path.name, gb=size / 1e9, limit=MAX_BYTES // 2**20), SAMPLE_HINT)
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise DataError(msg("errors.tables.binary", "The file '{name}' is a binary file, not a text table.",
                            name=path.name),
                        msg("errors.tables.binary.hint", "Upload a CSV, TSV or JSONL file saved as text."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(msg("errors.tables.not_utf8", "The file '{name}' is not UTF-8 text (bad byte at position "
                            "{position}).", name=path.name, position=exc.start),
                        msg("errors.tables.not_utf8.hint",
                            "Save it again as UTF-8 (in Excel: Save As → 'CSV UTF-8') and upload it again.")) from None
    kind = FORMATS.get(path.suffix.lower())
    if kind is None and text.lstrip().startswith("{"):
        kind = "jsonl"
    df = _read_json_lines(text, path.name) if kind == "jsonl" else _read_delimited(text, path.name, kind)
    if df.empty or len(df.columns) == 0:
        raise DataError(msg("errors.tables.no_rows", "The file '{name}' has no rows of data.", name=path.name),
                        msg("errors.tables.no_rows.hint", "Add rows below the header row."))
    df.columns = _unique_names([str(c).strip() for c in df.columns])
    return df


def _read_delimited(text: str, name: str, declared: str | None) -> pd.DataFrame:
    sep, width = _choose_delimiter(text, declared)
    if width > MAX_COLUMNS:
        raise _too_many_columns(name, width)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=True,
                           quoting=csv.QUOTE_MINIMAL, on_bad_lines="error")
    except (ValueError, pd.errors.ParserError, csv.Error) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = reason.removeprefix("Error tokenizing data. ").removeprefix("C error: ")
        how = DELIMITERS[sep]
        raise DataError(msg("errors.tables.bad_rows", "The file '{name}' could not be read as a table with columns "
                            "separated by {how}: {reason}.", name=name, how=how, reason=reason),
                        msg("errors.tables.bad_rows.hint", "Give every row as many {how} as the header row, put double "
                            "quotes around any text that holds one, or save the file again as 'CSV UTF-8' with commas.",
                            how=how)) from None


def _choose_delimiter(text: str, declared: str | None) -> tuple[str, int]:
    """(delimiter, header columns): the extension's one, unless it leaves the header as one column
    and another delimiter (sniffed, else the one giving most columns) splits it."""
    sample = text[:65536].lstrip("\r\n")
    widths = {d: _header_width(sample, d) for d in DELIMITERS}
    if declared in widths and widths[declared] > 1:
        return declared, widths[declared]
    sniffed = _sniff_delimiter(sample[:8192])
    if sniffed in widths and widths[sniffed] > 1:
        return sniffed, widths[sniffed]
    widest = max(DELIMITERS, key=widths.__getitem__)  # ties: the first of DELIMITERS
    if widths[widest] > 1:
        return widest, widths[widest]
    sep = declared if declared in widths else ","  # one column, whatever the delimiter
    return sep, widths[sep]


def _header_width(sample: str, sep: str) -> int:
    """How many columns the first row has when split at `sep` (quotes respected)."""
    try:
        return len(next(csv.reader(io.StringIO(sample), delimiter=sep), []))
    except csv.Error:
        return 0


def _sniff_delimiter(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return None


def _read_json_lines(text: str, name: str) -> pd.DataFrame:
    """One JSON object per line; a whole file that is one JSON list of objects is read too."""
    if text.lstrip().startswith("["):
        try:
            whole = json.loads(text)
        except (ValueError, RecursionError):
            whole = None
        if isinstance(whole, list) and whole and all(isinstance(r, dict) for r in whole):
            return _records_frame(whole, name)
    records = []
    # split at "\n" only: splitlines() would also cut at U+2028, which JSON allows inside strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(msg("errors.tables.bad_json", "Line {line} of '{name}' is not valid JSON ({reason} at "
                                "column {column}).", line=number, name=name, reason=exc.msg, column=exc.colno),
                            JSONL_HINT) from None
        except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, or deep nesting
            raise DataError(msg("errors.tables.unreadable_json", "Line {line} of '{name}' could not be read as JSON "
                                "({error}).", line=number, name=name, error=type(exc).__name__), JSONL_HINT) from None
        if not isinstance(record, dict):
            snippet = line.strip()[:40]
            raise DataError(msg("errors.tables.not_an_object", "Line {line} of '{name}' is {kind} ({snippet}), not a "
                                "JSON object with named fields.", line=number, name=name, kind=_json_kind(record),
                                snippet=snippet), JSONL_HINT)
        records.append(record)
    return _records_frame(records, name)


def _too_many_columns(name: str, count: int) -> DataError:
    return DataError(msg("errors.tables.too_many_columns", "The file '{name}' has {count:,} or more columns, more than "
                         "the {most:,} a table of texts and labels could need.", name=name, count=count,
                         most=MAX_COLUMNS),
                     msg("errors.tables.too_many_columns.hint", "Check that its first row is a header of column names, "
                         "or keep only the text and label columns."))


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return msg("engine.tables.json_list", "a list")
    if isinstance(value, bool) or value is None:
        return msg("engine.tables.json_constant", "true, false or null")
    if isinstance(value, str):
        return msg("engine.tables.json_text", "a text")
    return msg("engine.tables.json_number", "a number")


def _records_frame(records: list[dict], name: str) -> pd.DataFrame:
    """Rows from JSON objects; nested lists/objects are kept as their JSON text (a cell holds one value)."""
    count = len(set().union(*records))
    if count > MAX_COLUMNS:
        raise _too_many_columns(name, count)
    return pd.DataFrame([{k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()}
                         for r in records])


def _unique_names(names: list[str]) -> list[str]:
    """Column names made unique (' a' and 'a' are one name once stripped): later ones get '.1', '.2'."""
    seen: set[str] = set()
    out = []
    for name in names:
        new, i = name, 0
        while new in seen:
            i += 1
            new = f"{name}.{i}"
        seen.add(new)
        out.append(new)
    return out


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
        raise DataError(msg("errors.tables.no_text_column", "No column of this file holds sentences of text."),
                        msg("errors.tables.no_text_column.hint", "Use a file with one column of text (a sentence or "
                            "review per row) and one column of labels."))
    return best


def _detect_label_column(df: pd.DataFrame, exclude: str) -> str:
    others = [c for c in df.columns if c != exclude]
    if not others:
        raise DataError(msg("errors.tables.no_label_column", "The file has a text column but no column of labels."),
                        msg("errors.tables.no_label_column.hint", "Add a column that says the class of each row "
                            "(for example 'label' with positive/negative)."))
    for name in others:
        if name.lower() in _LABEL_NAMES:
            return name
    distinct = {c: df[c].nunique(dropna=True) for c in others}
    fitting = [c for c in others if 2 <= distinct[c] <= MAX_CLASSES]
    return min(fitting or others, key=lambda c: distinct[c])


def _is_texty(col: pd.Series) -> bool:
    sample = col.dropna().head(200)
    return len(sample) > 0 and all(isinstance(v, str) for v in sample)


def _words(text: str) -> float:
    """About how many words a text holds: spaces split most languages; Chinese, Japanese and Korean script
    count by characters, since those texts need not have spaces."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + cjk / CJK_CHARS_PER_WORD


def _mean_words(col: pd.Series) -> float:
    sample = col.dropna().astype(str).head(500)
    return float(sample.map(_words).mean()) if len(sample) else 0.0


def column_summary(df: pd.DataFrame) -> list[dict]:
    """One row per column (name, distinct values, mean words, example) to help pick columns."""
    return [{"column": c, "distinct values": int(df[c].nunique(dropna=True)),
             "mean words": round(_mean_words(df[c]), 1) if _is_texty(df[c]) else 0.0,
             "example": str(df[c].dropna().iloc[0])[:80] if df[c].notna().any() else ""} for c in df.columns]
