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
from ui.i18n import t, tr
from ui.run_list import run_label

SAMPLE = "a gripping, well acted film"


def pick_run(runs: list[RunInfo]) -> RunInfo:
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox(t("deploy.pick"), list(by_id), key="deploy_run",
                          format_func=lambda i: run_label(by_id[i]), help=t("deploy.pick_help"))
    return by_id[run_id]


def export_section(info: RunInfo) -> None:
    """Whether the run has a verified ONNX export (served by onnxruntime), and a button to make one."""
    st.subheader(t("deploy.export.heading"))
    home = str(home_dir())
    with guarded():
        facts = export_state(info.id, home)
    if not facts["available"]:
        st.info(t("deploy.export.not_installed"), icon="ℹ️")
        return
    if facts["verified"]:
        st.success(t("deploy.export.verified", diff=facts["max_abs_diff"]), icon="✅")
    elif facts["exported"]:
        st.warning(t("deploy.export.differs", diff=facts["max_abs_diff"], tolerance=facts.get("tolerance") or 1e-4),
                   icon="⚠️")
    else:
        st.caption(t("deploy.export.none_yet"))
    if st.button(t("deploy.export.button"), key="deploy_export", disabled=facts["verified"],
                 help=t("deploy.export.button_help")):
        bar = st.progress(0.0, text=t("deploy.export.progress"))
        try:
            export_to_onnx(info.id, home, progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0),
                                                                                        text=tr(text)))
        except Exception as exc:  # noqa: BLE001 - shown on the page; the app goes on
            st.session_state["deploy_export_error"] = exc
        st.rerun()
    error = st.session_state.pop("deploy_export_error", None)
    if error is not None:
        show_error(error)
    serving = server_for(info.id)
    if serving is not None and serving.running and facts["verified"] and serving.backend != "onnxruntime":
        st.caption(t("deploy.export.restart"))


def server_section(info: RunInfo) -> Optional[Any]:
    """Port, token, Start/Stop, and the server's URL, status and log. Returns the running server, if any."""
    st.subheader(t("deploy.server.heading"))
    server = server_for(info.id)
    running = server is not None and server.running
    if running:
        st.caption(t("deploy.server.facts", port=server.port, host=server.host,
                     token=t("deploy.server.token_required") if server.token else t("deploy.server.no_token")))
    else:
        c1, c2, c3 = st.columns([1, 2, 2])
        first = st.session_state.setdefault("deploy_first_free_port", free_port() or 8000)  # once: a stable default
        c1.number_input(t("deploy.server.port"), 1024, 65535, value=first, key="deploy_port",
                        help=t("deploy.server.port_help"))
        c2.text_input(t("deploy.server.token"), key="deploy_token", placeholder=t("deploy.server.token_placeholder"),
                      help=t("deploy.server.token_help"))
        c3.checkbox(t("deploy.server.network"), key="deploy_network", help=t("deploy.server.network_help"))
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button(t("deploy.server.start"), key="deploy_start", type="primary", disabled=running,
                 help=t("deploy.server.start_help")):
        _start(info.id)
    if b2.button(t("deploy.server.stop"), key="deploy_stop", disabled=not running, help=t("deploy.server.stop_help")):
        stop_server(info.id)
        st.rerun()
    _show_start_error()
    if server is not None:
        _status(server)
    return server if running else None


def _start(run_id: str) -> None:
    ss = st.session_state
    try:
        with st.spinner(t("deploy.server.starting")):
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
        st.success(t("deploy.server.running", url=server.url, backend=backend), icon="🟢")
        st.markdown(t("deploy.server.docs", url=server.url))
    elif status == "crashed":
        st.error(t("deploy.server.crashed", code=server.exit_code), icon="⚠️")
    elif status == "stopped":
        st.info(t("deploy.server.stopped"), icon="⏹")
    log = server.log_tail()
    if log:
        with st.expander(t("deploy.server.log"), expanded=status == "crashed"):
            st.code(log, language=None)


def console(info: RunInfo, server) -> None:
    """Send one input to the running server and show its JSON answer and how long it took."""
    st.subheader(t("deploy.try.heading"))
    if info.task == "image":
        with guarded():
            images, labels = state.test_images(info.id, info)
        i = st.slider(t("deploy.try.image"), 0, len(images) - 1, 0, key="deploy_image_index",
                      help=t("deploy.try.image_help"))
        c1, c2 = st.columns([1, 4])
        c1.image(images[i], caption=t("deploy.try.true_class", label=labels[i]), width=96, clamp=True)
        picture = png_base64(images[i])
        c2.download_button(t("deploy.try.download"), base64.b64decode(picture), file_name="digit.png",
                           mime="image/png", key="deploy_image_download", help=t("deploy.try.download_help"))
        calls = {"predict": ("/predict", {"images": [picture]})}
    else:
        text = st.text_input(t("deploy.try.text"), value=SAMPLE, key="deploy_text", help=t("deploy.try.text_help"))
        calls = {"predict": ("/predict", {"texts": [text]}), "explain": ("/explain", {"text": text, "samples": 500})}
    cols = st.columns([1, 1, 4])
    for col, (name, (path, payload)) in zip(cols, calls.items()):
        if col.button(t("deploy.try.send", path=path), key=f"deploy_send_{name}",
                      help=t(f"deploy.try.send_{name}_help")):
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
    c1.metric(t("deploy.answer.status"), answer["status"], help=t("deploy.answer.status_help"))
    c2.metric(t("deploy.answer.round_trip"), f"{answer['ms']:.0f} ms", help=t("deploy.answer.round_trip_help"))
    model_ms = answer["body"].get("ms") if isinstance(answer["body"], dict) else None
    c3.metric(t("deploy.answer.model_time"), f"{model_ms:.1f} ms" if model_ms is not None else "-",
              help=t("deploy.answer.model_time_help"))
    if ok and answer["path"] == "/predict":
        st.markdown(t("deploy.answer.prediction", label=answer["body"]["predictions"][0]["label"]))
    st.caption(t("deploy.answer.json", path=answer["path"]))
    st.code(json.dumps(answer["body"], indent=2, ensure_ascii=False), language="json")


def examples(info: RunInfo, server) -> None:
    """curl and Python that call this server, ready to copy (the copy button is at the top right of each)."""
    st.subheader(t("deploy.code.heading"))
    st.caption(t("deploy.code.caption"))
    code = client_examples(server.url, info.task, token=server.token)
    st.markdown(t("deploy.code.curl"))
    st.code(code["curl"], language="bash")
    st.markdown(t("deploy.code.python"))
    st.code(code["python"], language="python")
