"""`retain dashboard` serves on 127.0.0.1 only with usage statistics off wherever it is
started, and app.py shows nothing under a Streamlit server that does not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pytest
from streamlit import config
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest
from websockets.sync.client import connect

from retain.dashboard import data
from retain.dashboard.serve import ADDRESS, APP
from tools.browser import free_port

RETAIN = Path(sys.executable).parent / "retain"
START_SECONDS = 60
STOP_SECONDS = 20
# What a plain `streamlit run` in this folder would listen with, and a user's environment
# could ask for: `retain dashboard` overrides both.
UNSAFE_CONFIG = '[server]\naddress = "0.0.0.0"\n\n[browser]\ngatherUsageStats = true\n'
UNSAFE_ENVIRONMENT = {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
                      "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "true"}
SetServerOptions = Callable[[str | None, bool], None]


def answers(server: subprocess.Popen[str], port: int) -> bool:
    """Whether the server's health endpoint answers before it exits or time runs out."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://{ADDRESS}:{port}/_stcore/health", timeout=2):
                return True
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.5)


def kill(tree: list[psutil.Process]) -> None:
    for process in tree:
        with suppress(psutil.NoSuchProcess):
            process.kill()


@contextmanager
def dashboard(cwd: Path, port: int, warehouse: str) -> Iterator[
        tuple[subprocess.Popen[str], list[psutil.Process]]]:
    """`retain dashboard` started in cwd, in a session of its own (as a terminal's
    foreground job); yields it and its process tree once it answers, and kills what is
    left of the tree at the end."""
    server = subprocess.Popen(
        [str(RETAIN), "dashboard", "--port", str(port), "--warehouse", warehouse], cwd=cwd,
        env={**os.environ, **UNSAFE_ENVIRONMENT}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    root = psutil.Process(server.pid)
    tree = [root]
    try:
        started = answers(server, port)
        if root.is_running():
            tree += root.children(recursive=True)
        if not started:
            kill(tree)  # first: Streamlit holds the output pipe open
            pytest.fail(f"retain dashboard did not start: {server.communicate()[0]}")
        yield server, tree
    finally:
        kill(tree)
        server.wait()


def listening_sockets(tree: list[psutil.Process]) -> set[tuple[str, int]]:
    return {(connection.laddr.ip, connection.laddr.port) for process in tree
            for connection in process.net_connections(kind="inet")
            if connection.status == psutil.CONN_LISTEN}


def first_visit(port: int) -> tuple[bool, list[str]]:
    """One run of the app over Streamlit's websocket, as a browser's first visit: whether
    the session gathers usage statistics (what the frontend obeys) and the headings and
    alerts it drew."""
    request = BackMsg()
    request.rerun_script.SetInParent()
    gathers, drawn = True, []
    with connect(f"ws://{ADDRESS}:{port}/_stcore/stream", subprotocols=["streamlit"],
                 open_timeout=10) as stream:
        stream.send(request.SerializeToString())
        while True:
            message = ForwardMsg.FromString(stream.recv(timeout=START_SECONDS))
            kind = message.WhichOneof("type")
            if kind == "new_session":
                gathers = message.new_session.config.gather_usage_stats
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") in {"heading", "alert"}:
                    drawn.append(getattr(element, element.WhichOneof("type")).body)
            elif kind == "script_finished":
                return gathers, drawn


@pytest.mark.parametrize("stop", ["SIGTERM to retain", "Ctrl-C"])
def test_retain_dashboard_listens_on_loopback_only_without_usage_statistics(
        tmp_path: Path, stop: str) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(UNSAFE_CONFIG)
    port = free_port()
    with dashboard(tmp_path, port, "missing.duckdb") as (server, tree):
        assert listening_sockets(tree) == {(ADDRESS, port)}
        gathers, drawn = first_visit(port)
        assert not gathers
        # Past app.py's guard to the first page, over the --warehouse given (relative to
        # where the command ran).
        assert drawn == ["Revenue", f"no published warehouse at {tmp_path / 'missing.duckdb'}: "
                                    "run `make run` first"]

        if stop == "Ctrl-C":
            os.killpg(server.pid, signal.SIGINT)  # what a terminal sends its foreground job
        else:
            server.terminate()
        output = server.communicate(timeout=STOP_SECONDS)[0]
        assert server.returncode in {0, 130}, output
        assert "Traceback" not in output
        _, alive = psutil.wait_procs(tree, timeout=STOP_SECONDS)
        assert not alive


@pytest.fixture
def server_options() -> Iterator[SetServerOptions]:
    """Sets this process's Streamlit options, which AppTest's app reads as a server's;
    restores them afterwards."""
    names = ("server.address", "browser.gatherUsageStats")
    saved = {name: config.get_option(name) for name in names}

    def set_options(address: str | None, gather_usage_stats: bool) -> None:
        config.set_option("server.address", address)
        config.set_option("browser.gatherUsageStats", gather_usage_stats)
    yield set_options
    for name, value in saved.items():
        config.set_option(name, value)


@pytest.fixture
def reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every read of the (missing) warehouse while the app runs."""
    monkeypatch.setenv("RETAIN_DUCKDB_PATH", str(tmp_path / "missing.duckdb"))
    done: list[Path] = []
    query_frame = data.query_frame

    def recorded(warehouse: Path, *arguments: object) -> object:
        done.append(warehouse)
        return query_frame(warehouse, *arguments)
    monkeypatch.setattr(data, "query_frame", recorded)
    return done


@pytest.mark.parametrize(("address", "gather_usage_stats", "problem"), [
    ("0.0.0.0", False, "it listens on 0.0.0.0, not 127.0.0.1 only"),
    ("::", False, "it listens on ::, not 127.0.0.1 only"),
    (None, False, "it listens on every interface"),
    ("", False, "it listens on every interface"),
    ("127.0.0.1", True, "it sends usage statistics to Streamlit"),
])
def test_app_refuses_an_unsafe_server_before_reading_anything(
        server_options: SetServerOptions, reads: list[Path], address: str | None,
        gather_usage_stats: bool, problem: str) -> None:
    server_options(address, gather_usage_stats)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    (error,) = app.error
    assert problem in error.value
    assert "`retain dashboard` (or `make dashboard`)" in error.value
    assert not app.title
    assert reads == []


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "localhost"])
def test_app_serves_under_a_loopback_server_without_usage_statistics(
        server_options: SetServerOptions, reads: list[Path], address: str) -> None:
    server_options(address, False)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    assert [title.value for title in app.title] == ["Revenue"]
    assert [error.value for error in app.error] == [
        f"no published warehouse at {reads[0]}: run `make run` first"]


def test_a_page_url_does_not_get_past_the_guard(server_options: SetServerOptions,
                                                reads: list[Path]) -> None:
    server_options("0.0.0.0", False)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.switch_page("pages/revenue.py").run()
    assert not app.title
    assert reads == []
