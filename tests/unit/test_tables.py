"""Uploaded tables: CSV/TSV/JSONL reading, text/label column detection, and a plain error for every bad file."""
from __future__ import annotations

import json

import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data import tables
from bigmodel_core.data.dataset import load_dataset
from bigmodel_core.errors import BigModelError, DataError

TEXTS = ["a gripping and moving story", "dull plot and clumsy acting", "it was fine I suppose",
         "superb cast and lovely music", "tedious from start to end", "an average film overall"]


def rows(n: int = 60) -> list[tuple[str, str]]:
    labels = ["positive", "negative", "neutral"]
    return [(f"{TEXTS[i % len(TEXTS)]} number {i}", labels[i % 3]) for i in range(n)]


def test_reads_csv_and_detects_review_and_stars_columns(tmp_path):
    path = tmp_path / "shop.csv"
    lines = ["id,review,stars"] + [f"{i},{t},{1 + i % 5}" for i, (t, _) in enumerate(rows(80))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    df = tables.read_table(path)
    assert list(df.columns) == ["id", "review", "stars"]
    assert tables.detect_columns(df) == ("review", "stars")
    ds = load_dataset(DataConfig(spec=f"csv:{path}"))
    assert ds.text_column == "review" and ds.label_column == "stars"
    assert ds.class_names == ["1", "2", "3", "4", "5"]
    assert len(ds.texts) == 80 and ds.texts[0].startswith("a gripping")


def test_reads_tsv(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{t}, with a comma\t{l}\n" for t, l in rows()), encoding="utf-8")
    ds = load_dataset(DataConfig(spec=f"tsv:{path}"))
    assert ds.class_names == ["negative", "neutral", "positive"]
    assert ds.texts[0].endswith(", with a comma")


def test_reads_jsonl_with_numeric_labels(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": i % 3}) + "\n" for i, (t, _) in enumerate(rows())),
                    encoding="utf-8")
    ds = load_dataset(DataConfig(spec=f"jsonl:{path}"))
    assert ds.class_names == ["0", "1", "2"]
    assert ds.labels[:6].tolist() == [0, 1, 2, 0, 1, 2]


def test_reads_excel_utf8_csv_with_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    body = "text,label\n" + "".join(f"{t} café,{l}\n" for t, l in rows())
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    ds = load_dataset(DataConfig(spec=f"csv:{path}"))
    assert ds.text_column == "text" and "café" in ds.texts[0]


def test_quoted_text_with_commas_and_newlines_is_one_field(tmp_path):
    path = tmp_path / "quoted.csv"
    body = "text,label\n" + "".join(f'"{t}, really,\nreally",{l}\n' for t, l in rows())
    path.write_text(body, encoding="utf-8")
    ds = load_dataset(DataConfig(spec=f"csv:{path}"))
    assert len(ds.texts) == 60 and ds.texts[0].endswith("really,\nreally")


def test_numeric_labels_written_differently_are_one_class_sorted_numerically(tmp_path):
    path = tmp_path / "nums.csv"
    values = ["1", "1.0", "2", "10", "2.0", "10"]
    path.write_text("text,label\n" + "".join(f"{t},{values[i % 6]}\n" for i, (t, _) in enumerate(rows())),
                    encoding="utf-8")
    ds = load_dataset(DataConfig(spec=f"csv:{path}"))
    assert ds.class_names == ["1", "2", "10"]


def test_label_column_detected_by_few_distinct_values_when_unnamed(tmp_path):
    path = tmp_path / "anon.csv"
    path.write_text("comment_text,mood\n" + "".join(f"{t},{l}\n" for t, l in rows()), encoding="utf-8")
    assert tables.detect_columns(tables.read_table(path)) == ("comment_text", "mood")


def test_column_summary_helps_pick_columns(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("review,stars\n" + "".join(f"{t},{1 + i % 5}\n" for i, (t, _) in enumerate(rows())),
                    encoding="utf-8")
    summary = {r["column"]: r for r in tables.column_summary(tables.read_table(path))}
    assert summary["stars"]["distinct values"] == 5
    assert summary["review"]["mean words"] > 3
    assert summary["review"]["example"].startswith("a gripping")


# --- every bad file is a DataError with a message and a hint ------------------------------------
GOOD = "".join(f"{t},{l}\n" for t, l in rows(40))
BAD_FILES = {
    "not-utf8": ("latin1.csv", ("text,label\n" + "café très bon film,pos\nun film nul,neg\n" * 10).encode("latin-1")),
    "binary": ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50),
    "empty": ("empty.csv", b""),
    "header-only": ("header.csv", b"text,label\n"),
    "no-text-column": ("numbers.csv", b"a,b,c\n" + b"1,2,3\n4,5,6\n" * 20),
    "no-label-column": ("texts.csv", ("text\n" + "".join(f"{t}\n" for t, _ in rows(40))).encode()),
    "one-class": ("one.csv", ("text,label\n" + "".join(f"{t},pos\n" for t, _ in rows(40))).encode()),
    "missing-label": ("missing.csv", ("text,label\n" + GOOD + "a film with no label,\n").encode()),
    "nan-label": ("nan.csv", ("text,label\n" + GOOD + "a film labelled NaN,NaN\n").encode()),
    "500-labels": ("many.csv", ("text,label\n" + "".join(f"film review number {i},c{i}\n" for i in range(500))).encode()),
    "ragged-rows": ("ragged.csv", ("text,label\n" + GOOD + "x,y,z,w\n").encode()),
    "broken-jsonl": ("broken.jsonl", b'{"text": "a fine film", "label": 1}\n{"text": oops\n'),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_gives_a_plain_error_with_a_hint(case, tmp_path):
    name, data = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec=f"csv:{path}"))
    assert isinstance(err.value, BigModelError)
    assert err.value.message.strip() and err.value.hint.strip()
    assert "Traceback" not in str(err.value)


def test_missing_labels_error_says_how_many_rows(tmp_path):
    path = tmp_path / "missing.csv"
    path.write_text("text,label\n" + GOOD + "no label here,\nnor here,\n", encoding="utf-8")
    with pytest.raises(DataError, match="2 rows"):
        load_dataset(DataConfig(spec=f"csv:{path}"))


def test_not_utf8_error_tells_how_to_save_as_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(BAD_FILES["not-utf8"][1])
    with pytest.raises(DataError) as err:
        tables.read_table(path)
    assert "UTF-8" in err.value.message and "UTF-8" in err.value.hint


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("text,label\n" + GOOD, encoding="utf-8")
    monkeypatch.setattr(tables, "MAX_BYTES", 100)

    def no_reading(*a, **k):
        raise AssertionError("a file over the limit must not be read")

    monkeypatch.setattr(type(path), "read_bytes", no_reading)
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec=f"csv:{path}"))
    assert "limit" in err.value.message and err.value.hint


def test_missing_file_is_a_plain_error(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec=f"csv:{tmp_path / 'nope.csv'}"))
    assert "nope.csv" in err.value.message and err.value.hint


def test_unknown_column_name_suggests_the_closest(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("review,stars\n" + GOOD, encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec=f"csv:{path}", text_column="reveiw", label_column="stars"))
    assert "reveiw" in err.value.message and "review" in err.value.hint
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec=f"csv:{path}#text=review,label=star"))
    assert "'star'" in err.value.message and "stars" in err.value.hint


def test_same_column_for_text_and_label_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("review,stars\n" + GOOD, encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec=f"csv:{path}#text=review,label=review"))
    assert err.value.hint
