"""Saved runs on disk, loading them without pickle, predicting, and evaluating on another file."""
from __future__ import annotations

import json
import pickle
import shutil
import struct

import numpy as np
import pandas as pd
import pytest
import torch

from bigmodel_core.data.text.synthetic import generate_reviews
from bigmodel_core.errors import BigModelError, DataError, InputError, RunError
from bigmodel_core.evaluate import evaluate_run
from bigmodel_core.runs.store import RUN_FILES, delete_run, list_runs, read_history, read_run
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.training.run import train_run

SENTENCES = ["a gripping film with a great cast", "not good at all, a boring film", "never boring", "dull"]


def test_run_folder_holds_config_history_vocab_and_weights(trained_run):
    path = trained_run["path"]
    assert sorted(p.name for p in path.iterdir()) == ["history.jsonl", "run.json", "vocab.json", "weights.safetensors"]
    assert set(p.name for p in path.iterdir()) <= set(RUN_FILES)
    info = json.loads((path / "run.json").read_text(encoding="utf-8"))
    assert info["id"] == "reviews-bag" and info["stopped"] is False
    assert info["config"]["model"]["name"] == "bag_of_embeddings"
    assert info["config"]["data"]["max_rows"] == 1500
    assert info["model_params"]["embed_dim"] == 16
    assert info["data_info"]["class_names"] == ["negative", "positive"]
    assert info["data_info"]["split"] == {"train": 1200, "val": 150, "test": 150}
    for key in ("val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1", "train_loss"):
        assert 0 <= info["metrics"][key] < 10, key
    assert len(info["val_report"]["confusion"]) == 2
    assert sum(map(sum, info["test_report"]["confusion"])) == 150
    for wrong in info["misclassified"]:
        assert wrong["true"] != wrong["predicted"] and wrong["text"]
    history = [json.loads(line) for line in (path / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history if r["kind"] == "epoch_end"] == [1, 2]
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["itos"][:2] == ["<pad>", "<unk>"] and len(vocab["itos"]) > 100


def test_weights_file_is_safetensors_not_pickle(trained_run):
    raw = (trained_run["path"] / "weights.safetensors").read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + header_len])
    assert "embedding.weight" in header
    assert header["embedding.weight"]["dtype"] == "F32"
    assert not raw.startswith(b"PK")  # not torch.save's zip of pickles


def test_loading_a_run_never_unpickles(trained_run, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("loading a run must not unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    predictor = load_bundle(trained_run["path"])
    assert predictor.predict_proba(SENTENCES).shape == (4, 2)


def test_list_runs_shows_the_saved_run(trained_run):
    runs = list_runs(trained_run["home"])
    assert [r.id for r in runs] == ["reviews-bag"]
    assert runs[0].path == str(trained_run["path"])
    assert read_run("reviews-bag", trained_run["home"]).metrics == trained_run["info"].metrics
    assert read_history("reviews-bag", trained_run["home"])[0]["kind"] == "fit_start"


def test_list_runs_skips_half_written_and_damaged_runs(own_copy_of_run, isolated_home):
    (isolated_home / "runs" / ".tmp-20990101-000000-lstm-beef").mkdir()
    broken = isolated_home / "runs" / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json", encoding="utf-8")
    assert [r.id for r in list_runs()] == [own_copy_of_run.name]


def test_newest_run_is_listed_first(reviews_csv, small_run_config):
    spec = f"csv:{reviews_csv()}"
    first = train_run(small_run_config(spec, epochs=1))
    second = train_run(small_run_config(spec, epochs=1))
    assert first.id != second.id
    ids = [r.id for r in list_runs()]
    assert set(ids) == {first.id, second.id}
    assert ids == sorted(ids, reverse=True)


def test_two_loads_predict_the_same(trained_run):
    a = load_bundle("reviews-bag", home=trained_run["home"]).predict_proba(SENTENCES)
    b = load_bundle(trained_run["path"]).predict_proba(SENTENCES)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(1), 1, rtol=1e-5)


def test_loaded_run_reproduces_its_saved_test_accuracy(trained_run):
    """The bundle predicts exactly what the trained model predicted before saving."""
    from bigmodel_core.data.dataset import load_dataset

    predictor = load_bundle(trained_run["path"])
    ds = load_dataset(trained_run["info"].config.data)
    texts, labels = ds.part("test")
    acc = float((predictor.predict_proba(texts).argmax(1) == labels).mean())
    assert acc == pytest.approx(trained_run["info"].metrics["test_accuracy"])


def test_predictions_come_back_in_input_order(trained_run):
    predictor = load_bundle(trained_run["path"])
    together = predictor.predict_proba(SENTENCES)
    one_by_one = np.concatenate([predictor.predict_proba([s]) for s in SENTENCES])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert predictor.predict_proba([]).shape == (0, 2)


def test_predict_gives_label_probabilities_and_marks_unknown_words(trained_run):
    out = load_bundle(trained_run["path"]).predict("A gripping film, zxqvw blorft!")
    assert out["prediction"] in ("negative", "positive")
    assert set(out["probabilities"]) == {"negative", "positive"}
    assert sum(out["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert max(out["probabilities"], key=out["probabilities"].get) == out["prediction"]
    known = {t["token"]: t["known"] for t in out["tokens"]}
    assert known["film"] is True and known["gripping"] is True
    assert known["zxqvw"] is False and known["blorft"] is False
    json.dumps(out)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_sentence_is_an_input_error(trained_run, text):
    with pytest.raises(InputError) as err:
        load_bundle(trained_run["path"]).predict(text)
    assert err.value.hint


def test_text_of_only_markup_is_an_input_error(trained_run):
    with pytest.raises(InputError) as err:
        load_bundle(trained_run["path"]).predict("<br /> http://example.com")
    assert err.value.hint


def test_deleted_run_is_a_run_error_with_a_hint(own_copy_of_run):
    shutil.rmtree(own_copy_of_run)
    with pytest.raises(RunError) as err:
        load_bundle(own_copy_of_run.name)
    assert own_copy_of_run.name in err.value.message and err.value.hint
    with pytest.raises(RunError):
        load_bundle("never-existed")


def test_delete_run_removes_it_from_the_list(own_copy_of_run):
    delete_run(own_copy_of_run.name)
    assert list_runs() == []
    with pytest.raises(RunError):
        delete_run(own_copy_of_run.name)


def test_run_with_missing_weights_is_a_run_error(own_copy_of_run):
    (own_copy_of_run / "weights.safetensors").unlink()
    with pytest.raises(RunError) as err:
        load_bundle(own_copy_of_run.name)
    assert err.value.hint


def test_run_with_truncated_weights_is_a_run_error(own_copy_of_run):
    # e.g. a run folder copied from a USB stick that was pulled out too early
    weights = own_copy_of_run / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(BigModelError) as err:
        load_bundle(own_copy_of_run.name)
    assert isinstance(err.value, RunError) and err.value.hint


def test_reusing_a_run_name_is_refused_and_keeps_the_first_run(reviews_csv, small_run_config, isolated_home):
    spec = f"csv:{reviews_csv()}"
    first = train_run(small_run_config(spec, name="mine", epochs=1))
    before = (isolated_home / "runs" / "mine" / "weights.safetensors").read_bytes()
    with pytest.raises(BigModelError) as err:
        train_run(small_run_config(spec, name="mine", epochs=1, seed=1))
    assert err.value.hint
    assert [r.id for r in list_runs()] == [first.id]
    assert (isolated_home / "runs" / "mine" / "weights.safetensors").read_bytes() == before
    assert sorted(p.name for p in (isolated_home / "runs").iterdir()) == ["mine"]


# --- evaluate on another file -------------------------------------------------------------------
def write_reviews(path, n=120, seed=11, labels=None):
    texts, gold = generate_reviews(n, seed=seed)
    pd.DataFrame({"review": texts, "sentiment": labels or gold}).to_csv(path, index=False)
    return path


def test_evaluate_on_another_file_with_the_same_labels(trained_run, tmp_path):
    path = write_reviews(tmp_path / "other.csv")
    res = evaluate_run(trained_run["path"], f"csv:{path}")
    assert res["run"] == "reviews-bag"
    assert res["metrics"]["rows"] == 120
    assert 0 <= res["metrics"]["accuracy"] <= 1 and 0 <= res["metrics"]["macro_f1"] <= 1
    confusion = np.array(res["report"]["confusion"])
    assert confusion.shape == (2, 2) and confusion.sum() == 120
    assert [c["class"] for c in res["report"]["per_class"]] == ["negative", "positive"]


def test_evaluate_accuracy_matches_the_predictors_answers(trained_run, tmp_path):
    # columns in another order and named differently: found by detection, classes mapped by name
    texts, gold = generate_reviews(60, seed=3)
    path = tmp_path / "reordered.csv"
    pd.DataFrame({"label": gold, "text": texts}).to_csv(path, index=False)
    predictor = load_bundle(trained_run["path"])
    predicted = np.array(predictor.class_names)[predictor.predict_proba(texts).argmax(1)]
    expected = float((predicted == np.array(gold)).mean())
    assert evaluate_run(trained_run["path"], f"csv:{path}")["metrics"]["accuracy"] == pytest.approx(expected)


def test_evaluate_on_a_file_with_only_one_of_the_classes(trained_run, tmp_path):
    # "how does my model do on these positive reviews?" needs no second class in the file
    texts, gold = generate_reviews(80, seed=8)
    positives = [t for t, g in zip(texts, gold) if g == "positive"]
    path = tmp_path / "positives.csv"
    pd.DataFrame({"text": positives, "label": ["positive"] * len(positives)}).to_csv(path, index=False)
    res = evaluate_run(trained_run["path"], f"csv:{path}")
    assert res["metrics"]["rows"] == len(positives)
    confusion = np.array(res["report"]["confusion"])
    assert confusion[0].sum() == 0 and confusion[1].sum() == len(positives)


def test_evaluate_with_an_unknown_label_names_it(trained_run, tmp_path):
    texts, gold = generate_reviews(60, seed=5)
    labels = ["mixed" if i % 10 == 0 else g for i, g in enumerate(gold)]
    path = write_reviews(tmp_path / "mixed.csv", n=60, seed=5, labels=labels)
    with pytest.raises(DataError) as err:
        evaluate_run(trained_run["path"], f"csv:{path}")
    assert "mixed" in err.value.message
    assert "negative" in err.value.hint and "positive" in err.value.hint


def test_evaluate_missing_run_is_a_run_error(tmp_path):
    path = write_reviews(tmp_path / "other.csv")
    with pytest.raises(RunError):
        evaluate_run("no-such-run", f"csv:{path}")


def test_loading_and_using_a_predictor_leaves_the_process_thread_count_alone(trained_run):
    import torch

    torch.set_num_threads(3)
    try:
        predictor = load_bundle(trained_run["path"])
        predictor.predict_proba(SENTENCES)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(1)


def test_a_run_without_a_test_split_is_saved_with_no_test_figures(reviews_csv, small_run_config, capsys):
    from bigmodel_core.__main__ import main

    code = main(["train", "--data", f"csv:{reviews_csv()}", "--model", "bag_of_embeddings", "--epochs", "1",
                 "--set", "test_fraction=0", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["metrics"]["test_accuracy"] is None and last["metrics"]["val_accuracy"] is not None
    assert load_bundle(last["run"]).predict_proba(SENTENCES).shape == (4, 2)
