"""Data page: the built-in set at a glance, the text->ids trace, an uploaded table, and bad files."""
import csv

import pytest
from apphelpers import SMALL_DATA, charts, texts



def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def write_csv(path, rows, header=("review", "sentiment", "topic")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def reviews_csv(tmp_path):
    """60 short reviews with a 2-class 'sentiment' column and a 3-class 'topic' column."""
    good = ["a great film with a warm story", "really enjoyed the acting and the music", "lovely, funny and moving"]
    bad = ["a dull film with a silly plot", "boring from start to finish", "not good at all, the acting was poor"]
    topics = ["drama", "comedy", "action"]
    rows = []
    for i in range(60):
        text = (good if i % 2 else bad)[i % 3] + f" number {i}"
        rows.append((text, "pos" if i % 2 else "neg", topics[i % 3]))
    return write_csv(tmp_path / "reviews.csv", rows)


def test_builtin_set_shows_size_classes_and_vocabulary(open_page):
    at = open_page("data", data_cfg=SMALL_DATA)
    m = metrics(at)
    assert m["Texts"] == "600"
    assert m["Classes"] == "2"
    assert m["Vocabulary"].endswith(" words") and int(m["Vocabulary"].split()[0].replace(",", "")) > 100
    assert m["Train / val / test"] == "480 / 60 / 60"
    assert at.radio(key="data_source").value == "builtin"


def test_builtin_set_says_it_is_synthetic(open_page):
    at = open_page("data", data_cfg=SMALL_DATA)
    assert any("synthetic" in t.lower() for t in texts(at.info))


def test_builtin_set_draws_class_balance_and_length_charts(open_page):
    at = open_page("data", data_cfg=SMALL_DATA)
    figs = charts(at)
    assert {k for k in figs if not k.startswith("course_")} == {"data_balance", "data_lengths"}
    balance = figs["data_balance"]["data"][0]
    assert balance["type"] == "bar" and sorted(balance["x"]) == ["negative", "positive"]
    assert sum(balance["y"]) == 600
    assert figs["data_lengths"]["data"][0]["type"] == "histogram"


def test_builtin_set_traces_one_text_from_raw_to_ids(open_page):
    at = open_page("data", data_cfg=SMALL_DATA)
    md = texts(at.markdown)
    raw = next(t for t in md if t.startswith("**1 · Raw text:**"))
    cleaned = next(t for t in md if t.startswith("**2 · Cleaned:**"))
    assert cleaned.split("**", 2)[2].strip() == raw.split("**", 2)[2].strip().lower()  # lowercasing is on
    assert any("Tokens → 4 · ids" in t for t in md)
    ids = at.dataframe[-1].value  # the last table: one row of ids, one column per token
    assert list(ids.index) == ["id"] and len(ids.columns) >= 3
    assert all(str(c).split(":", 1)[0].isdigit() for c in ids.columns)
    assert all(int(v) >= 1 for v in ids.iloc[0])
    assert at.session_state["data_cfg"]["spec"] == "builtin:synthetic_reviews"


def test_tokenizer_option_changes_the_trace(open_page):
    at = open_page("data", data_cfg=SMALL_DATA)
    at.checkbox(key="data_lower").uncheck().run()
    assert not at.exception
    md = texts(at.markdown)
    raw = next(t for t in md if t.startswith("**1 · Raw text:**")).split("**", 2)[2].strip()
    cleaned = next(t for t in md if t.startswith("**2 · Cleaned:**")).split("**", 2)[2].strip()
    assert cleaned == raw and cleaned != cleaned.lower()
    assert at.session_state["data_cfg"]["lowercase"] is False


def test_choosing_upload_without_a_file_asks_for_one(open_page):
    at = open_page("data", data_cfg=SMALL_DATA)
    at.radio(key="data_source").set_value("csv").run()
    assert not at.exception
    assert any("Upload a file to continue" in t for t in texts(at.info))
    assert not at.metric  # nothing about a dataset that is not there yet
    assert at.session_state["data_cfg"]["spec"] == "builtin:synthetic_reviews"  # the last good choice is kept


def test_uploaded_table_has_its_columns_detected(open_page, reviews_csv):
    at = open_page("data", data_cfg={"spec": f"csv:{reviews_csv}"})
    assert at.radio(key="data_source").value == "csv"
    assert any("60 rows" in t for t in texts(at.caption))
    summary = at.dataframe[0].value
    assert list(summary["column"]) == ["review", "sentiment", "topic"]
    assert at.selectbox(key="data_text_col").value == "review"
    assert at.selectbox(key="data_label_col").value == "sentiment"
    m = metrics(at)
    assert m["Texts"] == "60" and m["Classes"] == "2"
    assert sorted(charts(at)["data_balance"]["data"][0]["x"]) == ["neg", "pos"]
    saved = at.session_state["data_cfg"]
    assert (saved["spec"], saved["text_column"], saved["label_column"]) == (f"csv:{reviews_csv}", "review", "sentiment")


def test_changing_the_label_column_changes_the_classes(open_page, reviews_csv):
    at = open_page("data", data_cfg={"spec": f"csv:{reviews_csv}"})
    at.selectbox(key="data_label_col").set_value("topic").run()
    assert not at.exception
    assert metrics(at)["Classes"] == "3"
    assert sorted(charts(at)["data_balance"]["data"][0]["x"]) == ["action", "comedy", "drama"]
    assert at.session_state["data_cfg"]["label_column"] == "topic"


def test_same_column_for_text_and_label_is_a_plain_error(open_page, reviews_csv):
    at = open_page("data", data_cfg={"spec": f"csv:{reviews_csv}"})
    at.selectbox(key="data_label_col").set_value("review").run()
    assert not at.exception
    assert texts(at.error) == ["The text and the label must be different columns."]
    assert texts(at.info) == ["Choose another column for one of them."]
    assert not at.metric
    assert at.session_state["data_cfg"]["label_column"] == "sentiment"  # nothing kept from the failed step


def test_file_that_is_not_utf8_is_a_plain_error_with_a_hint(open_page, tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("text,label\ncaf\xe9 cr\xe8me tr\xe8s bon,pos\nmauvais film,neg\n".encode("latin-1"))
    at = open_page("data", data_cfg={"spec": f"csv:{bad}"})
    assert not at.exception
    errors = texts(at.error)
    assert len(errors) == 1 and "not UTF-8" in errors[0] and "latin1.csv" in errors[0]
    assert any("UTF-8" in t for t in texts(at.info))
    assert not at.expander or all(e.label != "Technical details" for e in at.expander)  # a user mistake, not a bug
    assert not at.metric


def test_file_with_a_single_class_is_a_plain_error_with_a_hint(open_page, tmp_path):
    one = write_csv(tmp_path / "one_class.csv", [(f"a fine film number {i}", "pos", "x") for i in range(30)])
    at = open_page("data", data_cfg={"spec": f"csv:{one}"})
    assert not at.exception
    assert texts(at.error) == ["Every row has the same label ('pos'), so there is nothing to tell apart."]
    assert texts(at.info) == ["Use data with at least two classes, or choose another label column."]
    assert all(e.label != "Technical details" for e in at.expander)
    assert not at.metric


def kept_uploads(workspace) -> list:
    uploads = workspace / "uploads"
    return sorted(p.name for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


def test_uploaded_semicolon_csv_is_kept_and_read_with_its_delimiter(open_page, workspace):
    at = open_page("data", data_cfg=SMALL_DATA)
    at.radio(key="data_source").set_value("csv").run()
    rows = "".join(f"{'un bon film, vraiment' if i % 2 else 'un film nul, hélas'} {i};{'pos' if i % 2 else 'neg'}\n"
                   for i in range(40))
    at.file_uploader(key="data_upload").set_value(("avis.csv", ("texte;label\n" + rows).encode(), "text/csv")).run()
    assert not at.exception and not at.error
    assert any("40 rows" in t for t in texts(at.caption))
    assert (at.selectbox(key="data_text_col").value, at.selectbox(key="data_label_col").value) == ("texte", "label")
    assert kept_uploads(workspace) == ["avis.csv"]


def test_rejected_upload_leaves_no_file(open_page, workspace):
    at = open_page("data", data_cfg=SMALL_DATA)
    at.radio(key="data_source").set_value("csv").run()
    broken = b'{"text": "a fine film", "label": 1}\n{"text": "a dull one", "label": 0}\n{"text": "a", \n'
    at.file_uploader(key="data_upload").set_value(("reviews.jsonl", broken, "application/json")).run()
    assert not at.exception
    assert [e for e in texts(at.error) if e.startswith("Line 3 of 'reviews.jsonl' is not valid JSON")]
    assert any(t.startswith("Each line must be one JSON object") for t in texts(at.info))
    assert kept_uploads(workspace) == []


def test_rejected_image_upload_leaves_no_file(open_page, workspace):
    import io
    import zipfile

    at = open_page("data", data_cfg=SMALL_DATA)
    at.radio(key="data_kind").set_value("image").run()
    at.radio(key="data_image_source").set_value("upload").run()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("only/readme.txt", "no images here")
    at.file_uploader(key="data_image_upload").set_value(("pets.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception
    assert any("no images inside class folders" in t for t in texts(at.error))
    assert kept_uploads(workspace) == []
