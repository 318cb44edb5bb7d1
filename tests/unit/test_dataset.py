"""Dataset SPECs, the built-in set, labels, and the stratified, seeded train/val/test split."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data.dataset import list_datasets, load_dataset, parse_spec
from bigmodel_core.data.labels import encode_labels, split_indices
from bigmodel_core.errors import DataError


def test_spec_with_columns_is_parsed():
    assert parse_spec("csv:/data/shop reviews.csv#text=body,label=stars") == (
        "csv", "/data/shop reviews.csv", {"text": "body", "label": "stars"})
    assert parse_spec("builtin:synthetic_reviews") == ("builtin", "synthetic_reviews", {})


@pytest.mark.parametrize("spec, hint_word", [("cvs:reviews.csv", "csv"), ("reviews.csv", "builtin:"),
                                             ("builtin:", "builtin:"), ("builtn:synthetic_reviews", "builtin")])
def test_bad_spec_is_a_plain_error_with_a_hint(spec, hint_word):
    with pytest.raises(DataError) as err:
        parse_spec(spec)
    assert err.value.message and hint_word in err.value.hint


def test_unknown_builtin_suggests_the_closest():
    with pytest.raises(DataError) as err:
        load_dataset(DataConfig(spec="builtin:synthetic_review"))
    assert "synthetic_review" in err.value.message
    assert "synthetic_reviews" in err.value.hint


def test_columns_named_in_the_spec_are_used(tmp_path, review_texts):
    texts, labels = review_texts(60)
    df = pd.DataFrame({"title": [f"title {i} of a film" for i in range(60)], "body": texts,
                       "stars": [1 + i % 5 for i in range(60)], "mood": labels})
    path = tmp_path / "shop.csv"
    df.to_csv(path, index=False)
    ds = load_dataset(DataConfig(spec=f"csv:{path}#text=body,label=mood"))
    assert ds.text_column == "body" and ds.label_column == "mood"
    assert ds.texts == texts
    assert ds.class_names == ["negative", "positive"]


def test_list_datasets_includes_the_offline_builtin():
    specs = {d["spec"]: d for d in list_datasets()}
    assert specs["builtin:synthetic_reviews"]["offline"] is True
    assert all(d["title"] and d["description"] for d in specs.values())
    json.dumps(list(specs.values()))


def test_builtin_reviews_load_offline_balanced_and_split():
    ds = load_dataset(DataConfig(max_rows=600))
    assert ds.class_names == ["negative", "positive"]
    assert len(ds.texts) == 600
    counts = np.bincount(ds.labels)
    assert abs(counts[0] - counts[1]) < 100
    summary = ds.summary()
    assert summary["rows"] == 600 and sum(summary["class_counts"].values()) == 600
    assert summary["split"] == {"train": 480, "val": 60, "test": 60}
    json.dumps(summary)


def test_max_rows_sample_is_seeded():
    a = load_dataset(DataConfig(max_rows=200, seed=1))
    b = load_dataset(DataConfig(max_rows=200, seed=1))
    c = load_dataset(DataConfig(max_rows=200, seed=2))
    assert a.texts == b.texts
    assert a.texts != c.texts


def test_labels_are_encoded_with_sorted_class_names():
    ids, names = encode_labels(pd.Series(["pos", "neg", " pos", "neutral"]))
    assert names == ["neg", "neutral", "pos"]
    assert ids.tolist() == [2, 0, 2, 1]


# --- split ----------------------------------------------------------------------------------------
def test_split_is_disjoint_covers_every_row_and_is_stratified():
    labels = np.array([0] * 300 + [1] * 200 + [2] * 100)
    split = split_indices(labels, 0.1, 0.2, seed=0)
    parts = [split["train"], split["val"], split["test"]]
    joined = np.concatenate(parts)
    assert len(joined) == len(set(joined.tolist())) == 600
    assert sorted(joined.tolist()) == list(range(600))
    assert [len(p) for p in parts] == [420, 60, 120]
    for part in parts:
        share = np.bincount(labels[part], minlength=3) / len(part)
        np.testing.assert_allclose(share, [0.5, 1 / 3, 1 / 6], atol=0.02)


def test_split_is_seeded():
    labels = np.array([0, 1] * 100)
    a, b, c = (split_indices(labels, 0.1, 0.1, seed=s) for s in (4, 4, 5))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["val"], c["val"])


def test_split_without_validation_or_test_keeps_everything_for_training():
    split = split_indices(np.array([0, 1] * 10), 0.0, 0.0, seed=0)
    assert len(split["train"]) == 20 and len(split["val"]) == 0 and len(split["test"]) == 0


def test_too_few_rows_to_split_is_a_plain_error():
    with pytest.raises(DataError) as err:
        split_indices(np.array([0, 1, 0]), 0.3, 0.3, seed=0)
    assert err.value.hint


def test_tiny_classes_still_split():
    labels = np.array([0] * 30 + [1] * 2)
    split = split_indices(labels, 0.1, 0.1, seed=0)
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(32))


def test_small_file_with_many_classes_still_splits(tmp_path, review_texts):
    # 20 rows, 5 classes of 4: the hint of the "too few rows" error says 20 rows are enough,
    # but sklearn cannot stratify a 2-row test set over 5 classes.
    texts, _ = review_texts(20)
    path = tmp_path / "five.csv"
    pd.DataFrame({"text": texts, "label": [f"c{i % 5}" for i in range(20)]}).to_csv(path, index=False)
    ds = load_dataset(DataConfig(spec=f"csv:{path}"))
    assert len(ds.class_names) == 5
    assert sorted(np.concatenate(list(ds.split.values())).tolist()) == list(range(20))
    assert len(ds.split["train"]) >= 14
