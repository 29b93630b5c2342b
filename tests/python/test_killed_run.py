"""A `retain run` killed with SIGKILL during dbt: its dbt dies with it, holding the run
lock until it has, so the next run neither collides with it nor finds the lock stale."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import psutil

from retain.publish import build_path, lock_path
from tests.python.conftest import FIXTURES

RETAIN = str(Path(sys.executable).with_name("retain"))
DBT = str(Path(sys.executable).with_name("dbt"))
RUN = ["run", "--raw", str(FIXTURES / "valid_small"), "--as-of", "2024-03-31"]
STARTUP_SECONDS = 120  # load and validation, then dbt's start, on a slow machine
DEATH_SECONDS = 5


def _environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs")}


def _dbt_child(run: psutil.Process) -> psutil.Process | None:
    """The run's dbt process, from its start (the launcher that execs dbt) on."""
    try:
        return next((child for child in run.children()
                     if DBT in child.cmdline()), None)
    except psutil.NoSuchProcess:
        return None


def _opened(process: psutil.Process, path: Path) -> bool:
    try:
        return str(path) in {opened.path for opened in process.open_files()}
    except psutil.NoSuchProcess:
        return False


@contextmanager
def _run_until_dbt_writes(command: list[str], env: dict[str, str], logs: Path,
                          build: Path) -> Iterator[tuple[int, psutil.Process]]:
    """Start command; once its dbt child has the build file open, yield the run's pid and
    that child. Whatever of them is left at the end is killed."""
    with (open(logs / "killed.out", "w") as out, open(logs / "killed.err", "w") as err,
          subprocess.Popen(command, env=env, stdout=out, stderr=err) as run):
        dbt = None
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while dbt is None or not _opened(dbt, build):
                assert run.poll() is None, (logs / "killed.err").read_text()[-2000:]
                assert time.monotonic() < deadline, "the run's dbt never opened the build file"
                time.sleep(0.05)
                dbt = dbt or _dbt_child(psutil.Process(run.pid))
            yield run.pid, dbt
        finally:
            run.kill()
            if dbt is not None:
                with suppress(psutil.NoSuchProcess):
                    dbt.kill()  # psutil's kill: never a reused pid


def _assert_dies(dbt: psutil.Process) -> None:
    _, alive = psutil.wait_procs([dbt], timeout=DEATH_SECONDS)
    assert not alive, f"dbt (pid {dbt.pid}) outlived its run by {DEATH_SECONDS} s"


def test_a_killed_run_leaves_no_dbt_writing(tmp_path: Path) -> None:
    """A full run killed, then an incremental one killed and rerun with no wait: the one
    a leftover dbt would collide with, as it keeps the build file (DuckDB's lock)."""
    warehouse = tmp_path / "warehouse" / "retain.duckdb"
    build = build_path(warehouse)
    command = [RETAIN, *RUN, "--warehouse", str(warehouse)]
    env = _environment(tmp_path)

    # Killed once dbt writes the build file, holding the run lock it inherited.
    with _run_until_dbt_writes(command, env, tmp_path, build) as (pid, dbt):
        assert _opened(dbt, lock_path(warehouse))
        os.kill(pid, signal.SIGKILL)
        _assert_dies(dbt)
    with open(lock_path(warehouse)) as lock:  # free: nobody holds it any more
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    duckdb.connect(str(build)).close()  # no process holds the build file open
    assert not warehouse.exists()  # nothing was published
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "Retain run summary" in rerun.stdout
    published = warehouse.read_bytes()

    # The next run continues the kept build file; killed while its dbt writes there, and
    # rerun at once: the rerun finds the lock still held (4) or dbt gone (0), never
    # DuckDB's lock on the build file (a traceback, 1).
    with _run_until_dbt_writes(command, env, tmp_path, build) as (pid, dbt):
        os.kill(pid, signal.SIGKILL)
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        _assert_dies(dbt)
    assert "Traceback" not in rerun.stderr, rerun.stderr[-2000:]
    assert rerun.returncode in {0, 4}, rerun.stderr[-2000:]
    if rerun.returncode == 4:
        assert "another retain run is in progress" in rerun.stderr
        assert warehouse.read_bytes() == published
    else:
        assert "Retain run summary" in rerun.stdout
