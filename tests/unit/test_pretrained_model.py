"""The pretrained Transformer family on a tiny random BERT built by the test: train, save, load offline,
predict, LIME, Integrated Gradients, attention, eval and the CLI, with no network and no downloaded weights."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bigmodel_core.__main__ import main
from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import ConfigError, ModelError
from bigmodel_core.models import create_model, model_overview, model_preset
from bigmodel_core.tasks import text_pipeline
from bigmodel_core.training.run import train_run

MODEL = "pretrained_transformer"


def pretrained_config(spec: str, weights: Path, name: str | None = None, **model) -> RunConfig:
    """A fine-tuning run that learns the test reviews in a second (a higher rate than the preset)."""
    params = {"weights": str(weights), **model}
    return RunConfig(DataConfig(spec=spec), ModelConfig(MODEL, params),
                     TrainConfig(epochs=4, batch_size=16, lr=3e-3, schedule="constant", weight_decay=0.0,
                                 early_stopping_patience=None), name=name)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, tiny_bert):
    """One fine-tuned run on the test reviews, its weights folder copied so the test can remove it."""
    from tests.unit.conftest import make_reviews, write_csv

    root = tmp_path_factory.mktemp("tuned")
    texts, labels = make_reviews(240)
    csv = write_csv(root / "reviews.csv", ["text", "label"], [[t, y] for t, y in zip(texts, labels)])
    weights = shutil.copytree(tiny_bert, root / "weights")
    home = root / "home"
    info = train_run(pretrained_config(f"csv:{csv}", weights, name="tuned"), home=home)
    return {"info": info, "home": home, "csv": csv, "weights": weights}


def predictor(tuned):
    from bigmodel_core.serve import load_bundle

    return load_bundle("tuned", home=tuned["home"])


def test_a_fine_tuned_run_predicts_after_its_weights_folder_is_gone(tuned):
    shutil.rmtree(tuned["weights"])  # the run needs neither the original folder nor the network
    p = predictor(tuned)
    assert p.predict("a good great lovely film")["prediction"] == "positive"
    assert p.predict("a bad boring awful film")["prediction"] == "negative"
    assert tuned["info"].metrics["val_accuracy"] >= 0.9
    folder = Path(tuned["info"].path)
    assert not [f for f in folder.iterdir() if f.suffix in (".bin", ".pt", ".pth", ".pkl")]
    assert json.loads((folder / "vocab.json").read_text())["kind"] == "pretrained"


def test_training_starts_from_the_pretrained_weights_and_changes_them(tiny_bert, tuned):
    cfg = pretrained_config("builtin:synthetic_reviews", tiny_bert)
    pretrained = load_file(str(tiny_bert / "model.safetensors"))
    model = create_model(MODEL, {"num_classes": 2}, weights=str(tiny_bert))
    start = model.encoder.embeddings.word_embeddings.weight
    assert torch.equal(start, pretrained["embeddings.word_embeddings.weight"])
    tuned_weights = load_file(str(Path(tuned["info"].path) / "weights.safetensors"))
    assert not torch.equal(tuned_weights["encoder.embeddings.word_embeddings.weight"], start)
    assert cfg.model.params["weights"] == str(tiny_bert)


def test_the_model_reads_word_pieces_of_its_own_tokenizer(tiny_bert):
    from bigmodel_core.data.text.pipeline import trace

    pipe = text_pipeline(pretrained_config("builtin:synthetic_reviews", tiny_bert))
    t = trace(pipe, "Boring films!")
    assert t["tokens"] == ["boring", "films", "!"]  # words, lower-cased by the model's own normalizer
    assert t["pieces"] == ["[CLS]", "boring", "film", "##s", "!", "[SEP]"]
    assert len(t["ids"]) == 6 and t["unknown"] == []
    assert pipe.word_positions(t["tokens"]) == [[1], [2, 3], [4]]


def test_a_long_text_is_cut_to_max_length_at_a_whole_word(tiny_bert):
    pipe = text_pipeline(pretrained_config("builtin:synthetic_reviews", tiny_bert, max_length=8))
    words = pipe.tokens("the films the films the films the films")
    ids = pipe.encode_tokens(words)
    assert len(ids) <= 8 and words[-1] == "films"  # no word is half in, half out
    assert sum(map(len, pipe.word_positions(words))) == len(ids) - 2


def test_lime_weighs_whole_words_not_pieces(tuned):
    from bigmodel_core.explain.lime_text import explain_text

    exp = explain_text(predictor(tuned), "a boring films", num_samples=300, seed=0)
    assert exp.tokens == ["a", "boring", "films"]
    weights = dict(zip(exp.tokens, exp.weights[exp.label]))
    assert exp.class_names[exp.label] == "negative" and max(weights, key=weights.get) == "boring"


def test_integrated_gradients_add_a_words_pieces_and_share_out_the_logit(tuned):
    from bigmodel_core.explain.text_attributions import integrated_gradients_text

    exp = integrated_gradients_text(predictor(tuned), "a lovely films")
    scores = dict(zip(exp.tokens, exp.weights[exp.label]))
    assert exp.tokens == ["a", "lovely", "films"] and scores["films"] != 0.0
    assert max(scores, key=lambda w: abs(scores[w])) == "lovely"
    assert exp.score < 0.05 * max(1.0, sum(abs(v) for v in scores.values()))  # completeness


def test_attention_of_every_layer_and_head_is_shown_per_word(tuned):
    from bigmodel_core.explain.text_attributions import attention_text

    p = predictor(tuned)
    amap = attention_text(p, "a boring films")
    assert (amap.layers, amap.heads) == (2, 2) and amap.weights.shape == (2, 2, 3, 3)
    assert np.allclose(amap.weights.sum(-1), 1.0) and np.isclose(amap.rollout.sum(), 1.0)
    assert p.predict("a boring films")["prediction"] == "negative"  # the fast kernel is back afterwards


def test_eval_scores_a_fine_tuned_run_on_a_labelled_file(tuned):
    from bigmodel_core.evaluate import evaluate_run

    out = evaluate_run("tuned", f"csv:{tuned['csv']}", home=tuned["home"])
    assert out["metrics"]["accuracy"] >= 0.9


def test_a_frozen_encoder_trains_only_the_head(tiny_bert, tmp_path):
    model = create_model(MODEL, {"num_classes": 2}, weights=str(tiny_bert), finetune="frozen")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    top = create_model(MODEL, {"num_classes": 2}, weights=str(tiny_bert), finetune="top", top_layers=1)
    names = {n for n, p in top.named_parameters() if p.requires_grad}
    assert any(".layer.1." in n for n in names) and not any(".layer.0." in n for n in names)
    with pytest.raises(ConfigError, match="2 layers"):
        create_model(MODEL, {"num_classes": 2}, weights=str(tiny_bert), finetune="top", top_layers=5)


def test_the_model_page_counts_the_encoders_parameters_and_vocabulary(tiny_bert):
    info = model_overview(DataConfig(), ModelConfig(MODEL, {"weights": str(tiny_bert)}), vocab_size=5000)
    model = create_model(MODEL, {"num_classes": 2}, weights=str(tiny_bert))
    assert info["total_parameters"] == sum(p.numel() for p in model.parameters())
    assert info["vocab_size"] == model.encoder.config.vocab_size and info["own_tokenizer"]
    assert info["flops_per_example"] > 0 and any("attention" in r["layer"] for r in info["layers"])


def test_a_hub_model_not_downloaded_is_a_plain_error_and_nothing_is_fetched(monkeypatch):
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("no download without asking"))
    with pytest.raises(ModelError, match="not on this computer yet") as err:
        create_model(MODEL, {"num_classes": 2}, weights="sentence-transformers/all-MiniLM-L6-v2")
    assert "Download" in err.value.hint


def test_weights_that_are_pickled_or_missing_are_refused(tmp_path, tiny_bert):
    pickled = shutil.copytree(tiny_bert, tmp_path / "pickled")
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelError, match="pickle"):
        create_model(MODEL, {"num_classes": 2}, weights=str(pickled))
    with pytest.raises(ModelError, match="no folder"):
        create_model(MODEL, {"num_classes": 2}, weights=str(tmp_path / "nowhere"))


def test_the_fine_tuning_preset_starts_gently():
    preset = model_preset(MODEL)
    assert preset["train"]["lr"] == 5e-5 and preset["train"]["schedule"] == "warmup_linear"
    assert preset["data"]["max_train_rows"] <= 5000
    assert model_preset("lstm") == {"data": {}, "train": {}}


def test_the_cli_fine_tunes_predicts_explains_and_evaluates(tiny_bert, tmp_path, capsys):
    from tests.unit.conftest import make_reviews, write_csv

    texts, labels = make_reviews(120)
    csv = write_csv(tmp_path / "r.csv", ["text", "label"], [[t, y] for t, y in zip(texts, labels)])
    assert main(["train", "--data", f"csv:{csv}", "--model", MODEL, "--set", f"weights={tiny_bert}",
                 "--set", "lr=3e-3", "--epochs", "3", "--name", "cli-bert", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    preset = next(e for e in events if e["event"] == "preset")
    assert preset["train"]["schedule"] == "warmup_linear"
    assert events[-1]["event"] == "fit_end"
    run = next(e for e in events if e["event"] == "fit_end")
    assert json.loads(Path(run["path"], "run.json").read_text())["config"]["train"]["lr"] == 3e-3  # the user's wins
    assert main(["predict", "--run", "cli-bert", "--text", "a lovely film", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["prediction"] in ("positive", "negative")
    for method in ("lime", "ig", "attention"):
        assert main(["explain", "--run", "cli-bert", "--text", "a boring films", "--method", method,
                     "--samples", "200", "--json"]) == 0
        out = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert "films" in json.dumps(out)
    assert main(["eval", "--run", "cli-bert", "--data", f"csv:{csv}", "--json"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_fine_tuning_predicting_and_explaining_a_local_model_open_no_network_connection(tiny_bert, monkeypatch,
                                                                                           reviews_csv):
    import socket

    from bigmodel_core.explain.text_attributions import attention_text
    from bigmodel_core.serve import load_bundle

    def refuse(self, address):
        raise AssertionError(f"tried to connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    info = train_run(pretrained_config(f"csv:{reviews_csv()}", tiny_bert, name="offline-bert"))
    p = load_bundle(info.id)
    assert p.predict("a good film")["prediction"] in ("positive", "negative")
    assert attention_text(p, "a good film").layers == 2


def test_a_model_that_asks_to_run_its_own_code_is_refused_before_anything_loads(tiny_bert, tmp_path):
    folder = shutil.copytree(tiny_bert, tmp_path / "remote-code")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "evil.Model"}}))
    with pytest.raises(ModelError, match="code of its own"):
        train_run(pretrained_config("builtin:synthetic_reviews", folder))


def test_a_fine_tuning_stopped_mid_epoch_resumes_to_the_same_weights(tiny_bert, reviews_csv, isolated_home):
    import threading

    from bigmodel_core.training.events import Callback

    spec = f"csv:{reviews_csv(160)}"
    straight = train_run(pretrained_config(spec, tiny_bert, name="straight"), home=isolated_home)
    stop = threading.Event()

    class StopAtStep(Callback):
        def on_batch_end(self, trainer, event):
            if event.step == 11:  # epoch 2 of 4, part-way through
                stop.set()

    stopped = train_run(pretrained_config(spec, tiny_bert, name="paused"), [StopAtStep()], home=isolated_home,
                        stop_event=stop)
    assert stopped.status == "stopped" and stopped.resumable
    resumed = train_run(None, resume="paused", home=isolated_home)
    a = load_file(str(Path(straight.path) / "weights.safetensors"))
    b = load_file(str(Path(resumed.path) / "weights.safetensors"))
    assert resumed.status == "finished" and a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5


def test_fine_tuning_in_bf16_on_a_cpu_learns_and_keeps_fp32_weights(tiny_bert, reviews_csv, isolated_home):
    cfg = pretrained_config(f"csv:{reviews_csv(160)}", tiny_bert, name="bf16")
    cfg.train.precision, cfg.train.grad_accumulation = "bf16", 2
    info = train_run(cfg, home=isolated_home)
    weights = load_file(str(Path(info.path) / "weights.safetensors"))
    assert all(v.dtype == torch.float32 for v in weights.values())
    assert info.metrics["val_accuracy"] >= 0.75 and info.config.train.precision == "bf16"
