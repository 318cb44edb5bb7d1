"""Fuzzing the file readers: whatever bytes a user uploads, the answer is a result or a DataError, never a crash."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bigmodel_core.data.text import tables
from bigmodel_core.data.images.archives import decode_image, open_image_files
from bigmodel_core.data.images.npz import read_npz
from bigmodel_core.errors import BigModelError

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Text made of the characters the parsers care about finds more paths than random bytes alone.
TABLE_TEXT = st.lists(st.sampled_from(list(',;\t|"\'\n\r{}[]:\\ aé1.-\u2028') + ["true", "null", '"text"']),
                      max_size=120).map(lambda t: "".join(t).encode("utf-8"))
MUTATIONS = st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=6)


def answers_or_refuses(read, *args) -> None:
    """The property: `read(*args)` returns, or raises a BigModelError; any other exception fails the test."""
    try:
        read(*args)
    except BigModelError as err:
        assert err.message.strip() and err.hint.strip()


def mutate(data: bytes, changes: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in changes:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut else out)


def npz_bytes(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    save = np.savez_compressed if compressed else np.savez
    save(buffer, images=np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3), labels=np.array(["a", "b"]))
    return buffer.getvalue()


def zip_bytes(compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for i, name in enumerate(["cats/1.png", "cats/2.png", "dogs/1.png", "dogs/2.png"]):
            pic = io.BytesIO()
            Image.new("L", (4, 4), 60 * i).save(pic, format="PNG")
            archive.writestr(name, pic.getvalue())
    return buffer.getvalue()


VALID_NPZ = [npz_bytes(False), npz_bytes(True)]
VALID_ZIPS = [zip_bytes(zipfile.ZIP_STORED), zip_bytes(zipfile.ZIP_DEFLATED)]


def read_table_and_columns(path: Path) -> None:
    df = tables.read_table(path)
    tables.column_summary(df)
    tables.detect_columns(df)


def read_every_image(path: Path) -> None:
    with open_image_files(path) as files:
        for i in range(len(files)):
            decode_image(files.read(i), files.names[i])


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".txt"])
@FUZZ
@given(data=st.one_of(st.binary(max_size=400), TABLE_TEXT))
def test_any_bytes_as_a_table_are_read_or_refused_plainly(tmp_path, suffix, data):
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(data)
    answers_or_refuses(read_table_and_columns, path)


ARCHIVES = {"npz": lambda: (read_npz, VALID_NPZ), "zip": lambda: (read_every_image, VALID_ZIPS)}


@pytest.mark.parametrize("kind", ARCHIVES)
@FUZZ
@given(data=st.binary(max_size=600))
def test_any_bytes_as_an_archive_are_refused_plainly(tmp_path, kind, data):
    reader, _ = ARCHIVES[kind]()
    path = tmp_path / f"upload.{kind}"
    path.write_bytes(data)
    answers_or_refuses(reader, path)


@pytest.mark.parametrize("kind", ARCHIVES)
@FUZZ
@given(which=st.sampled_from([0, 1]), changes=MUTATIONS, cut=st.none() | st.integers(1, 4000))
def test_damaged_archives_are_read_or_refused_plainly(tmp_path, kind, which, changes, cut):
    reader, valid = ARCHIVES[kind]()
    path = tmp_path / f"upload.{kind}"
    path.write_bytes(mutate(valid[which], changes, cut))
    answers_or_refuses(reader, path)


HEADER_TEXT = st.one_of(
    st.lists(st.sampled_from(list("{}()[]',:0123456789-Le ") + ["'descr'", "'shape'", "'fortran_order'",
                                                               "True", "'|u1'", "'|O'", "'<U0'", "'|V0'"]),
             max_size=60).map("".join),
    st.builds(lambda descr, shape: f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}",
              st.sampled_from(["|u1", "<f4", "|O", "<U0", "|V0", "<U99999999999", "S5", [("a", "|O")], "x"]),
              st.lists(st.integers(-2, 2**64), max_size=4).map(tuple)),
)


@FUZZ
@given(header=HEADER_TEXT, body=st.binary(max_size=64))
def test_any_npy_header_is_read_or_refused_plainly(tmp_path, header, body):
    npy = np.lib.format.magic(1, 0) + len(header.encode("latin-1", "replace")).to_bytes(2, "little")
    npy += header.encode("latin-1", "replace") + body
    path = tmp_path / "upload.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images.npy", npy)
        archive.writestr("labels.npy", npy)
    answers_or_refuses(read_npz, path)




# --- what the fuzzing found, kept as plain examples ---------------------------------------------


def patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def test_zip_with_a_nameless_entry_is_refused_plainly(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cats/1.png", b"x")
        archive.writestr(zipfile.ZipInfo(""), b"y")  # zipfile's is_dir() fails on an empty name
    for name, read in (("a.zip", read_every_image), ("a.npz", read_npz)):
        (tmp_path / name).write_bytes(buffer.getvalue())
        with pytest.raises(BigModelError, match="has no name"):
            read(tmp_path / name)


def test_zip_needing_a_newer_unzip_version_is_refused_plainly(tmp_path):
    data = VALID_ZIPS[0]
    central = data.find(b"PK\x01\x02")
    (tmp_path / "new.zip").write_bytes(patched(data, central + 6, (64).to_bytes(2, "little")))  # "version 6.4"
    with pytest.raises(BigModelError, match="damaged"):
        read_every_image(tmp_path / "new.zip")


def test_zip_entry_whose_local_name_is_not_utf8_is_refused_plainly(tmp_path):
    data = VALID_ZIPS[0]
    flags = int.from_bytes(data[6:8], "little") | 0x800  # "the name is UTF-8" in the first local header
    data = patched(patched(data, 6, flags.to_bytes(2, "little")), 30 + 5, b"\x89")
    (tmp_path / "bad.zip").write_bytes(data)
    with pytest.raises(BigModelError, match="could not be read"):
        read_every_image(tmp_path / "bad.zip")


def test_table_with_a_header_of_thousands_of_columns_is_refused(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_text(";".join('"a"' for _ in range(30_000)) + "\n")  # pandas stalls on a header this wide
    with pytest.raises(BigModelError, match="or more columns, more than the 1,000"):
        tables.read_table(path)


def test_columns_that_are_one_name_once_stripped_are_told_apart(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("text, text,label\n" + "a fine film,a good one,pos\na dull film,a bad one,neg\n" * 5)
    df = tables.read_table(path)  # ' text' stripped was a second 'text': df['text'] was two columns
    assert list(df.columns) == ["text", "text.1", "label"]
    assert tables.detect_columns(df) == ("text", "label") and len(tables.column_summary(df)) == 3


# --- the settings parser ---------------------------------------------------------------------------
SETTING_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["nan", "inf", "-inf", "1e309", "0x10", "1_000", " 3 ",
                                                              "true", "None", "3,4,x", ",,", "-0", "1e-400", "٣"]))


@FUZZ
@given(key=st.sampled_from(["lr", "epochs", "batch_size", "dropout", "grad_clip", "max_rows", "optimizer", "lowercase",
                            "hidden", "widths", "embed_dim", "schedule", "seed"]), text=SETTING_TEXT)
def test_any_setting_text_is_a_checked_value_or_a_plain_error(key, text):
    """What `--set key=value` does with any text: a value inside the declared range, or a ConfigError."""
    from bigmodel_core.config import DataConfig, TrainConfig
    from bigmodel_core.errors import ConfigError
    from bigmodel_core.models import model_entry
    from bigmodel_core.settings import field_setting

    spec = field_setting(TrainConfig, key) or field_setting(DataConfig, key)
    entry = model_entry("textcnn" if key == "widths" else "lstm")
    if spec is None:
        spec = entry.setting(key)
    try:
        value = spec.parse(key, text)
    except ConfigError as err:
        assert err.message and err.hint
        return
    assert spec.check(key, value) == value  # what parse lets through is inside the declared range
