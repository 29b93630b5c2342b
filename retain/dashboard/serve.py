"""`retain dashboard` / `make dashboard`: the dashboard on 127.0.0.1 only, usage statistics off.

Streamlit reads .streamlit/config.toml from its working directory only, so every option
that matters is given on its command line, where it wins over config files and
STREAMLIT_* variables: the same server wherever it is started from. There is no option
to listen on another address, because the dashboard has no authentication; app.py
refuses to serve under any server `server_problems` finds unsafe.

Streamlit is not imported here: the `retain` command imports this module for every
subcommand.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from retain.settings import QUIET_ENVIRONMENT, resolved_settings

DESCRIPTION = ("Serve the dashboard over the published warehouse on 127.0.0.1 only, with "
               "Streamlit's usage statistics off, whatever the working directory.")
APP = Path(__file__).resolve().parent / "app.py"
ADDRESS = "127.0.0.1"
LOOPBACK_ADDRESSES = frozenset({ADDRESS, "::1", "localhost"})
DEFAULT_PORT = 8501


def server_problems(get_option: Callable[[str], Any]) -> list[str]:
    """What is unsafe about a Streamlit server, given its option getter (st.get_option);
    empty when it may serve the dashboard."""
    problems = []
    # Unset (None or ""), Streamlit listens on every interface.
    address = get_option("server.address")
    if address not in LOOPBACK_ADDRESSES:
        problems.append(f"it listens on {address or 'every interface'}, not 127.0.0.1 only")
    if get_option("browser.gatherUsageStats"):
        problems.append("it sends usage statistics to Streamlit")
    return problems


def streamlit_command(port: int) -> list[str]:
    """`streamlit run` of this interpreter's Streamlit; toolbarMode as .streamlit/config.toml
    has it, so that the working directory changes nothing."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", ADDRESS, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # A string default goes through type= only when this command is parsed, so a bad
    # DASHBOARD_PORT cannot break the other commands.
    parser.add_argument("--port", type=_port,
                        default=os.environ.get("DASHBOARD_PORT", str(DEFAULT_PORT)),
                        help=f"port on {ADDRESS} (env DASHBOARD_PORT; default {DEFAULT_PORT})")
    parser.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                        help="published DuckDB file the dashboard reads (env "
                             "RETAIN_DUCKDB_PATH; default warehouse/retain.duckdb)")


def _exit_code(server: subprocess.Popen[bytes]) -> int:
    """Streamlit's exit code. SIGINT and SIGTERM of this process go on to Streamlit, which
    stops cleanly on either (a terminal's Ctrl-C reaches both: Streamlit takes it twice)."""
    def forward(signal_number: int, _frame: object) -> None:
        server.send_signal(signal_number)

    previous = {number: signal.signal(number, forward)
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = server.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    # Popen reports death by signal N as -N; a shell reports 128 + N.
    return 128 - code if code < 0 else code


def run(args: argparse.Namespace) -> int:
    """Serve until Streamlit stops; its exit code."""
    # Resolved here: a relative --warehouse is relative to where the command was run.
    warehouse = resolved_settings(
        warehouse=args.warehouse.resolve() if args.warehouse else None).warehouse
    environment = {**os.environ, **QUIET_ENVIRONMENT, "RETAIN_DUCKDB_PATH": str(warehouse)}
    print(f"retain dashboard: {warehouse} on http://{ADDRESS}:{args.port} (Ctrl-C stops it)",
          file=sys.stderr, flush=True)
    return _exit_code(subprocess.Popen(streamlit_command(args.port), env=environment))

