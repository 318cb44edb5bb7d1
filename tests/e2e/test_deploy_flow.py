"""Deploy in a real browser: Start server on the Deploy page, send a sentence from the console, see the JSON
answer; the server ends with the app."""
from __future__ import annotations

import json
import re
import socket
import time

from e2ehelpers import streamlit_server
from playwright.sync_api import Page, expect
from test_new_user_flow import wait_idle

SENTENCE = "a wonderful, moving film"
START_TIMEOUT_S = 120  # the server child imports torch and loads the model: seconds on a busy 2-core machine


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_start_server_on_the_deploy_page_and_get_an_answer_in_the_console(browser, tmp_path):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.serve.server import free_port
    from bigmodel_core.training.run import train_run

    home = tmp_path / "home"
    home.mkdir()
    info = train_run(RunConfig(DataConfig(max_rows=600), ModelConfig("lstm", {"embed_dim": 16, "hidden": 16}),
                               TrainConfig(epochs=1, batch_size=32), name="deploy-lstm"), home=home)
    port = free_port(start=22000)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page: Page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        with streamlit_server(home, tmp_path / "streamlit.log") as (url, _proc):
            page.goto(f"{url}/Deploy")
            expect(page.get_by_role("heading", name="🚀 Deploy")).to_be_visible()
            picker = page.get_by_role("combobox", name="Model to serve (a finished run)")
            expect(picker).to_have_value(re.compile(re.escape(info.id)))
            box = page.get_by_label("Port", exact=True)
            box.fill(str(port))
            box.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name="▶ Start server").click()
            running = page.get_by_test_id("stAlertContentSuccess").filter(
                has_text=f"Running at http://127.0.0.1:{port}")
            expect(running).to_be_visible(timeout=START_TIMEOUT_S * 1000)
            wait_idle(page)

            sentence = page.get_by_label("A sentence to send", exact=True)
            sentence.fill(SENTENCE)
            sentence.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name="Send to /predict").click()
            answer_block = page.get_by_test_id("stCode").filter(
                has_text=re.compile(r'"backend": "(pytorch|onnxruntime)"'))  # the answer, not the code examples
            expect(answer_block).to_be_visible()
            answer = json.loads(answer_block.inner_text())
            assert answer["predictions"][0]["label"] in ("negative", "positive"), answer
            expect(page.get_by_text(f"Prediction: {answer['predictions'][0]['label']}")).to_be_visible()
            expect(page.get_by_test_id("stMetric").filter(has_text="Round trip")).to_contain_text("ms")
            curl = page.get_by_test_id("stCode").filter(has_text="curl -s -X POST")
            expect(curl).to_contain_text(f"http://127.0.0.1:{port}/predict")
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert listening(port)
        # the app stopped (SIGTERM, as a terminal's Ctrl-C or a service manager does): its server went with it
        deadline = time.monotonic() + 20
        while listening(port):
            assert time.monotonic() < deadline, "the REST server outlived the app"
            time.sleep(0.2)
    finally:
        context.close()
