"""Shared fixtures: warehouses built by the real pipeline from raw fixture folders."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retain.dbt import PRODUCTION_BUILD, dbt_arguments, run_dbt
from retain.load import load_raw
from retain.settings import Settings, quiet_telemetry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

BuildWarehouse = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def _isolated_dbt_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """dbt's target/ and logs/ go to a temporary folder, not the work tree."""
    quiet_telemetry()
    scratch = tmp_path_factory.mktemp("dbt")
    previous = {name: os.environ.get(name) for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    os.environ["DBT_TARGET_PATH"] = str(scratch / "target")
    os.environ["DBT_LOG_PATH"] = str(scratch / "logs")
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def build_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuildWarehouse:
    """Load a raw folder and run dbt on it, once per arguments.

    The default command is the production `dbt build`, data tests included; a
    variant of settings can ask for just the models it reads (e.g.
    ("run", "--select", "+fct_mrr")) to keep the suite fast.
    """
    built: dict[str, Path] = {}

    def build(raw_dir: Path, as_of: date, extra_vars: dict[str, Any] | None = None,
              command: tuple[str, ...] = PRODUCTION_BUILD) -> Path:
        key = json.dumps([str(raw_dir), as_of.isoformat(), extra_vars or {}, command],
                         sort_keys=True)
        if key not in built:
            warehouse = tmp_path_factory.mktemp("warehouse") / "retain.duckdb"
            load_raw(raw_dir, warehouse)
            settings = Settings(as_of=as_of).with_overrides(**(extra_vars or {}))
            outcome = run_dbt(dbt_arguments(command, settings), warehouse)
            assert outcome.success, "\n".join(outcome.failures)
            built[key] = warehouse
        return built[key]

    return build


def query(warehouse: Path, sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    """Open, query and close: never hold the warehouse open across a dbt run."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()
