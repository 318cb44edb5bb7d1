"""Serve a run's REST API with uvicorn, and the Deploy page's servers: managed child processes, one per run.

`serve` opens the port itself before the model loads, so a taken port is one plain sentence at
once. `ServerProcess` runs `python -m bigmodel_core serve` in a session of its own, waits for
/health, and keeps its log. The child watches the app's process (as training children do,
training/process_runner.py) and stops itself when the app dies; the registry below stops every
server when the app exits normally.
"""
from __future__ import annotations

import atexit
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import BigModelError, error_texts, error_to_dict, msg

DEFAULT_HOST = "127.0.0.1"  # this computer only: serving to the network is a choice (--host 0.0.0.0)
DEFAULT_PORT = 8000
START_TIMEOUT_S = 90.0  # importing torch and loading a model on a busy 2-core machine takes several seconds
TOKEN_ENV = "BIGMODEL_SERVE_TOKEN"  # the token reaches the child here, not on its command line (`ps` shows that)
WATCH_ENV = "BIGMODEL_WATCH_PARENT"  # the pid the child watches; it stops when that process is gone
ERRORS_ENV = "BIGMODEL_SERVE_ERRORS"  # set by ServerProcess: a failing child also prints its error as JSON (keys kept)
ERROR_MARK = "@bigmodel-error "  # that line's prefix; the parent reads it and leaves it out of the log it shows
LOG_TAIL_BYTES = 16_000
ROOT = Path(__file__).resolve().parents[2]  # the folder holding bigmodel_core, for the child's import path


class ServerStartError(BigModelError):
    """The server process ended (or never answered) while starting; `log` holds the end of its output."""

    def __init__(self, message: str, hint: str = "", log: str = "") -> None:
        super().__init__(message, hint)
        self.log = log


def url_for(host: str, port: int) -> str:
    """The address to type into a browser: every-address binds are reached through 127.0.0.1."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def bind(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening socket on host:port; a plain error when the port is taken or not allowed."""
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise BigModelError(msg("errors.server.port_number", "{port} is not a port number.", port=port),
                            msg("errors.server.port_number.hint",
                                "Choose a port from 1024 to 65535, for example 8000."))
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        raise BigModelError(msg("errors.server.host", "'{host}' is not an address this computer can listen on.",
                                host=host),
                            msg("errors.server.host.hint",
                                "Use 127.0.0.1 (this computer only) or 0.0.0.0 (every network it is on).")) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a closing old server is no obstacle
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _port_error(exc, host, port) from None
    return sock


def _port_error(exc: OSError, host: str, port: int) -> BigModelError:
    if exc.errno == errno.EADDRINUSE:
        spare = free_port(host, port + 1)
        hint = msg("errors.server.port_in_use.hint_spare", "Choose another port, for example {spare}, or stop the "
                   "program that uses it.", spare=spare) if spare else \
            msg("errors.server.port_in_use.hint", "Choose another port, or stop the program that uses it.")
        return BigModelError(msg("errors.server.port_in_use", "Port {port} is already in use.", port=port), hint)
    if exc.errno == errno.EACCES:
        return BigModelError(msg("errors.server.port_admin", "Port {port} needs administrator rights.", port=port),
                             msg("errors.server.port_admin.hint", "Choose a port above 1023, for example 8000."))
    if exc.errno == errno.EADDRNOTAVAIL:
        return BigModelError(msg("errors.server.not_this_host", "'{host}' is not an address of this computer.",
                                 host=host),
                             msg("errors.server.not_this_host.hint", "Use 127.0.0.1, or 0.0.0.0 for every network."))
    return BigModelError(msg("errors.server.port_other", "Port {port} cannot be opened ({reason}).", port=port,
                             reason=str(exc.strerror)),
                         msg("errors.server.port_other.hint", "Choose another port."))


def port_is_free(host: str, port: int) -> bool:
    try:
        bind(host, port).close()
    except BigModelError:
        return False
    return True


def free_port(host: str = DEFAULT_HOST, start: int = DEFAULT_PORT, tries: int = 50) -> Optional[int]:
    """The first port from `start` on that nothing listens on (None if `tries` ports are all taken)."""
    return next((p for p in range(start, min(start + tries, 65536)) if port_is_free(host, p)), None)


def serve(run: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: Optional[str] = None,
          home: str | Path | None = None, access_log: bool = True, watch_parent: Optional[int] = None,
          announce: Optional[Callable[[dict[str, Any]], None]] = None) -> None:
    """Serve run `run` at http://host:port until Ctrl-C or SIGTERM (KeyboardInterrupt follows the clean stop).

    Args:
        announce: called with {"url", "docs", "run", "backend", "task"} once the model is loaded and the
            port is open (default: print the URL).
        watch_parent: stop when the process with this pid is no longer our parent (the app died).
    Raises:
        BigModelError: the port is taken or not allowed, or the run is missing or damaged.
    """
    try:
        _serve(run, host, port, token, home, access_log, watch_parent, announce)
    except BigModelError as exc:
        if os.environ.get(ERRORS_ENV):  # the Deploy page started us: it shows this error in the user's language
            print(ERROR_MARK + json.dumps(error_to_dict(exc)), file=sys.stderr, flush=True)
        raise


def _serve(run, host, port, token, home, access_log, watch_parent, announce) -> None:
    import uvicorn

    from .api import create_app

    sock = bind(host, port)  # first: a taken port is said before the model takes seconds to load
    try:
        app = create_app(run, home=home, token=token)
        service = app.state.service
        url = url_for(host, port)
        facts = {"url": url, "docs": f"{url}/docs", "run": service.predictor.run_id, "backend": service.backend,
                 "task": service.task.name, "host": host, "port": port, "token": bool(token),
                 "open_to_network": host not in ("127.0.0.1", "localhost", "::1")}
        (announce or _say)(facts)
        if watch_parent:
            watch_parent_process(watch_parent)
        config = uvicorn.Config(app, access_log=access_log, log_level="info", lifespan="off",
                                timeout_graceful_shutdown=5, log_config=_log_config())
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def _log_config() -> dict[str, Any]:
    """uvicorn's logging with the access log on stderr too: stdout keeps only what `serve` prints (JSON with --json)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _say(facts: dict[str, Any]) -> None:
    print(f"Serving the run {facts['run']} ({facts['backend']}) at {facts['url']}  (API docs: {facts['docs']}; "
          "Ctrl-C stops it)", flush=True)


def watch_parent_process(parent: int, every_s: float = 1.0) -> None:
    """SIGTERM ourselves once `parent` is no longer our parent (it died: we were handed to init)."""
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)  # uvicorn shuts down gracefully on SIGTERM
                return
            time.sleep(every_s)

    threading.Thread(target=watch, name="bigmodel-parent-watch", daemon=True).start()


def get_json(url: str, token: Optional[str] = None, timeout: float = 2.0) -> tuple[int, Any]:
    """(status, parsed JSON body or None) of GET `url`; status 0 when nothing answers."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):  # refused, reset, timed out, or not JSON: not our server (yet)
        return 0, None


class ServerProcess:
    """One `python -m bigmodel_core serve` child process for a run: start, status, log, stop."""

    def __init__(self, run: str, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, token: Optional[str] = None,
                 home: str | Path | None = None) -> None:
        self.run, self.port, self.host, self.token = str(run), int(port), host, token or None
        self.home = home
        self.url = url_for(host, self.port)
        self.proc: Optional[subprocess.Popen] = None
        self._log: Optional[Any] = None  # our read handle on the child's output (the file itself is already unlinked)
        self.stopped = False  # stopped on purpose (Stop, or the app exiting), not crashed
        self.backend: Optional[str] = None
        self.started_at: Optional[float] = None
        self._final_log = ""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bigmodel_core", "serve", "--run", self.run, "--host", self.host,
                "--port", str(self.port)]

    def start(self, timeout: float = START_TIMEOUT_S) -> "ServerProcess":
        """Start the child and wait until its /health answers. Raises BigModelError (port taken) or
        ServerStartError (the child ended or did not answer in time; its log attached)."""
        from ..runs.store import home_dir

        bind(self.host, self.port).close()  # a taken port is said at once, not after the child fails
        env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        env.update({"BIGMODEL_HOME": str(home_dir(self.home)), "PYTHONUNBUFFERED": "1", WATCH_ENV: str(os.getpid()),
                    ERRORS_ENV: "json",
                    "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
        if self.token:
            env[TOKEN_ENV] = self.token
        fd, path = tempfile.mkstemp(prefix="bigmodel-serve-", suffix=".log")
        try:
            self._log = open(path, "rb")
            with os.fdopen(fd, "wb") as out:
                self.proc = subprocess.Popen(self.command(), env=env, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.unlink(path)  # the child writes and we read through open handles: even kill -9 leaves no file
        self.started_at = time.time()
        self._wait_until_up(timeout)
        return self

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._start_error()
            status, body = get_json(f"{self.url}/health", timeout=1.0)
            if status == 200 and isinstance(body, dict) and body.get("run") == self.run:
                self.backend = body.get("backend")
                return
            time.sleep(0.2)  # polling the child's own health answer
        log = self.log_tail()
        self.stop()
        raise ServerStartError(msg("errors.server.no_answer", "The server did not answer within {seconds:.0f} "
                                   "seconds.", seconds=float(timeout)),
                               msg("errors.server.no_answer.hint", "Its log is below; try again, or try another port."),
                               log)

    def _start_error(self) -> ServerStartError:
        said, hint = self._child_error()
        log = self.log_tail()
        self._cleanup()
        if said:
            message = msg("errors.server.stopped_starting_said", "The server stopped while starting: {said}", said=said)
        else:
            message = msg("errors.server.stopped_starting", "The server stopped while starting (exit code {code}).",
                          code=self.proc.returncode)
        return ServerStartError(message, hint or msg("errors.server.stopped_starting.hint", "Its log is below."), log)

    def _child_error(self) -> tuple[str, str]:
        """(message, hint) the child said when it failed: from its JSON line (keys kept) or its Error:/Hint: lines."""
        lines = [ln.strip() for ln in self._raw_tail().splitlines()]
        for ln in reversed(lines):
            if ln.startswith(ERROR_MARK):
                try:
                    return error_texts(json.loads(ln[len(ERROR_MARK):]))
                except (ValueError, AttributeError):
                    break
        said = next((ln[len("Error: "):] for ln in reversed(lines) if ln.startswith("Error: ")), "")
        hint = next((ln[len("Hint: "):] for ln in reversed(lines) if ln.startswith("Hint: ")), "")
        return said, hint

    @property
    def status(self) -> str:
        """"not started" | "running" | "stopped" (on purpose) | "crashed" (ended by itself)."""
        if self.proc is None:
            return "not started"
        if self.proc.poll() is None:
            return "running"
        return "stopped" if self.stopped else "crashed"

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def exit_code(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines the server printed (kept after it stops), without the error line meant for the app."""
        kept = [ln for ln in self._raw_tail().splitlines() if not ln.startswith(ERROR_MARK)]
        return "\n".join(kept[-lines:])

    def _raw_tail(self) -> str:
        text = self._final_log
        log = self._log
        if log is not None:  # pread: pages of several browsers may read at once, without a shared file position
            try:
                start = max(0, os.fstat(log.fileno()).st_size - LOG_TAIL_BYTES)
                text = os.pread(log.fileno(), LOG_TAIL_BYTES, start).decode("utf-8", errors="replace")
            except (OSError, ValueError):  # closed by a stop() in another thread just now: its tail is kept
                text = self._final_log
        return text

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group (uvicorn finishes open requests), SIGKILL if it lingers."""
        self.stopped = True
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self._cleanup()

    def _cleanup(self) -> None:
        """Keep the log's tail in memory and let go of the (unlinked) file."""
        if self._log is not None:
            self._final_log = "\n".join(self._raw_tail().splitlines()[-200:])
            self._log.close()
            self._log = None


# --- the Deploy page's registry: one server per run, all stopped when the app exits -----------------
_servers: dict[str, ServerProcess] = {}
_lock = threading.Lock()


def start_server(run: str, port: int = DEFAULT_PORT, token: Optional[str] = None, host: str = DEFAULT_HOST,
                 home: str | Path | None = None, timeout: float = START_TIMEOUT_S) -> ServerProcess:
    """Start (and remember) the server of `run`; a plain error if it is already running."""
    with _lock:
        old = _servers.get(run)
        if old is not None and old.running:
            raise BigModelError(msg("errors.server.already_served", "The run '{run}' is already served at {url}.",
                                    run=run, url=old.url),
                                msg("errors.server.already_served.hint",
                                    "Stop that server first to start it on another port or with another token."))
        server = ServerProcess(run, port, host, token, home)
        _servers[run] = server  # kept even if it fails to start: the page shows its status and log
        atexit.unregister(stop_all)  # registered once, however many servers start
        atexit.register(stop_all)
    if old is not None:
        old.stop()
    return server.start(timeout)


def server_for(run: str) -> Optional[ServerProcess]:
    return _servers.get(run)


def stop_server(run: str) -> None:
    server = _servers.get(run)
    if server is not None:
        server.stop()


def stop_all() -> None:
    """Stop every server the registry started (at exit, and between tests)."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()
