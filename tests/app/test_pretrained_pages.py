"""The pretrained Transformer in the app, on a tiny random BERT the test builds: choose it on the Model page
(from a folder, or downloaded from a local stand-in for the Hub only when asked), see its word pieces on the
Data page, fine-tune it on the Train page, and explain a sentence with it on the Predict page."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from apphelpers import SMALL_DATA, charts, progress_text, texts

MODEL = "pretrained_transformer"
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"  # the suggested model: served here by a local stand-in


def model_page_with(open_page, weights: str):
    at = open_page("model", data_cfg=SMALL_DATA)
    at.selectbox(key="model_name").set_value(MODEL).run()
    at.radio(key="pretrained_source").set_value("folder").run()
    at.text_input(key="pretrained_folder").set_value(weights).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_pretrained_model_from_a_folder_shows_its_size_and_sets_gentle_fine_tuning(open_page, tiny_bert):
    at = model_page_with(open_page, str(tiny_bert))
    assert not at.error
    params = int(next(m.value for m in at.metric if m.label == "Parameters").replace(",", ""))
    assert 20_000 < params < 40_000  # the tiny BERT's encoder plus its head
    assert any("bert model: 2 layers, hidden size 32" in t for t in texts(at.caption))
    assert any("word pieces" in t for t in texts(at.caption))
    layers = at.dataframe[0].value
    assert any("attention" in name for name in layers["layer"])
    assert at.session_state["model_cfg"]["params"]["weights"] == str(tiny_bert)
    assert at.session_state["train_cfg"]["lr"] == 5e-5 and at.session_state["train_cfg"]["schedule"] == "warmup_linear"
    assert at.session_state["data_cfg"]["max_train_rows"] == 2000
    assert any("Fine-tuning preset" in t for t in texts(at.info))
    at.selectbox(key="model_name").set_value("lstm").run()  # back to a small model: its own settings again
    assert at.session_state["train_cfg"]["lr"] == 1e-2 and at.session_state["data_cfg"]["max_train_rows"] is None


def test_a_folder_that_is_not_a_model_is_one_plain_error(open_page, tmp_path):
    (tmp_path / "not-a-model").mkdir()
    at = model_page_with(open_page, str(tmp_path / "not-a-model"))
    [error] = texts(at.error)
    assert "config.json" in error


def serve_tiny_bert(root, folder, model_id: str) -> None:
    """Lay out `folder` the way the Hub serves a model: /api/models/<id> lists it, /<id>/resolve/main/<file>."""
    files = root / model_id / "resolve" / "main"
    shutil.copytree(folder, files)
    siblings = []
    for path in sorted(files.iterdir()):
        entry = {"rfilename": path.name, "size": path.stat().st_size}
        if path.suffix == ".safetensors":
            entry["lfs"] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size}
        siblings.append(entry)
    api = root / "api" / "models" / model_id
    api.parent.mkdir(parents=True, exist_ok=True)
    api.write_text(json.dumps({"id": model_id, "siblings": siblings}))


@pytest.fixture
def local_hub(tmp_path, monkeypatch, tiny_bert):
    """A local HTTP server standing in for the Hugging Face Hub (HF_ENDPOINT), serving the tiny BERT as HUB_ID."""
    import functools
    import http.server
    import threading

    root = tmp_path / "hub"
    serve_tiny_bert(root, tiny_bert, HUB_ID)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{httpd.server_address[1]}")
    yield root
    httpd.shutdown()


def test_a_suggested_model_downloads_only_when_asked_with_its_size_shown_first(open_page, local_hub, workspace):
    at = open_page("model", data_cfg=SMALL_DATA)
    at.selectbox(key="model_name").set_value(MODEL).run()
    assert at.radio(key="pretrained_source").value == "hub"
    [note] = [t for t in texts(at.info) if "not on this computer yet" in t]
    assert "91 MB" in note and "Nothing is downloaded until you press the button" in note
    assert not (workspace / "cache" / "hub").exists()  # nothing fetched by looking
    assert not at.metric  # no size before the model is here
    at.button(key="pretrained_download").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert (workspace / "cache" / "hub" / HUB_ID.replace("/", "--") / "model.safetensors").is_file()
    assert any(m.label == "Parameters" for m in at.metric)
    assert "downloaded" in at.selectbox(key="pretrained_id").format_func(HUB_ID)


def test_an_offline_download_is_a_plain_error_and_leaves_nothing(open_page, monkeypatch, workspace):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: like being offline
    at = open_page("model", data_cfg=SMALL_DATA)
    at.selectbox(key="model_name").set_value(MODEL).run()
    at.button(key="pretrained_download").click().run()
    assert not at.exception
    [error] = texts(at.error)
    assert "connect" in error.lower() or "offline" in error.lower()
    hub = workspace / "cache" / "hub"
    assert not hub.exists() or not [p for p in hub.iterdir() if not p.name.startswith(".")]


def test_the_data_page_shows_the_word_pieces_the_pretrained_model_reads(open_page, tiny_bert):
    model = {"name": MODEL, "params": {"weights": str(tiny_bert)}, "embeddings": None, "freeze_embeddings": False}
    at = open_page("data", data_cfg=SMALL_DATA, model_cfg=model)
    assert any("reads word pieces instead" in t for t in texts(at.markdown))
    pieces = at.dataframe[-1].value
    assert list(pieces.columns)[0] == "0:[CLS]" and list(pieces.columns)[-1].endswith(":[SEP]")


def test_fine_tuning_on_the_train_page_then_explaining_on_the_predict_page(open_page, poll, tiny_bert, workspace):
    model = {"name": MODEL, "params": {"weights": str(tiny_bert)}, "embeddings": None, "freeze_embeddings": False}
    train = {"epochs": 1, "batch_size": 32, "lr": 1e-3, "schedule": "warmup_linear"}
    at = open_page("train", data_cfg={**SMALL_DATA, "max_train_rows": 200}, model_cfg=model, train_cfg=train)
    assert any("at most 200 examples" in t for t in texts(at.caption))
    at.button(key="train_start").click().run()
    poll(at, lambda a: bool(a.success or a.warning or a.error), timeout=180)
    assert not at.error, texts(at.error)
    assert progress_text(at) is not None
    at = open_page("predict")
    [verdict] = [t for t in texts(at.markdown) if t.startswith("### Prediction:")]
    assert "positive" in verdict or "negative" in verdict
    html = next(t for t in texts(at.markdown) if 'class="bm-highlight bm-attention"' in t)
    assert html.count('class="bm-word"') == 8  # "not good at all, a boring film": words, not pieces
    heat = charts(at)["predict_attention"]
    assert len(heat["data"][0]["z"]) == 8
    assert at.selectbox(key="predict_att_layer").options == ["1", "2"]
