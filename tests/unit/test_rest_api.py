"""The REST API of a saved run: real HTTP against started servers, every mistake a declared 4xx JSON, never a 500."""
from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

try:  # the HTTP client: httpx's successor where it is installed, httpx itself otherwise
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx

import schemathesis

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve.api import create_app
from bigmodel_core.serve.server import (
    ServerStartError,
    bind,
    free_port,
    serve,
    start_server,
    stop_all,
)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "classroom-secret"


def png(image: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image.squeeze().astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def assert_error(response, status: int, *words: str) -> dict:
    """The response is `status` with the one error shape: a plain sentence and a hint."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "hint"} and body["error"].strip() and body["hint"].strip(), body
    for word in words:
        assert word in body["error"], body
    return body


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> dict:
    """A tiny MLP on the built-in digits (8x8 grey), with test images to send."""
    from bigmodel_core.data import test_images
    from bigmodel_core.training.run import train_run

    home = tmp_path_factory.mktemp("image_home")
    cfg = RunConfig(DataConfig(spec="builtin:digits", max_rows=200), ModelConfig("mlp", {"hidden": [16]}),
                    TrainConfig(epochs=1), name="digits-mlp")
    info = train_run(cfg, home=home)
    images, labels = test_images(info, limit=4)
    return {"home": home, "id": info.id, "images": images, "labels": labels}


@pytest.fixture(scope="module")
def text_app(trained_run):
    return create_app(trained_run["id"], home=trained_run["home"])


@pytest.fixture(scope="module")
def image_app(image_run):
    return create_app(image_run["id"], home=image_run["home"])


@pytest.fixture(scope="module")
def live_url(text_app):
    """The text app behind a real uvicorn server in a thread, on a free port of 127.0.0.1."""
    import uvicorn

    sock = bind("127.0.0.1", free_port(start=20000))
    server = uvicorn.Server(uvicorn.Config(text_app, access_log=False, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(autouse=True)
def no_servers_left():
    yield
    stop_all()


# --- a real server over HTTP -------------------------------------------------------------------------
def test_a_started_server_answers_health_model_predict_and_explain(live_url, trained_run):
    from bigmodel_core.explain.lime_text import explain_text
    from bigmodel_core.serve.bundle import load_bundle

    predictor = load_bundle(trained_run["id"], home=trained_run["home"])
    with httpx.Client(base_url=live_url, timeout=30) as http:
        health = http.get("/health").json()
        assert health == {"status": "ok", "run": trained_run["id"], "task": "text", "backend": "pytorch"}
        model = http.get("/model").json()
        assert model["classes"] == trained_run["info"].class_names and model["task"] == "text"
        assert model["model"] == "bag_of_embeddings" and model["parameters"] > 0 and model["explain"] is True
        assert model["inputs"]["field"] == "texts" and model["limits"]["max_batch"] == 64

        texts = ["a great and lovely film", "an awful, dull film"]
        answer = http.post("/predict", json={"texts": texts}).json()
        assert answer["backend"] == "pytorch" and answer["ms"] >= 0
        local = [predictor.predict(t) for t in texts]  # what the Predict page shows for the same texts
        assert [p["label"] for p in answer["predictions"]] == [p["prediction"] for p in local]
        for served, here in zip(answer["predictions"], local):
            assert served["probabilities"] == pytest.approx(here["probabilities"], abs=1e-6)
            assert sum(served["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)

        why = http.post("/explain", json={"text": "a great film", "samples": 300, "seed": 1}).json()
        assert why["method"] == "lime" and why["samples"] == 300 and why["seed"] == 1
        here = explain_text(predictor, "a great film", num_samples=300, seed=1).to_dict()
        assert why["label"] == here["label"] and [w["token"] for w in why["weights"]] == ["a", "great", "film"]
        assert [w["weight"] for w in why["weights"]] == pytest.approx([w["weight"] for w in here["weights"]])


def test_the_same_seed_gives_the_same_explanation(text_app):
    client = TestClient(text_app)
    body = {"text": "a lovely but tedious story", "samples": 200, "seed": 7}
    first, again = client.post("/explain", json=body).json(), client.post("/explain", json=body).json()
    assert first["weights"] == again["weights"]


def test_an_oversized_body_gets_a_json_413_over_real_http(live_url):
    texts = ["a film " * 1000] * 200  # about 1.4 MB: over the 1 MB limit
    with httpx.Client(base_url=live_url, timeout=30) as http:
        assert_error(http.post("/predict", json={"texts": texts}), 413, "larger than")
        assert_error(http.post("/predict", content=b"{" * 3_000_000, headers={"content-type": "application/json"}), 413)
        assert http.get("/health").status_code == 200  # and the server goes on serving


def test_malformed_json_gets_a_json_400_over_real_http(live_url):
    with httpx.Client(base_url=live_url, timeout=30) as http:
        assert_error(http.post("/predict", content=b'{"texts": ["ok"', headers={"content-type": "application/json"}),
                     400, "not valid JSON")
        assert_error(http.post("/predict", content=b'["a list"]', headers={"content-type": "application/json"}),
                     400, "not a JSON object")
        assert_error(http.post("/predict", content=b"good film", headers={"content-type": "text/plain"}), 400)
        assert_error(http.post("/explain"), 400, "no body")


# --- bad input, in-process ---------------------------------------------------------------------------
def test_too_many_texts_in_one_request_get_422_naming_the_limit(trained_run):
    client = TestClient(create_app(trained_run["id"], home=trained_run["home"], max_batch=4))
    assert client.post("/predict", json={"texts": ["good"] * 4}).status_code == 200
    body = assert_error(client.post("/predict", json={"texts": ["good"] * 5}), 422, "5 texts", "at most 4")
    assert "smaller batches" in body["hint"]


def test_empty_text_gets_422_and_says_which_one(text_app):
    client = TestClient(text_app)
    assert_error(client.post("/predict", json={"texts": [""]}), 422, "empty")
    assert_error(client.post("/predict", json={"texts": ["a good film", "   "]}), 422, "Text 2 is empty")
    assert_error(client.post("/predict", json={"texts": []}), 422, "no texts")
    assert_error(client.post("/explain", json={"text": " "}), 422, "empty")


def test_a_picture_for_a_text_model_and_a_text_for_a_picture_model_get_422(text_app, image_app, image_run):
    body = assert_error(TestClient(text_app).post("/predict", json={"images": [png(image_run["images"][0])]}),
                        422, "text model", "not pictures")
    assert '"texts"' in body["hint"]
    body = assert_error(TestClient(image_app).post("/predict", json={"texts": ["a good film"]}), 422,
                        "image model", "not texts")
    assert '"images"' in body["hint"]
    assert_error(TestClient(image_app).post("/explain", json={"text": "a good film"}), 422, "text models only")


def test_unknown_fields_wrong_types_and_ranges_get_422_naming_the_field(text_app):
    client = TestClient(text_app)
    assert_error(client.post("/predict", json={"texts": ["ok"], "text": "ok"}), 422, "'text'")
    assert_error(client.post("/predict", json={"texts": "a good film"}), 422, "'texts'", "list")
    assert_error(client.post("/predict", json={"texts": ["x" * 10_001]}), 422, "Text 1 is too long")
    assert_error(client.post("/explain", json={"text": "good", "samples": 5}), 422, "'samples'", "at least 10")
    assert_error(client.post("/explain", json={"text": "good", "label": "neutral"}), 422, "'neutral'")
    lone_surrogate = b'{"texts": ["\\ud800"]}'
    assert_error(client.post("/predict", content=lone_surrogate, headers={"content-type": "application/json"}),
                 422, "Unicode")
    assert_error(client.get("/nowhere"), 404)
    assert_error(client.delete("/predict"), 405)


def test_a_wrong_or_missing_token_gets_401_and_health_stays_open(trained_run):
    client = TestClient(create_app(trained_run["id"], home=trained_run["home"], token=TOKEN))
    assert client.get("/health").status_code == 200
    for path, method, body in (("/model", "GET", None), ("/predict", "POST", {"texts": ["ok"]}),
                               ("/explain", "POST", {"text": "ok"})):
        missing = client.request(method, path, json=body)
        assert_error(missing, 401, "needs a token")
        assert missing.headers["www-authenticate"] == "Bearer"
        assert_error(client.request(method, path, json=body, headers={"Authorization": "Bearer nope"}), 401, "wrong")
        assert_error(client.request(method, path, json=body, headers={"Authorization": f"Basic {TOKEN}"}), 401)
    good = client.post("/predict", json={"texts": ["ok"]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.status_code == 200
    assert "HTTPBearer" in json.dumps(client.get("/openapi.json").json()["components"]["securitySchemes"])


def test_an_image_run_predicts_base64_pictures_of_any_size(image_app, image_run):
    client = TestClient(image_app)
    model = client.get("/model").json()
    assert model["task"] == "image" and model["inputs"] == {**model["inputs"], "field": "images", "image_size": 8,
                                                            "channels": 1}
    exact = [png(img) for img in image_run["images"]]  # 8x8 grey: used as they are
    big = np.kron(image_run["images"][0][:, :, 0], np.ones((10, 10), dtype=np.uint8))  # 80x80: prepared like an upload
    answer = client.post("/predict", json={"images": exact + ["data:image/png;base64," + png(big)]}).json()
    assert len(answer["predictions"]) == 5 and answer["backend"] == "pytorch"
    assert all(set(p["probabilities"]) == set(model["classes"]) for p in answer["predictions"])
    from bigmodel_core.serve.bundle import load_bundle

    expected = load_bundle(image_run["id"], home=image_run["home"]).predict_proba(list(image_run["images"]))
    got = np.array([[p["probabilities"][c] for c in model["classes"]] for p in answer["predictions"][:4]])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_bad_pictures_get_422_naming_the_picture(image_app, image_run):
    client = TestClient(image_app)
    assert_error(client.post("/predict", json={"images": ["not base64!"]}), 422, "Image 1 is not base64")
    assert_error(client.post("/predict", json={"images": [png(image_run["images"][0]),
                                                          base64.b64encode(b"GIF89a nonsense").decode()]}),
                 422, "Image 2")
    blank = png(np.zeros((30, 30), dtype=np.uint8))
    assert_error(client.post("/predict", json={"images": [blank]}), 422, "Image 1", "blank")
    huge = io.BytesIO()  # a PNG claiming 20,000 x 20,000 pixels: refused from its header, never decoded
    from PIL import Image

    Image.new("1", (20_000, 20_000)).save(huge, format="PNG")
    assert_error(client.post("/predict", json={"images": [base64.b64encode(huge.getvalue()).decode()]}), 422,
                 "too large")


def test_a_verified_onnx_export_is_served_by_onnxruntime(monkeypatch, trained_run):
    from bigmodel_core.serve import onnx_export
    from bigmodel_core.serve.bundle import load_bundle

    calls = []
    monkeypatch.setattr(onnx_export, "onnx_predictor", lambda run, home=None: calls.append(run) or
                        load_bundle(run, home=home))
    client = TestClient(create_app(trained_run["id"], home=trained_run["home"]))
    assert calls == [trained_run["id"]]
    assert client.get("/health").json()["backend"] == "onnxruntime"
    assert client.post("/predict", json={"texts": ["good"]}).json()["backend"] == "onnxruntime"
    def backend() -> str:
        return TestClient(create_app(trained_run["id"], home=trained_run["home"])).get("/health").json()["backend"]

    monkeypatch.setattr(onnx_export, "onnx_predictor", lambda run, home=None: None)  # no verified export
    assert backend() == "pytorch"
    monkeypatch.setitem(sys.modules, "bigmodel_core.serve.onnx_export", None)  # ONNX not installed: PyTorch serves
    assert backend() == "pytorch"


# --- starting and stopping ---------------------------------------------------------------------------
def test_a_port_in_use_is_one_plain_sentence_before_the_model_loads(trained_run, capsys):
    from bigmodel_core.__main__ import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(BigModelError) as err:
            serve("no-such-run", port=port, home=trained_run["home"])  # the port is checked first
        assert err.value.message == f"Port {port} is already in use." and "another port" in err.value.hint
        assert main(["serve", "--run", trained_run["id"], "--port", str(port)]) == 2
        assert f"Error: Port {port} is already in use." in capsys.readouterr().err
        with pytest.raises(BigModelError, match="already in use"):
            start_server(trained_run["id"], port=port, home=trained_run["home"])
    with pytest.raises(BigModelError, match="not a port number"):
        bind("127.0.0.1", 70_000)


def test_the_managed_server_starts_answers_and_stops_cleanly(trained_run):
    port = free_port()
    server = start_server(trained_run["id"], port=port, token=TOKEN, home=trained_run["home"])
    assert server.status == "running" and server.url == f"http://127.0.0.1:{port}" and server.backend == "pytorch"
    assert TOKEN not in " ".join(server.command())  # the token travels in the environment, not on the command line
    with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        answer = http.post("/predict", json={"texts": ["a lovely film"]}).json()
        assert answer["predictions"][0]["label"] in ("negative", "positive") and answer["backend"] == "pytorch"
        assert http.get("/model", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with pytest.raises(BigModelError, match="already served"):
        start_server(trained_run["id"], port=free_port(), home=trained_run["home"])
    assert '"event": "serving"' not in server.log_tail() and "Serving the run" in server.log_tail()
    server.stop()
    assert server.status == "stopped" and server.exit_code == 0  # SIGTERM: a clean stop, not a crash
    assert "Server stopped." in server.log_tail()  # the log outlives the process, in memory
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health", timeout=2)


def test_the_cli_prints_its_url_as_json_and_ctrl_c_stops_it_cleanly(trained_run):
    port = free_port(start=23000)
    env = {**os.environ, "BIGMODEL_HOME": str(trained_run["home"]), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bigmodel_core", "serve", "--run", trained_run["id"], "--port",
                             str(port), "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        serving = json.loads(proc.stdout.readline())  # printed once the model is loaded and the port is open
        assert serving["event"] == "serving" and serving["url"] == f"http://127.0.0.1:{port}"
        assert serving["backend"] == "pytorch" and serving["host"] == "127.0.0.1"
        assert httpx.get(f"{serving['url']}/health", timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [{"event": "stopped", "run": trained_run["id"]}]
    assert '"GET /health HTTP/1.1" 200' in err  # the access log goes to stderr: stdout stays JSON lines


def test_a_server_that_dies_at_start_reports_its_log(trained_run, tmp_path):
    broken = tmp_path / "home"
    (broken / "runs").mkdir(parents=True)
    import shutil

    shutil.copytree(trained_run["path"], broken / "runs" / trained_run["id"])
    (broken / "runs" / trained_run["id"] / "weights.safetensors").write_bytes(b"not weights")
    with pytest.raises(ServerStartError) as err:
        start_server(trained_run["id"], port=free_port(), home=broken)
    assert "stopped while starting" in err.value.message and "could not be loaded" in err.value.message
    assert "Error: The run" in err.value.log


def test_the_server_stops_when_the_app_that_started_it_is_killed(trained_run, tmp_path):
    """kill -9 of the app (no atexit runs) still ends its server: the child watches its parent."""
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from bigmodel_core.serve.server import free_port, start_server
        server = start_server({trained_run['id']!r}, port=free_port(), home={str(trained_run['home'])!r})
        print(server.proc.pid, flush=True)
        time.sleep(600)
    """))
    logs_before = set(Path(tempfile.gettempdir()).glob("bigmodel-serve-*"))
    app = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(app.stdout.readline())
        os.kill(app.pid, signal.SIGKILL)
        app.wait(10)
        deadline = time.monotonic() + 30
        while alive(child):
            assert time.monotonic() < deadline, "the server outlived the app that started it"
            time.sleep(0.2)
        assert set(Path(tempfile.gettempdir()).glob("bigmodel-serve-*")) <= logs_before  # no log file left behind
    finally:
        if app.poll() is None:
            app.kill()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's reaping is left


# --- schemathesis: whatever the schema allows gets a declared answer, never a 500 --------------------
# Cases are drawn from each operation's strategy here, not through `schemathesis.pytest.from_fixture`:
# with pytest 9.2 its lazy loader fails (it reads `request.node._nodeid`, which pytest no longer has).
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("kind", ["text", "image"])
def test_the_openapi_schema_holds_for_every_generated_request(kind, mode, request):
    from hypothesis import given
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    app = request.getfixturevalue(f"{kind}_app")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {"GET /health", "GET /model", "POST /predict",
                                                                       "POST /explain"}
    for operation in operations:
        if mode == "negative" and operation.method.upper() == "GET":
            continue  # nothing to get wrong: GET /health and /model take no input
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

        @given(case=strategy)
        @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def holds(case):
            case.call_and_validate(checks=checks)

        holds()
