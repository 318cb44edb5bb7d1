"""The Deploy page's pieces: the ONNX export, the server's Start/Stop and status, a test console, code examples.

The servers are child processes that the engine keeps, one per run, for the whole Streamlit
server (bigmodel_core.serve.server): every browser sees the same server of a run, and they all
stop when the app does. A start or export error is kept in session state and shown once.
"""
from __future__ import annotations

import base64
import json
from typing import Any, Optional

import streamlit as st

from bigmodel_core.runs import RunInfo, home_dir
from bigmodel_core.serve import (
    client_examples,
    export_state,
    export_to_onnx,
    free_port,
    png_base64,
    send_request,
    server_for,
    start_server,
    stop_server,
)
from ui import state
from ui.feedback import guarded, show_error
from ui.run_list import run_label

SAMPLE = "a gripping, well acted film"


def pick_run(runs: list[RunInfo]) -> RunInfo:
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox("Model to serve (a finished run)", list(by_id), key="deploy_run",
                          format_func=lambda i: run_label(by_id[i]))
    return by_id[run_id]


def export_section(info: RunInfo) -> None:
    """Whether the run has a verified ONNX export (served by onnxruntime), and a button to make one."""
    st.subheader("1 · Export to ONNX (optional)")
    home = str(home_dir())
    with guarded():
        facts = export_state(info.id, home)
    if not facts["available"]:
        st.info("ONNX export is not installed here, so the server runs the model with PyTorch. That works just as "
                "well; onnxruntime would only make it faster.", icon="ℹ️")
        return
    if facts["verified"]:
        st.success(f"This run has a verified ONNX export (largest difference from PyTorch "
                   f"{facts['max_abs_diff']:.1e}): the server runs it with onnxruntime.", icon="✅")
    elif facts["exported"]:
        st.warning(f"This run's ONNX export differs from PyTorch by up to {facts['max_abs_diff']:.1e}, more than "
                   f"the {facts.get('tolerance') or 1e-4:.0e} allowed, so the server uses PyTorch.", icon="⚠️")
    else:
        st.caption("No ONNX export yet: the server runs the model with PyTorch. An export is checked against "
                   "PyTorch in onnxruntime before the server uses it.")
    if st.button("Export to ONNX", key="deploy_export", disabled=facts["verified"]):
        bar = st.progress(0.0, text="Exporting…")
        try:
            export_to_onnx(info.id, home, progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0),
                                                                                        text=text))
        except Exception as exc:  # noqa: BLE001 - shown on the page; the app goes on
            st.session_state["deploy_export_error"] = exc
        st.rerun()
    error = st.session_state.pop("deploy_export_error", None)
    if error is not None:
        show_error(error)
    serving = server_for(info.id)
    if serving is not None and serving.running and facts["verified"] and serving.backend != "onnxruntime":
        st.caption("A server that was already running goes on with the backend it started with: restart it to "
                   "switch.")


def server_section(info: RunInfo) -> Optional[Any]:
    """Port, token, Start/Stop, and the server's URL, status and log. Returns the running server, if any."""
    st.subheader("2 · Start a server")
    server = server_for(info.id)
    running = server is not None and server.running
    if running:
        st.caption(f"Port {server.port} · {'token required' if server.token else 'no token'} · listening on "
                   f"{server.host}")
    else:
        c1, c2, c3 = st.columns([1, 2, 2])
        first = st.session_state.setdefault("deploy_first_free_port", free_port() or 8000)  # once: a stable default
        c1.number_input("Port", 1024, 65535, value=first, key="deploy_port")
        c2.text_input("Token (optional)", key="deploy_token", placeholder="leave empty for none",
                      help="When set, every request must carry 'Authorization: Bearer <token>'.")
        c3.checkbox("Reachable from other computers", key="deploy_network",
                    help="Listen on every network (0.0.0.0) instead of this computer only (127.0.0.1). "
                         "Set a token if you do.")
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("▶ Start server", key="deploy_start", type="primary", disabled=running):
        _start(info.id)
    if b2.button("⏹ Stop server", key="deploy_stop", disabled=not running):
        stop_server(info.id)
        st.rerun()
    _show_start_error()
    if server is not None:
        _status(server)
    return server if running else None


def _start(run_id: str) -> None:
    ss = st.session_state
    try:
        with st.spinner("Starting the server and loading the model…"):
            start_server(run_id, port=int(ss["deploy_port"]), token=(ss.get("deploy_token") or "").strip() or None,
                         host="0.0.0.0" if ss.get("deploy_network") else "127.0.0.1", home=str(home_dir()))
    except Exception as exc:  # noqa: BLE001 - shown after the rerun, with the server's log when it has one
        ss["deploy_start_error"] = exc
    ss.pop("deploy_answer", None)
    st.rerun()


def _show_start_error() -> None:
    exc = st.session_state.pop("deploy_start_error", None)
    if exc is None:
        return
    show_error(exc)
    log = getattr(exc, "log", "")
    if log:
        st.code(log, language=None)


def _status(server) -> None:
    status = server.status
    if status == "running":
        backend = {"pytorch": "PyTorch", "onnxruntime": "onnxruntime"}.get(server.backend or "pytorch", server.backend)
        st.success(f"Running at **{server.url}** with {backend}.", icon="🟢")
        st.markdown(f"Interactive API docs: [{server.url}/docs]({server.url}/docs) (its viewer comes from the "
                    f"internet; the schema itself, [{server.url}/openapi.json]({server.url}/openapi.json), works "
                    "offline).")
    elif status == "crashed":
        st.error(f"The server stopped by itself (exit code {server.exit_code}). Its log is below.", icon="⚠️")
    elif status == "stopped":
        st.info("The server is stopped.", icon="⏹")
    log = server.log_tail()
    if log:
        with st.expander("Server log (last lines)", expanded=status == "crashed"):
            st.code(log, language=None)


def console(info: RunInfo, server) -> None:
    """Send one input to the running server and show its JSON answer and how long it took."""
    st.subheader("3 · Try it")
    if info.task == "image":
        with guarded():
            images, labels = state.test_images(info.id, info)
        i = st.slider("Test image number", 0, len(images) - 1, 0, key="deploy_image_index")
        c1, c2 = st.columns([1, 4])
        c1.image(images[i], caption=f"true class: {labels[i]}", width=96, clamp=True)
        picture = png_base64(images[i])
        c2.download_button("Download it as digit.png (for the curl example)", base64.b64decode(picture),
                           file_name="digit.png", mime="image/png", key="deploy_image_download")
        calls = {"predict": ("/predict", {"images": [picture]})}
    else:
        text = st.text_input("A sentence to send", value=SAMPLE, key="deploy_text")
        calls = {"predict": ("/predict", {"texts": [text]}), "explain": ("/explain", {"text": text, "samples": 500})}
    cols = st.columns([1, 1, 4])
    for col, (name, (path, payload)) in zip(cols, calls.items()):
        if col.button(f"Send to {path}", key=f"deploy_send_{name}"):
            with guarded():
                answer = send_request(server.url, path, payload, token=server.token)
            st.session_state["deploy_answer"] = {**answer, "path": path, "run": info.id}
    _answer(info)


def _answer(info: RunInfo) -> None:
    answer = st.session_state.get("deploy_answer")
    if not answer or answer.get("run") != info.id:
        return
    ok = 200 <= answer["status"] < 300
    c1, c2, c3 = st.columns(3)
    c1.metric("Status", answer["status"])
    c2.metric("Round trip", f"{answer['ms']:.0f} ms", help="From sending the request to the whole answer, as a "
                                                           "client program sees it.")
    model_ms = answer["body"].get("ms") if isinstance(answer["body"], dict) else None
    c3.metric("Model time", f"{model_ms:.1f} ms" if model_ms is not None else "-", help="Inside the server.")
    if ok and answer["path"] == "/predict":
        st.markdown(f"Prediction: **{answer['body']['predictions'][0]['label']}**")
    st.caption(f"The JSON answer of {answer['path']}:")
    st.code(json.dumps(answer["body"], indent=2, ensure_ascii=False), language="json")


def examples(info: RunInfo, server) -> None:
    """curl and Python that call this server, ready to copy (the copy button is at the top right of each)."""
    st.subheader("4 · Call it from your own code")
    code = client_examples(server.url, info.task, token=server.token)
    st.markdown("From a terminal, with **curl**:")
    st.code(code["curl"], language="bash")
    st.markdown("From **Python** (nothing to install):")
    st.code(code["python"], language="python")
