"""The bad-input matrix on the pages: each bad upload or control value shows one plain sentence and a hint,
the page keeps answering, and the workspace holds exactly what it held before (no rejected upload is kept)."""
from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from apphelpers import SMALL_DATA, texts


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _huge_header_npz() -> bytes:
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (200000, 4096, 4096), }"
    header = header + " " * (63 - (len(header) + 10) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + b"\x00" * 64
    return _zip({"images.npy": npy, "labels.npy": b""})


TABLES = {
    "empty file": ("reviews.csv", b""),
    "binary file": ("reviews.csv", b"\x00\x01\x02\x03" * 64),
    "not UTF-8": ("reviews.csv", "text,label\ncaf\xe9,pos\nthe worst film,neg\n".encode("latin-1")),
    "only a header": ("reviews.csv", b"text,label\n"),
    "no label column": ("reviews.csv", b"text\n" + b"a long enough sentence of words\n" * 20),
    "no text column": ("reviews.csv", b"a,b\n" + b"1,2\n" * 20),
    "ragged rows": ("reviews.tsv", b"text\tlabel\na good film\tpos\nbad\tneg\tx\ty\n"),
    "broken JSON line": ("reviews.jsonl", b'{"text": "a good film", "label": 1}\n{"text": \n'),
    "JSON line that is a list": ("reviews.jsonl", b'{"text": "a good film", "label": 1}\n[1, 2]\n'),
    "a name that climbs out": ("../../etc/reviews.csv", b""),
}

IMAGES = {
    "zip with no class folders": ("pets.zip", _zip({"readme.txt": b"hello"})),
    "zip with one class": ("pets.zip", _zip({"cats/readme.txt": b"no image"})),
    "zip slip": ("pets.zip", _zip({"../../evil/1.png": b"x", "cats/1.png": b"x"})),
    "zip bomb": ("pets.zip", _zip({"cats/1.png": b"\x00" * 50_000_000, "dogs/1.png": b"\x00" * 1000})),
    "not a zip": ("pets.zip", b"this is not a zip"),
    "npz that is not a zip": ("digits.npz", b"nonsense"),
    "npz claiming terabytes": ("digits.npz", _huge_header_npz()),
    "npz of pickled objects": ("digits.npz", _npz(images=np.array([None, 1], dtype=object), labels=np.zeros(2))),
    "npz without labels": ("digits.npz", _npz(pictures=np.zeros((4, 8, 8), dtype=np.uint8))),
    "npz of the wrong shape": ("digits.npz", _npz(images=np.zeros((4,), dtype=np.uint8), labels=np.zeros(4))),
}


def assert_plain_error_and_unchanged(at, workspace: Path, before: dict[str, str]) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and texts(at.error)[0].endswith((".", ")")), texts(at.error)
    assert at.info, "a hint says what to do"
    assert all(e.label != "Technical details" for e in at.expander), "a user mistake is not shown as a crash"
    assert snapshot(workspace) == before
    at.run()  # the page keeps answering
    assert not at.exception


@pytest.mark.parametrize("case", TABLES)
def test_a_bad_table_upload_is_a_plain_error_and_nothing_is_kept(open_page, workspace, case):
    at = open_page("data", data_cfg=SMALL_DATA)
    at.radio(key="data_source").set_value("csv").run()
    before = snapshot(workspace)
    name, data = TABLES[case]
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv")).run()
    assert_plain_error_and_unchanged(at, workspace, before)


@pytest.mark.parametrize("case", IMAGES)
def test_a_bad_image_upload_is_a_plain_error_and_nothing_is_kept(open_page, workspace, case):
    at = open_page("data", data_cfg=SMALL_DATA)
    at.radio(key="data_kind").set_value("image").run()
    at.radio(key="data_image_source").set_value("upload").run()
    before = snapshot(workspace)
    name, data = IMAGES[case]
    at.file_uploader(key="data_image_upload").set_value((name, data, "application/octet-stream")).run()
    assert_plain_error_and_unchanged(at, workspace, before)


def test_a_bad_list_of_filter_widths_on_the_model_page_is_a_plain_error(open_page, workspace):
    at = open_page("model", data_cfg=SMALL_DATA)
    at.selectbox(key="model_name").set_value("textcnn").run()
    before = snapshot(workspace)
    at.text_input(key="model_textcnn_widths").set_value("3,x,5").run()
    assert not at.exception
    assert any("widths" in e for e in texts(at.error))
    assert snapshot(workspace) == before


def test_an_empty_sentence_on_the_predict_page_is_a_plain_message(open_page, trained_run, workspace):
    trained_run("good-run")
    at = open_page("predict")
    before = snapshot(workspace)
    at.text_input(key="predict_text").set_value("   ").run()
    assert not at.exception
    assert texts(at.error) == ["The text to classify is empty."]
    assert snapshot(workspace) == before
