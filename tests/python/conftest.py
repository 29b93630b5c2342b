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

from retain.pipeline import ExitCode, run_pipeline
from retain.settings import quiet_telemetry

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
    """Build (once per arguments) a published warehouse from a raw folder."""
    built: dict[str, Path] = {}

    def build(raw_dir: Path, as_of: date, extra_vars: dict[str, Any] | None = None) -> Path:
        key = json.dumps([str(raw_dir), as_of.isoformat(), extra_vars or {}], sort_keys=True)
        if key not in built:
            warehouse = tmp_path_factory.mktemp("warehouse") / "retain.duckdb"
            report = run_pipeline(raw_dir, warehouse, as_of, extra_vars, progress=lambda _: None)
            assert report.exit_code == ExitCode.OK, "\n".join(report.errors)
            built[key] = warehouse
        return built[key]

    return build


def query(warehouse: Path, sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    """Open, query and close: never hold the warehouse open across a dbt run."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()
