"""Two real `retain run` processes at once: the second exits 4 naming the first, and a
reader polling the published file meanwhile only ever sees a whole snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from retain.publish import lock_path
from tests.python.conftest import FIXTURES

RETAIN = str(Path(sys.executable).with_name("retain"))
RUN = ["run", "--raw", str(FIXTURES / "valid_small"), "--as-of", "2024-03-31"]


def _published_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result = con.execute("select count(*) from fct_mrr").fetchone()
        assert result is not None
        return int(result[0])


def _poll_reads(warehouse: Path, stop: threading.Event, seen: list[int | str]) -> None:
    """Read the published file as a BI tool does (open, query, close) until stopped."""
    while not stop.is_set():
        try:
            seen.append(_published_rows(warehouse))
        except duckdb.Error as error:
            seen.append(f"error: {error}")
        time.sleep(0.05)


def test_second_run_exits_4_and_readers_never_see_a_half_written_file(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse" / "retain.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:  # the snapshot BI tools read before the run
        con.execute("create table fct_mrr as select 'c0' as customer_id, 9.99 as mrr")
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs")}
    command = [RETAIN, *RUN, "--warehouse", str(warehouse)]
    seen: list[int | str] = []
    stop = threading.Event()
    reader = threading.Thread(target=_poll_reads, args=(warehouse, stop, seen))

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    reader.start()
    deadline = time.monotonic() + 60
    while "pid" not in (lock_path(warehouse).read_text() if lock_path(warehouse).exists()
                        else ""):
        assert first.poll() is None and time.monotonic() < deadline, "first run never locked"
        time.sleep(0.05)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    first_out, first_err = first.communicate(timeout=600)
    stop.set()
    reader.join()

    assert second.returncode == 4
    assert f"another retain run is in progress on {warehouse} (pid {first.pid}" in second.stderr
    assert "published warehouse unchanged" in second.stderr
    assert first.returncode == 0, first_err[-2000:]
    assert "Retain run summary" in first_out
    final_rows = _published_rows(warehouse)
    assert final_rows > 1
    # Every read saw the old snapshot or the new one, whole; never an error or a mix.
    assert seen and set(seen) <= {1, final_rows}, [s for s in seen if s not in {1, final_rows}]
    assert seen[0] == 1
