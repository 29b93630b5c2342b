"""Folders named with quotes, spaces or SQL reach DuckDB as quoted literals (retain/sql.py):
a real `retain run`, `retain export` and `python -m tools.compare` work on such paths, and
a folder name built to end the literal early runs nothing of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from retain.export import export_relations
from retain.interface import PUBLISHED_RELATIONS
from retain.meta import META_RELATION
from retain.settings import PROJECT_DIR
from retain.sql import sql_identifier
from tests.python.conftest import FIXTURES, query

RETAIN = str(Path(sys.executable).with_name("retain"))
AS_OF = "2024-03-31"
EXPORTED = (*PUBLISHED_RELATIONS, META_RELATION)
# valid_small as of 2024-03-31, worked out from its CSV files: cus_1 pays 5 seats at 10.00
# less a 5.00 discount for January, 50.00 for February, and its last period ends on
# 5 March; cus_2 pays 2 seats at 9.00 EUR (1.09, then 1.08 USD per EUR, a drift under the
# 0.50 change threshold) until its subscription ends on 24 March; cus_3 only trials.
FCT_MRR = [
    ("cus_1", date(2024, 1, 1), Decimal("45.00"), "new"),
    ("cus_1", date(2024, 2, 1), Decimal("50.00"), "expansion"),
    ("cus_1", date(2024, 3, 1), Decimal("0.00"), "churn"),
    ("cus_2", date(2024, 1, 1), Decimal("19.62"), "new"),
    ("cus_2", date(2024, 2, 1), Decimal("19.44"), "unchanged"),
    ("cus_2", date(2024, 3, 1), Decimal("0.00"), "churn"),
]
CUSTOMERS = 3


@dataclass(frozen=True)
class QuotedRun:
    """The one real `retain run` of this module, from and into folders named with quotes."""

    root: Path
    warehouse: Path
    env: dict[str, str]


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def quoted_run(tmp_path_factory: pytest.TempPathFactory) -> QuotedRun:
    root = tmp_path_factory.mktemp("quotes")
    raw = root / "it's a \"raw\" folder"
    shutil.copytree(FIXTURES / "valid_small", raw)
    warehouse = root / "o'brien's \"warehouse\"" / "retain.duckdb"
    env = {**os.environ, "DBT_TARGET_PATH": str(root / "target"),
           "DBT_LOG_PATH": str(root / "logs")}
    result = _run([RETAIN, "run", "--raw", str(raw), "--warehouse", str(warehouse),
                   "--as-of", AS_OF], env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return QuotedRun(root, warehouse, env)


def _published_rows(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(f"select count(*) from {sql_identifier(name)}").fetchall()[0][0]
                for name in EXPORTED}


def _file_rows(path: Path) -> int:
    reader = "read_parquet(?)" if path.suffix == ".parquet" else "read_csv(?, header = true)"
    with duckdb.connect() as con:
        return con.execute(f"select count(*) from {reader}", [str(path)]).fetchall()[0][0]


def _export(quoted_run: QuotedRun, out: Path,
            file_format: str) -> subprocess.CompletedProcess[str]:
    return _run([RETAIN, "export", "--format", file_format, "--out", str(out),
                 "--warehouse", str(quoted_run.warehouse)], quoted_run.env)


def test_run_reads_and_publishes_through_quoted_folders(quoted_run: QuotedRun) -> None:
    published = {name for (name,) in query(quoted_run.warehouse,
                                           "select table_name from information_schema.tables")}
    assert set(EXPORTED) <= published
    assert query(quoted_run.warehouse, "select customer_id, month, mrr, movement from fct_mrr "
                                       "order by customer_id, month") == FCT_MRR
    assert query(quoted_run.warehouse, "select count(*) from dim_customers") == [(CUSTOMERS,)]


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_export_into_a_quoted_folder(quoted_run: QuotedRun, file_format: str) -> None:
    out = quoted_run.root / f"the \"{file_format}\" export's folder"

    result = _export(quoted_run, out, file_format)

    assert result.returncode == 0, result.stderr[-4000:]
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"{name}.{file_format}" for name in EXPORTED)
    rows = {name: _file_rows(out / f"{name}.{file_format}") for name in EXPORTED}
    assert rows == _published_rows(quoted_run.warehouse)
    assert rows["fct_mrr"] == len(FCT_MRR)


def test_a_folder_name_written_to_inject_sql_stays_a_name(quoted_run: QuotedRun,
                                                           tmp_path: Path) -> None:
    pwned = tmp_path / "pwned.csv"
    name = f"x' (format csv); copy (select 42) to '{pwned}' (format csv); --"
    out = Path(f"{tmp_path}/{name}")  # its slashes make it a few folders deep

    result = _export(quoted_run, out, "parquet")

    assert not pwned.exists()
    assert result.returncode == 0, result.stderr[-4000:]
    assert [path.name for path in tmp_path.iterdir()] == [name.split("/")[0]]
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"{relation}.parquet" for relation in EXPORTED)


def test_compare_reads_warehouses_and_exports_in_quoted_folders(quoted_run: QuotedRun) -> None:
    copy = quoted_run.root / "a \"copy\" of o'brien's" / "retain.duckdb"
    copy.parent.mkdir()
    shutil.copy(quoted_run.warehouse, copy)
    exported = quoted_run.root / "it's the \"compared\" export"
    export_relations(quoted_run.warehouse, exported, "parquet")

    for after in (copy, exported):
        result = _run([sys.executable, "-m", "tools.compare", str(quoted_run.warehouse),
                       str(after)], quoted_run.env)

        assert result.returncode == 0, result.stdout + result.stderr[-4000:]
        assert result.stdout.splitlines() == [
            f"{len(PUBLISHED_RELATIONS)} of {len(PUBLISHED_RELATIONS)} interface tables "
            "identical"]
