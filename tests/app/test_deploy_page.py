"""Deploy page (AppTest): start a real server for a run, send it a sentence from the console, copy code, stop it."""
from __future__ import annotations

import json
import socket

import pytest
from apphelpers import texts

DEPLOY = "pages/10_Deploy.py"


@pytest.fixture(autouse=True)
def no_server_outlives_its_test():
    from bigmodel_core.serve.server import stop_all

    yield
    stop_all()


@pytest.fixture
def deploy_page(open_page):
    def _open():
        at = open_page()
        at.switch_page(DEPLOY).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open


def free_port() -> int:
    from bigmodel_core.serve.server import free_port as first_free

    return first_free(start=21000)


def start(at, port: int, token: str = ""):
    at.number_input(key="deploy_port").set_value(port)
    at.text_input(key="deploy_token").input(token)
    at.button(key="deploy_start").click().run()  # returns once the server answers /health (or failed)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_a_finished_run_the_page_says_to_train_one(deploy_page):
    at = deploy_page()
    assert any("no trained model to serve yet" in t for t in texts(at.info))
    assert not at.button


def test_start_server_shows_its_url_the_console_answers_and_stop_stops_it(deploy_page, trained_run):
    trained_run("tiny-lstm")
    at = deploy_page()
    said = texts(at.caption) + texts(at.info)
    assert any("No ONNX export yet" in t or "ONNX export is not installed" in t for t in said), said
    port = free_port()
    start(at, port, token="s3cret")
    url = f"http://127.0.0.1:{port}"
    assert any(url in t for t in texts(at.success)), texts(at.success) + texts(at.error)
    assert at.button(key="deploy_start").disabled and not at.button(key="deploy_stop").disabled

    at.text_input(key="deploy_text").input("a wonderful, moving film")
    at.button(key="deploy_send_predict").click().run()
    assert not at.exception
    answer = json.loads(next(c.value for c in at.code if c.language == "json"))
    assert answer["predictions"][0]["label"] in ("negative", "positive") and answer["backend"] == "pytorch"
    assert at.metric[0].value == "200" and at.metric[1].value.endswith(" ms")

    at.button(key="deploy_send_explain").click().run()
    why = json.loads(next(c.value for c in at.code if c.language == "json"))
    assert [w["token"] for w in why["weights"]][:2] == ["a", "wonderful"]

    curl = next(c.value for c in at.code if c.language == "bash")
    assert f"{url}/predict" in curl and "Authorization: Bearer s3cret" in curl
    python = next(c.value for c in at.code if c.language == "python")
    assert f'"{url}/predict"' in python and '"Bearer s3cret"' in python
    compile(python, "example.py", "exec")  # the example is valid Python as shown

    at.button(key="deploy_stop").click().run()
    assert any("stopped" in t for t in texts(at.info))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_port_in_use_is_one_plain_sentence(deploy_page, trained_run):
    trained_run("tiny-lstm")
    at = deploy_page()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        start(at, port)
    assert texts(at.error) == [f"Port {port} is already in use."]
    assert any("another port" in t for t in texts(at.info))
    assert not at.success


def test_a_server_that_crashes_at_start_shows_its_log(deploy_page, trained_run, workspace):
    info = trained_run("tiny-lstm")
    (workspace / "runs" / info.id / "weights.safetensors").write_bytes(b"damaged")
    at = deploy_page()
    start(at, free_port())
    assert any("stopped while starting" in t and "could not be loaded" in t for t in texts(at.error)), texts(at.error)
    assert any("Error: The run" in c.value for c in at.code), [c.value for c in at.code]
    assert not at.button(key="deploy_start").disabled  # the user can fix it and try again


def test_an_image_run_is_served_and_the_console_sends_a_test_image(deploy_page, workspace):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    train_run(RunConfig(DataConfig(spec="builtin:digits", max_rows=200), ModelConfig("mlp", {"hidden": [16]}),
                        TrainConfig(epochs=1), name="digits-mlp"), home=workspace)
    at = deploy_page()
    start(at, free_port())
    at.button(key="deploy_send_predict").click().run()
    answer = json.loads(next(c.value for c in at.code if c.language == "json"))
    assert answer["predictions"][0]["label"] in [str(d) for d in range(10)]
    assert "base64 -w0 digit.png" in next(c.value for c in at.code if c.language == "bash")


def test_export_to_onnx_then_the_server_runs_on_onnxruntime(deploy_page, trained_run):
    pytest.importorskip("onnxruntime")
    trained_run("tiny-lstm")
    at = deploy_page()
    at.button(key="deploy_export").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any("verified ONNX export" in t for t in texts(at.success)), texts(at.success) + texts(at.warning)
    assert at.button(key="deploy_export").disabled
    start(at, free_port())
    assert any("with onnxruntime" in t for t in texts(at.success)), texts(at.success)
    at.button(key="deploy_send_predict").click().run()
    answer = json.loads(next(c.value for c in at.code if c.language == "json"))
    assert answer["backend"] == "onnxruntime"
