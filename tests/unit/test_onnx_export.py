"""ONNX export of a saved run: parity with PyTorch in onnxruntime, dynamic axes, serving, failures, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bigmodel_core.__main__ import main
from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import ConfigError, ModelError, RunError
from bigmodel_core.serve import load_bundle
from bigmodel_core.serve.onnx_export import (EXPORT_FILE, ONNX_FILE, TOLERANCE, export_here, export_onnx,
                                             onnx_predictor, read_export)
from bigmodel_core.training.run import train_run

TEXTS = ["good", "a dull film", "the acting was superb and the music lovely", "boring", "zzz qqq",
         "really quite charming, the story and the cast and the ending were moving", "the plot was tedious",
         "awful awful awful", "lovely"]
TINY = {"lstm": {"embed_dim": 8, "hidden": 8}, "gru": {"embed_dim": 8, "hidden": 8, "layers": 2},
        "bag_of_embeddings": {"embed_dim": 8, "hidden": 8},
        "transformer": {"dim": 16, "heads": 2, "layers": 1, "ff": 32}, "convnet": {"block_channels": [8, 8]}}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_bert):
    """A workspace and a function that trains one tiny run of a model family into it (one epoch)."""
    from tests.unit.conftest import make_reviews, write_csv

    root = tmp_path_factory.mktemp("onnx")
    texts, labels = make_reviews(160)
    csv = write_csv(root / "reviews.csv", ["text", "label"], [[t, y] for t, y in zip(texts, labels)])
    home = root / "home"

    def train(model: str, name: str | None = None) -> str:
        image = model == "convnet"
        params = {"weights": str(tiny_bert), "max_length": 32} if model == "pretrained_transformer" else TINY.get(model, {})
        data = DataConfig(spec="builtin:digits", max_rows=200) if image else DataConfig(spec=f"csv:{csv}")
        cfg = RunConfig(data, ModelConfig(model, params), TrainConfig(epochs=1, batch_size=16), name=name or model)
        return train_run(cfg, home=home).id

    return {"home": home, "train": train}


@pytest.fixture(scope="module")
def exported(workspace):
    """Runs of each family, trained and exported once for the tests that only read them."""
    done: dict[str, dict] = {}

    def get(model: str) -> dict:
        if model not in done:
            run = workspace["train"](model)
            done[model] = {"run": run, "result": export_onnx(run, home=workspace["home"]),
                           "folder": workspace["home"] / "runs" / run}
        return done[model]

    return get


def shapes(path: Path) -> dict[str, list]:
    import onnx

    graph = onnx.load(str(path)).graph
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}


def read_export_stamp(folder: Path) -> dict:
    st = (folder / "weights.safetensors").stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


@pytest.mark.parametrize("model", ["lstm", "bag_of_embeddings", "transformer", "pretrained_transformer", "convnet"])
def test_export_matches_pytorch_at_two_batch_sizes_and_two_lengths(exported, model):
    r = exported(model)["result"]
    assert r["verified"] is True and r["max_abs_diff"] <= TOLERANCE
    assert {c["batch"] for c in r["checked"]} == ({1, 5} if model == "convnet" else {1, 4})
    if model != "convnet":
        assert len({c["seq"] for c in r["checked"]}) == 2
        padded = [c for c in r["checked"] if c["batch"] == 4]
        assert all(len(set(c["lengths"])) > 1 and max(c["lengths"]) == c["seq"] for c in padded)  # real padding


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional, layers", [(True, 2), (False, 1)])
def test_the_unpacked_recurrent_form_gives_packings_answer_for_padded_batches(cell, bidirectional, layers):
    from bigmodel_core.models.rnn import RNNClassifier
    from bigmodel_core.serve._onnx_graph import exportable

    model = RNNClassifier(30, 3, cell, 6, 5, layers, bidirectional, 0.0).eval()
    lengths = torch.tensor([7, 1, 4, 7, 2])
    ids = torch.randint(1, 30, (5, 7)) * (torch.arange(7) < lengths[:, None])  # padded with 0 after each text
    with torch.inference_mode():
        np.testing.assert_allclose(exportable(model)(ids, lengths), model(ids, lengths), atol=1e-6)
        same = ids[[0, 3]]  # no padding: the engine's unpacked path
        np.testing.assert_allclose(exportable(model)(same, lengths[[0, 3]]), model(same, lengths[[0, 3]]), atol=1e-6)


def test_export_json_describes_the_file_and_the_check(exported):
    e = exported("lstm")
    record = json.loads((e["folder"] / EXPORT_FILE).read_text())
    assert record["format"] == "onnx" and record["file"] == ONNX_FILE and record["verified"] is True
    assert record["bytes"] == (e["folder"] / ONNX_FILE).stat().st_size
    assert record["torch"] == torch.__version__ and isinstance(record["opset"], int) and record["opset"] >= 17
    assert record["inputs"] == [{"name": "ids", "shape": ["batch", "seq"]}, {"name": "lengths", "shape": ["batch"]}]
    assert record["max_abs_diff"] == max(c["max_abs_diff"] for c in record["checked"]) and record["seconds"] > 0
    assert e["result"]["path"] == str(e["folder"] / ONNX_FILE)
    assert not [p.name for p in e["folder"].iterdir() if p.name.startswith(".")]  # no temp file left


def test_exported_graphs_have_symbolic_batch_and_sequence_axes(exported):
    assert shapes(exported("transformer")["folder"] / ONNX_FILE) == {"ids": ["batch", "seq"], "lengths": ["batch"]}
    assert shapes(exported("convnet")["folder"] / ONNX_FILE) == {"images": ["batch", 1, 8, 8]}


def test_two_recurrent_exports_in_one_process_both_keep_a_dynamic_sequence_length(exported, workspace):
    first = exported("lstm")  # exported by this process already
    second = export_onnx(workspace["train"]("gru"), home=workspace["home"])
    for path in (first["folder"] / ONNX_FILE, Path(second["path"])):
        assert shapes(path)["ids"] == ["batch", "seq"]
    p = onnx_predictor(second["run"], home=workspace["home"])
    assert p is not None
    ids = torch.randint(1, 20, (3, 57))  # a length no check used
    assert p.model(ids, torch.tensor([57, 9, 1])).shape == (3, 2)


@pytest.mark.parametrize("model", ["lstm", "transformer", "pretrained_transformer"])
def test_onnx_predictor_answers_like_the_pytorch_predictor(exported, workspace, model):
    run, home = exported(model)["run"], workspace["home"]
    torch_p, onnx_p = load_bundle(run, home=home), onnx_predictor(run, home=home)
    assert (onnx_p.task, onnx_p.class_names, onnx_p.run_id) == ("text", torch_p.class_names, run)
    assert onnx_p.model.backend == "onnxruntime"
    many = TEXTS * 3 + [" ".join(TEXTS)]  # many lengths: padded batches, for the LSTM too
    np.testing.assert_allclose(onnx_p.predict_proba(many), torch_p.predict_proba(many), atol=1e-5)
    for text in ("a dull film", "zzz qqq"):
        a, b = onnx_p.predict(text), torch_p.predict(text)
        assert (a["prediction"], a["tokens"], a["warning"]) == (b["prediction"], b["tokens"], b["warning"])
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-5)


def test_onnx_predictor_reads_pictures_like_the_pytorch_predictor(exported, workspace):
    run, home = exported("convnet")["run"], workspace["home"]
    images = np.random.default_rng(1).integers(0, 256, (7, 8, 8, 1), dtype=np.uint8)
    onnx_p = onnx_predictor(run, home=home)
    assert onnx_p.task == "image"
    np.testing.assert_allclose(onnx_p.predict_proba(list(images)), load_bundle(run, home=home).predict_proba(list(images)),
                               atol=1e-5)


def test_no_predictor_without_a_current_verified_export(exported, workspace, tmp_path):
    import shutil

    e, home = exported("bag_of_embeddings"), workspace["home"]
    assert onnx_predictor(workspace["train"]("bag_of_embeddings", name="never-exported"), home=home) is None
    copy = tmp_path / "home" / "runs" / e["run"]
    shutil.copytree(e["folder"], copy)
    assert onnx_predictor(copy) is not None
    record = json.loads((copy / EXPORT_FILE).read_text())
    (copy / EXPORT_FILE).write_text(json.dumps({**record, "verified": False}))
    assert onnx_predictor(copy) is None
    (copy / EXPORT_FILE).write_text(json.dumps(record))
    (copy / "weights.safetensors").write_bytes((copy / "weights.safetensors").read_bytes())  # trained on since
    assert read_export(copy) is None and onnx_predictor(copy) is None
    (copy / ONNX_FILE).write_bytes(b"\0" * record["bytes"])  # damaged, same size
    (copy / EXPORT_FILE).write_text(json.dumps({**record, "weights": read_export_stamp(copy)}))
    with pytest.raises(RunError, match="ONNX export"):
        onnx_predictor(copy)



def test_a_failed_export_leaves_no_model_file(workspace, monkeypatch):
    from bigmodel_core.serve import _onnx_checks

    run = workspace["train"]("bag_of_embeddings", name="fails-in-check")
    folder = workspace["home"] / "runs" / run

    def broken(*args, **kwargs):
        raise RuntimeError("onnxruntime fell over")

    monkeypatch.setattr(_onnx_checks, "verify", broken)
    with pytest.raises(RuntimeError):
        export_here(folder, lambda fraction, text: None)  # in this process: a bag of embeddings has no RNN
    assert sorted(p.name for p in folder.iterdir()) == sorted(["run.json", "history.jsonl", "vocab.json",
                                                               "weights.safetensors"])


def test_an_operator_onnx_cannot_express_is_a_plain_error_naming_it(workspace, monkeypatch):
    from bigmodel_core.serve import bundle

    run = workspace["train"]("bag_of_embeddings", name="odd-operator")
    folder = workspace["home"] / "runs" / run
    real = bundle.load_bundle

    class Eigen(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids, lengths):
            x = self.inner.embedding(ids).mean(1)  # (batch, emb)
            return self.inner(ids, lengths) + torch.linalg.eigh(x.T @ x)[0][:2]

    def odd(*args, **kwargs):
        p = real(*args, **kwargs)
        p.model = Eigen(p.model).eval()
        return p

    monkeypatch.setattr(bundle, "load_bundle", odd)
    with pytest.raises(ModelError, match="_linalg_eigh") as caught:
        export_here(folder, lambda fraction, text: None)
    assert caught.value.hint and "Traceback" not in caught.value.message
    assert not (folder / ONNX_FILE).exists() and not (folder / EXPORT_FILE).exists()


def test_a_quantized_run_is_refused_naming_its_int8_layers(exported, workspace):
    from bigmodel_core.optimize.derive import derive_run

    q = derive_run("quantize", exported("lstm")["run"], workspace["home"])
    with pytest.raises(ModelError, match="int8") as caught:
        export_onnx(q.id, home=workspace["home"])
    assert "quantized.dynamic.LSTM" in caught.value.message and caught.value.hint
    assert not (Path(q.path) / ONNX_FILE).exists()


def test_a_run_without_its_weights_cannot_be_exported(workspace, monkeypatch, capsys):
    run = workspace["train"]("bag_of_embeddings", name="no-weights")
    (workspace["home"] / "runs" / run / "weights.safetensors").unlink()
    with pytest.raises(RunError, match="weights.safetensors"):
        export_onnx(run, home=workspace["home"])
    monkeypatch.setenv("BIGMODEL_HOME", str(workspace["home"]))
    assert main(["export", "--run", run]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "\nHint: " in err and "weights.safetensors" in err
    assert not (workspace["home"] / "runs" / run / ONNX_FILE).exists()


def test_cli_export_ends_with_one_json_line(workspace, monkeypatch, capsys):
    monkeypatch.setenv("BIGMODEL_HOME", str(workspace["home"]))
    run = workspace["train"]("bag_of_embeddings", name="cli-export")
    assert main(["export", "--run", run, "--format", "onnx", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    end = lines[-1]
    assert end["event"] == "export_end" and end["run"] == run and end["verified"] is True
    assert end["max_abs_diff"] <= TOLERANCE and Path(end["path"]).stat().st_size == end["bytes"]


@pytest.mark.parametrize("args, words", [(["--run", "no-such-run"], ["no-such-run"]),
                                         (["--run", "whatever", "--format", "torchscript"], ["torchscript", "onnx"])])
def test_cli_export_of_bad_input_exits_2_with_a_hint(args, words, capsys):
    assert main(["export", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: ") and captured.out == ""
    assert all(w in captured.err for w in words) and "Traceback" not in captured.err


def test_unknown_formats_are_refused_before_anything_runs():
    from bigmodel_core.serve.onnx_export import check_format

    assert check_format("onnx") == "onnx"
    with pytest.raises(ConfigError, match="deprecated"):
        check_format("torchscript")
