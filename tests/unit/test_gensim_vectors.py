"""gensim's own KeyedVectors files (`model.wv.save`): loaded without running any pickled code."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from bigmodel_core.embeddings.vectors import load_vectors
from bigmodel_core.errors import DataError


def _gensim_kv(path, n: int = 4, dim: int = 5, **save_kwargs):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(dim)
    kv.add_vectors([f"w{i}" for i in range(n)], np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32))
    kv.save(str(path), **save_kwargs)
    return kv


def test_a_gensim_keyedvectors_file_loads_with_its_words_and_vectors(tmp_path):
    saved = _gensim_kv(tmp_path / "small.kv")
    kv = load_vectors(tmp_path / "small.kv")
    assert kv.bigmodel["format"] == "gensim" and kv.index_to_key == saved.index_to_key
    assert np.array_equal(kv.vectors, saved.vectors)
    big = _gensim_kv(tmp_path / "big.kv", n=50, sep_limit=100)  # the matrix goes to big.kv.vectors.npy
    assert (tmp_path / "big.kv.vectors.npy").is_file()
    assert np.array_equal(load_vectors(tmp_path / "big.kv", limit=10).vectors, big.vectors[:10])
    (tmp_path / "big.kv.vectors.npy").unlink()
    with pytest.raises(DataError, match="big.kv.vectors.npy, which is missing"):
        load_vectors(tmp_path / "big.kv")


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("echo this must never run > pwned.txt",))


def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.kv").write_bytes(pickle.dumps({"vectors": _RunsCode()}, protocol=4))
    with pytest.raises(DataError, match="never allows"):
        load_vectors(tmp_path / "evil.kv")
    assert not (tmp_path / "pwned.txt").exists()


def test_a_whole_word2vec_model_file_says_to_save_its_vectors(tmp_path):
    from gensim.models import Word2Vec

    Word2Vec([["a", "b", "c"]] * 20, vector_size=4, min_count=1, seed=0).save(str(tmp_path / "model.w2v"))
    with pytest.raises(DataError, match="whole gensim Word2Vec model") as err:
        load_vectors(tmp_path / "model.w2v")
    assert "model.wv.save" in err.value.hint


def test_fasttext_vectors_are_refused_with_a_way_out(tmp_path):
    from gensim.models import FastText

    FastText([["a", "b", "c"]] * 20, vector_size=4, min_count=1, seed=0, bucket=100).wv.save(str(tmp_path / "ft.kv"))
    with pytest.raises(DataError, match="FastText vectors") as err:
        load_vectors(tmp_path / "ft.kv")
    assert "save_word2vec_format" in err.value.hint


def test_a_gensim_file_with_no_numbers_per_word_is_refused(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(0)
    kv.add_vectors(["a", "b"], np.zeros((2, 0), dtype=np.float32))
    kv.save(str(tmp_path / "empty.kv"))
    with pytest.raises(DataError, match="0 numbers"):
        load_vectors(tmp_path / "empty.kv")
