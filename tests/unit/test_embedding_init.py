"""Text models that start from word vectors: rows copied in, coverage counted, frozen or fine-tuned, recorded."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.data.text.pipeline import PAD, PAD_ID, UNK
from bigmodel_core.embeddings.sets import save_vector_set
from bigmodel_core.errors import BigModelError, DataError, InputError
from bigmodel_core.runs.store import read_run
from bigmodel_core.serve.bundle import load_bundle
from bigmodel_core.training.run import prepare, train_run

DIM = 16
# Words of the built-in reviews, and two that never occur in them.
IN_DATA = ("good", "bad", "film", "movie", "the", "boring", "great", "not")
NOT_IN_DATA = ("zqxjv", "vwkpq")
SET_ID = "myset"


def vector_rows(words, dim: int = DIM, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((len(words), dim)).astype(np.float32)


def save_set(home: Path | None = None, set_id: str = SET_ID, dim: int = DIM) -> dict[str, np.ndarray]:
    words = list(IN_DATA + NOT_IN_DATA)
    matrix = vector_rows(words, dim)
    save_vector_set(words, matrix, {"id": set_id, "kind": "test", "source": "hand-made"}, home=home)
    return dict(zip(words, matrix))


def config(model: str = "bag_of_embeddings", params: dict | None = None, embeddings: str | None = SET_ID,
           freeze: bool = False, epochs: int = 2, name: str | None = None) -> RunConfig:
    params = {"hidden": 16} if params is None and model == "bag_of_embeddings" else (params or {})
    return RunConfig(DataConfig(max_rows=600), ModelConfig(model, params, embeddings=embeddings, freeze_embeddings=freeze),
                     TrainConfig(epochs=epochs, batch_size=32, lr=1e-2), name=name)


@pytest.fixture(scope="module")
def vector_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A workspace of this module with the hand-made set and three runs: frozen, fine-tuned, without vectors."""
    home = tmp_path_factory.mktemp("vectors_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIGMODEL_HOME", str(home))
        vectors = save_set()
        runs = {name: train_run(config(embeddings=emb, freeze=freeze, name=name))
                for name, emb, freeze in (("frozen", SET_ID, True), ("tuned", SET_ID, False), ("plain", None, False))}
    return {"home": home, "vectors": vectors, "runs": runs}


@pytest.fixture
def in_vector_home(vector_home: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("BIGMODEL_HOME", str(vector_home["home"]))
    return vector_home


def saved_embedding(run: dict) -> torch.Tensor:
    return load_file(str(Path(run.path) / "weights.safetensors"))["embedding.weight"]


# --- starting point -----------------------------------------------------------------------------
def test_covered_words_start_from_their_vectors_and_pad_from_zeros(in_vector_home):
    prep = prepare(config())
    weight = prep.model.embedding.weight.detach().numpy()
    itos = prep.pipeline.itos
    assert weight.shape == (len(itos), DIM)
    for word in IN_DATA:
        np.testing.assert_array_equal(weight[itos.index(word)], in_vector_home["vectors"][word])
    assert itos[PAD_ID] == PAD and not weight[PAD_ID].any()
    uncovered = [i for i, w in enumerate(itos) if w not in IN_DATA and w != PAD]
    assert np.abs(weight[uncovered]).sum(1).min() > 0  # <unk> and the other words get random rows, not zeros
    assert prep.model.embedding.weight.requires_grad  # fine-tuned unless frozen


def test_coverage_counts_the_words_that_got_a_vector(in_vector_home):
    prep = prepare(config())
    itos = prep.pipeline.itos
    real = [w for w in itos if w not in (PAD, UNK)]
    assert set(IN_DATA) <= set(real) and not set(NOT_IN_DATA) & set(real)
    coverage = prep.vectors["coverage"]
    assert coverage["found"] == len(IN_DATA)
    assert coverage["total"] == len(real) == prep.pipeline.vocab_size - 2
    assert coverage["fraction"] == pytest.approx(len(IN_DATA) / len(real))
    assert coverage["missing_examples"] == [w for w in real if w not in IN_DATA][:20]  # most frequent first


def test_the_same_config_starts_from_the_same_embedding(in_vector_home):
    a = prepare(config()).model.embedding.weight
    b = prepare(config()).model.embedding.weight
    assert torch.equal(a, b)


def test_embedding_width_follows_the_vectors(in_vector_home):
    prep = prepare(config())
    assert prep.model_params["embed_dim"] == DIM and prep.model.embedding.embedding_dim == DIM
    assert in_vector_home["runs"]["tuned"].model_params["embed_dim"] == DIM
    transformer = prepare(config("transformer", {"heads": 2, "layers": 1, "ff": 32}))
    assert transformer.model_params["dim"] == DIM and transformer.model.embedding.embedding_dim == DIM
    np.testing.assert_array_equal(transformer.model.embedding.weight[transformer.pipeline.itos.index("good")].detach(),
                                  in_vector_home["vectors"]["good"])


def test_a_width_the_user_set_that_differs_from_the_vectors_is_an_input_error(in_vector_home):
    with pytest.raises(InputError) as err:
        prepare(config(params={"embed_dim": 32, "hidden": 16}))
    assert "16" in err.value.message and "32" in err.value.message
    assert "16" in err.value.hint


def test_a_width_the_user_set_equal_to_the_vectors_is_fine(in_vector_home):
    prep = prepare(config("lstm", {"embed_dim": str(DIM), "hidden": 8}))  # as the CLI passes it
    assert prep.model_params["embed_dim"] == DIM and prep.vectors["coverage"]["found"] == len(IN_DATA)


# --- training -----------------------------------------------------------------------------------
def test_frozen_vectors_stay_unchanged_while_the_rest_of_the_model_learns(in_vector_home):
    run = in_vector_home["runs"]["frozen"]
    start = prepare(config(freeze=True))
    assert not start.model.embedding.weight.requires_grad
    assert torch.equal(saved_embedding(run), start.model.embedding.weight.detach())
    head = load_file(str(Path(run.path) / "weights.safetensors"))["head.1.weight"]
    assert not torch.equal(head, start.model.state_dict()["head.1.weight"])  # the classifier did train
    assert run.metrics["val_accuracy"] > 0.5


def test_fine_tuned_vectors_move_during_training(in_vector_home):
    run = in_vector_home["runs"]["tuned"]
    start = prepare(config()).model.embedding.weight.detach()
    trained = saved_embedding(run)
    itos = prepare(config()).pipeline.itos
    rows = [itos.index(w) for w in IN_DATA]
    assert not torch.allclose(trained[rows], start[rows])
    assert not trained[PAD_ID].any()  # padding stays zero even when fine-tuned


def test_run_json_records_the_vectors_and_their_coverage(in_vector_home):
    run = in_vector_home["runs"]["frozen"]
    saved = read_run(run.id)
    emb = saved.embeddings
    assert emb == run.embeddings
    assert {k: emb[k] for k in ("vectors", "set_id", "source", "dim", "vocab_size", "frozen")} == {
        "vectors": SET_ID, "set_id": SET_ID, "source": "hand-made", "dim": DIM,
        "vocab_size": len(IN_DATA + NOT_IN_DATA), "frozen": True}
    assert emb["coverage"]["found"] == len(IN_DATA)
    assert emb["coverage"]["total"] == saved.data_info["vocab_size"] - 2
    assert set(emb["coverage"]) == {"found", "total", "fraction", "missing_examples"}
    assert saved.config.model.embeddings == SET_ID and saved.config.model.freeze_embeddings is True
    assert read_run(in_vector_home["runs"]["tuned"].id).embeddings["frozen"] is False


def test_a_run_without_vectors_records_none(in_vector_home):
    run = in_vector_home["runs"]["plain"]
    assert run.embeddings is None and read_run(run.id).embeddings is None
    assert run.model_params["embed_dim"] == 64  # the preset's width, not the vectors'


def test_a_run_started_from_vectors_loads_and_predicts(in_vector_home):
    run = in_vector_home["runs"]["frozen"]
    predictor = load_bundle(run.id)
    assert predictor.model.embedding.embedding_dim == DIM
    np.testing.assert_array_equal(predictor.model.embedding.weight[predictor.pipeline.stoi["good"]].detach(),
                                  in_vector_home["vectors"]["good"])
    out = predictor.predict("a good film, great acting")
    assert out["prediction"] in ("negative", "positive")
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


# --- vector files and mistakes ------------------------------------------------------------------
def test_a_glove_file_path_works_like_a_saved_set(tmp_path):
    words = ["good", "bad", "film", "qqzzx"]
    rows = vector_rows(words, dim=8, seed=3).round(4)
    path = tmp_path / "tiny.glove.txt"
    path.write_text("".join(f"{w} {' '.join(str(v) for v in r)}\n" for w, r in zip(words, rows)), encoding="utf-8")
    prep = prepare(config(embeddings=str(path)))
    assert prep.model_params["embed_dim"] == 8
    itos = prep.pipeline.itos
    np.testing.assert_allclose(prep.model.embedding.weight[itos.index("film")].detach().numpy(), rows[2], rtol=1e-6)
    assert {k: prep.vectors[k] for k in ("vectors", "set_id", "source", "dim", "vocab_size", "frozen")} == {
        "vectors": str(path), "set_id": None, "source": "tiny.glove.txt", "dim": 8, "vocab_size": 4, "frozen": False}
    assert prep.vectors["coverage"]["found"] == 3


def test_vectors_with_an_image_model_are_refused_with_a_hint():
    save_set()
    with pytest.raises(BigModelError) as err:
        prepare(RunConfig(DataConfig(spec="builtin:digits", max_rows=200),
                          ModelConfig("convnet", {"block_channels": [4]}, embeddings=SET_ID), TrainConfig(epochs=1)))
    assert "convnet" in err.value.message
    assert "text models" in err.value.hint


def test_a_vector_set_that_does_not_exist_is_a_data_error():
    save_set()
    with pytest.raises(DataError) as err:
        prepare(config(embeddings="no-such-set"))
    assert "no-such-set" in err.value.message
    assert SET_ID in err.value.hint  # names the sets there are


def test_a_failed_start_from_vectors_saves_no_run(isolated_home):
    save_set()
    with pytest.raises(InputError):
        train_run(config(params={"embed_dim": 8, "hidden": 16}, name="mismatch"))
    assert not (isolated_home / "runs" / "mismatch").exists()


def test_fifty_dimensional_vectors_fit_a_default_transformer_with_fewer_heads(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGMODEL_HOME", str(tmp_path))
    save_vector_set(["good", "bad", "film"], np.random.default_rng(0).standard_normal((3, 50)),
                    {"id": "g50", "kind": "test", "source": "test"})
    prep = prepare(RunConfig(DataConfig(max_rows=300), ModelConfig("transformer", embeddings="g50")))
    assert prep.model_params["dim"] == 50 and prep.model_params["heads"] == 2  # 4 heads cannot split 50


def test_a_run_in_a_given_workspace_finds_the_vectors_saved_there(tmp_path, monkeypatch):
    monkeypatch.delenv("BIGMODEL_HOME", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./workspace here either
    home = tmp_path / "elsewhere"
    save_vector_set(["good", "bad", "film"], np.random.default_rng(0).standard_normal((3, 8)),
                    {"id": "here", "kind": "test", "source": "test"}, home=home)
    info = train_run(RunConfig(DataConfig(max_rows=200), ModelConfig("bag_of_embeddings", embeddings="here"),
                               TrainConfig(dry_run=True)), home=home)
    assert info.embeddings["set_id"] == "here" and info.model_params["embed_dim"] == 8
    assert not (tmp_path / "workspace").exists()  # looking vectors up created no stray workspace
