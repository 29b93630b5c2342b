"""Shared fixtures: warehouses built by the real pipeline from raw fixture folders."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retain.dbt import PRODUCTION_BUILD, dated_by_build_file_arguments, run_dbt
from retain.engines.duckdb import define_run_dates
from retain.incremental import RunPlan
from retain.load import load_raw
from retain.settings import Settings, quiet_telemetry
from retain.sql import sql_literal

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

BuildWarehouse = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def _isolated_dbt_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """dbt's target/ and logs/ go to a temporary folder, not the work tree. dbt's debug log
    file is not written: every SQL statement logged costs about 5% of a fixture build
    (about 60 builds a suite), and a failing build's message comes from its events."""
    quiet_telemetry()
    scratch = tmp_path_factory.mktemp("dbt")
    environment = {"DBT_TARGET_PATH": str(scratch / "target"),
                   "DBT_LOG_PATH": str(scratch / "logs"), "DBT_LOG_LEVEL_FILE": "none"}
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest-xdist worker of this session shares (each worker's basetemp is
    a child of the session's); without xdist, the session's basetemp."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Held by one worker at a time (closing the file releases the lock)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def build_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuildWarehouse:
    """Load a raw folder and run dbt on it, once per arguments for the whole session: the
    first worker to ask builds it, the others wait and read the same file. The warehouse
    is shared: open it read-only, or work on a copy.

    The default command is the production `dbt build`, data tests included; a
    variant of settings can ask for just the models it reads (e.g.
    ("run", "--select", "+fct_mrr")) to keep the suite fast.
    """
    root = shared_folder(tmp_path_factory) / "warehouses"

    def build(raw_dir: Path, as_of: date, extra_vars: dict[str, Any] | None = None,
              command: tuple[str, ...] = PRODUCTION_BUILD) -> Path:
        key = json.dumps([str(raw_dir), as_of.isoformat(), extra_vars or {}, command],
                         sort_keys=True)
        folder = root / hashlib.sha256(key.encode()).hexdigest()[:16]
        warehouse, built = folder / "retain.duckdb", folder / "built.json"
        with exclusive(folder.with_suffix(".lock")):
            if not built.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                load_raw(raw_dir, warehouse)
                settings = Settings(as_of=as_of, warehouse=warehouse).with_overrides(
                    **(extra_vars or {}))
                # As retain runs dbt: the dates in the file, --vars the same for every
                # day, so that dbt re-parses only when a build's settings differ.
                define_run_dates(warehouse, settings, RunPlan(incremental=False,
                                                              reason="a test's build"))
                outcome = run_dbt(dated_by_build_file_arguments(command, settings), warehouse)
                assert outcome.success, "\n".join(outcome.failures)
                built.write_text(key)
        return warehouse

    return build


def query(warehouse: Path, sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    """Open, query and close: never hold the warehouse open across a dbt run."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


# `make test` runs the modules in parallel processes (pytest-xdist, --dist loadscope
# --no-loadscope-reorder: a module stays in one process, modules start in this order).
# The longest start first, so that the processes finish together; the rest follow in
# file order. Measured with --durations=0 (seconds, 2 cores, 2 processes): spark 300,
# orchestration 170, incremental 150, faults 100, killed_run 100, revenue 95.
LONGEST_MODULES_FIRST = ("test_spark", "test_orchestration", "test_incremental",
                         "test_faults", "test_killed_run", "test_revenue", "test_validation",
                         "test_customer_success")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: position for position, name in enumerate(LONGEST_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


def csv_as_parquet(raw: Path, table: str, types: dict[str, str] | None = None) -> Path:
    """raw/<table>.parquet written from raw/<table>.csv, as text or, for the columns of
    `types` (column -> SQL type), typed (trimmed, empty as NULL); the Parquet path."""
    csv_path, parquet_path = raw / f"{table}.csv", raw / f"{table}.parquet"
    casts = ", ".join(f"cast(nullif(trim({column}), '') as {sql_type}) as {column}"
                      for column, sql_type in (types or {}).items())
    replaced = f" replace ({casts})" if casts else ""
    with duckdb.connect() as con:
        con.execute(f"copy (select *{replaced} from read_csv({sql_literal(csv_path)}, "
                    f"all_varchar = true)) to {sql_literal(parquet_path)} (format parquet)")
    return parquet_path


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (held open together, so that they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()
