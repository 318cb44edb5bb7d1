"""Uploaded tables: CSV/TSV/JSONL reading, text/label column detection, and a plain error for every bad file."""
from __future__ import annotations

import json

import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data.text import tables
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


# --- delimiters and JSON lines (hardening) ------------------------------------------------------


def test_semicolon_csv_is_read_with_its_delimiter(tmp_path):
    path = tmp_path / "x.csv"  # European Excel: ';' between columns, ',' inside the texts
    path.write_text("text;label\n" + "".join(f"{t}, vraiment;{l}\n" for t, l in rows()), encoding="utf-8")
    df = tables.read_table(path)
    assert list(df.columns) == ["text", "label"] and df["text"][0].endswith(", vraiment")
    ds = load_dataset(DataConfig(spec=f"csv:{path}"))
    assert ds.class_names == ["negative", "neutral", "positive"] and len(ds.texts) == 60


@pytest.mark.parametrize("name,sep", [("tabs.csv", "\t"), ("bars.csv", "|"), ("commas.tsv", ","), ("semi.txt", ";")])
def test_delimiter_is_read_from_the_content_when_the_extension_does_not_fit(tmp_path, name, sep):
    path = tmp_path / name
    path.write_text(f"text{sep}label\n" + "".join(f"{t}{sep}{l}\n" for t, l in rows()), encoding="utf-8")
    assert list(tables.read_table(path).columns) == ["text", "label"]


def test_comma_csv_with_semicolons_in_its_texts_keeps_the_comma(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("text,label\n" + "".join(f"{t}; {t};{l},{l}\n" for t, l in rows()), encoding="utf-8")
    df = tables.read_table(path)
    assert list(df.columns) == ["text", "label"] and ";" in df["text"][0]


def test_table_that_cannot_be_split_names_the_delimiter_tried(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text;label\n" + "".join(f"{t};{l}\n" for t, l in rows(10)) + "a;b;c;d\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        tables.read_table(path)
    assert "semicolons (;)" in err.value.message and "line 12" in err.value.message
    assert "semicolons (;)" in err.value.hint and "double quotes" in err.value.hint


def test_broken_jsonl_line_is_named(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "a fine film", "label": 1}\n\n{"text": "a", \n{"text": "b", "label": 0}\n')
    with pytest.raises(DataError) as err:
        tables.read_table(path)
    assert err.value.message.startswith("Line 3 of 'broken.jsonl' is not valid JSON")
    assert err.value.hint.startswith("Each line must be one JSON object") and '{"text":' in err.value.hint
    assert "columns" not in err.value.hint  # not the CSV hint


@pytest.mark.parametrize("line,kind", [("[1, 2]", "a list"), ("3", "a number"), ('"just text"', "a text"),
                                       ("null", "true, false or null")])
def test_jsonl_line_that_is_not_an_object_is_refused(tmp_path, line, kind):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a fine film", "label": 1}\n' + line + "\n")
    with pytest.raises(DataError) as err:
        tables.read_table(path)
    assert err.value.message.startswith(f"Line 2 of 'rows.jsonl' is {kind}") and "not a JSON object" in err.value.message
    assert '{"text":' in err.value.hint


def test_json_file_of_one_list_of_objects_is_read(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"text": t, "label": l, "meta": {"id": i}} for i, (t, l) in enumerate(rows())], indent=2))
    df = tables.read_table(path)
    assert tables.detect_columns(df) == ("text", "label")
    assert json.loads(df["meta"][3]) == {"id": 3}  # nested values are kept as JSON text, one value per cell


# --- uploads: a rejected file is not kept -------------------------------------------------------


def uploaded_files(home) -> list:
    return sorted(p for p in (home / "uploads").rglob("*")) if (home / "uploads").exists() else []


def test_rejected_upload_leaves_no_file(tmp_path):
    from bigmodel_core.data import uploads as lab

    with pytest.raises(DataError, match="Line 2"):
        lab.save_upload("broken.jsonl", b'{"text": "fine", "label": 1}\n{"text": oops\n', home=tmp_path,
                        check=lab.inspect_table)
    assert uploaded_files(tmp_path) == []


def test_upload_that_passes_its_check_is_kept(tmp_path):
    from bigmodel_core.data import uploads as lab

    data = ("text;label\n" + "".join(f"{t};{l}\n" for t, l in rows())).encode()
    path = lab.save_upload("x.csv", data, home=tmp_path, check=lab.inspect_table)
    assert path.read_bytes() == data and uploaded_files(tmp_path) == [path.parent, path]
    assert lab.inspect_table(path)["columns"] == ["text", "label"]


@pytest.mark.parametrize("name", ["", ".", "..", ".csv", ".hidden.csv", "../../evil.csv", "..\\..\\evil.csv",
                                  "/etc/passwd", "C:\\Users\\me\\x.csv", "ré sumé (1).csv", "a" * 300 + ".csv",
                                  "b." + "c" * 300, "x\x00.csv"])
def test_kept_upload_name_is_safe_and_bounded(tmp_path, name):
    from bigmodel_core.data import uploads as lab

    path = lab.save_upload(name, b"text,label\n", home=tmp_path)
    assert path.parent.parent == tmp_path.resolve() / "uploads" and path.is_file()
    assert path.name and not path.name.startswith(".") and len(path.name) <= 100
    assert set(path.name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if name.endswith(".csv"):
        assert path.name.endswith(".csv")
