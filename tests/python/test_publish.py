"""Publishing: one run at a time, nothing published by a failed run, a published
file that the DuckDB 1.x clients inside BI tools can open, and one plan per run."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retain.dbt import DbtOutcome
from retain.incremental import RunPlan, run_plan
from retain.pipeline import ExitCode, run_pipeline
from retain.publish import (
    PUBLISHED_STORAGE_VERSION,
    build_path,
    prune_snapshots,
    publish,
    run_lock,
)
from retain.settings import Settings
from tests.python.conftest import FIXTURES

VALID_SMALL = FIXTURES / "valid_small"
AS_OF = date(2024, 3, 31)
DUCKDB_2_STORAGE = 999  # version number in the header of a file written in DuckDB 2.x format
DUCKDB_1_4_STORAGE = 67


@pytest.fixture
def published(tmp_path: Path) -> Path:
    warehouse = tmp_path / "warehouse" / "retain.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table fct_mrr as select 1 as customer_id, 9.99 as mrr")
    return warehouse


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _header_storage_version(path: Path) -> int:
    """The storage version number DuckDB writes after the magic bytes of the main header."""
    header = path.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    return int.from_bytes(header[12:20], "little")


def _fake_dbt(succeed: bool) -> Any:
    """Stands in for `dbt build`: writes a view over raw (qualified by the
    catalog, as dbt does) and a table, or fails."""
    def run_dbt(command: list[str], warehouse: Path, *args: Any, **kwargs: Any) -> DbtOutcome:
        if not succeed:
            return DbtOutcome(success=False, failures=["model.retain.fct_mrr: boom"])
        catalog = warehouse.stem
        with duckdb.connect(str(warehouse)) as con:
            con.execute(f"create view main.stg_customers as "
                        f"select trim(customer_id) as customer_id from {catalog}.raw.customers")
            con.execute("create table main.dim_customers as select * from main.stg_customers")
        return DbtOutcome(success=True, counts={"success": 2})
    return run_dbt


def test_second_run_exits_4_naming_the_running_one(tmp_path: Path, published: Path) -> None:
    before = _fingerprint(published)
    with run_lock(published):
        report = run_pipeline(Settings(raw_dir=VALID_SMALL, warehouse=published, as_of=AS_OF,
                                   report_dir=tmp_path / "gx"), progress=lambda _: None)

    assert report.exit_code == ExitCode.RUN_IN_PROGRESS
    [message] = report.errors
    assert (f"another retain run is in progress on {published} (pid {os.getpid()}, started "
            in message)
    assert _fingerprint(published) == before


def test_failed_build_leaves_the_published_warehouse_intact(
        tmp_path: Path, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("retain.pipeline.run_dbt", _fake_dbt(succeed=False))
    before = _fingerprint(published)

    report = run_pipeline(Settings(raw_dir=VALID_SMALL, warehouse=published, as_of=AS_OF,
                                   report_dir=tmp_path / "gx"), progress=lambda _: None)

    assert report.exit_code == ExitCode.BUILD_FAILED
    assert report.errors == ["model.retain.fct_mrr: boom"]
    assert _fingerprint(published) == before


def test_a_run_publishes_a_file_duckdb_1_4_reads(
        tmp_path: Path, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("retain.pipeline.run_dbt", _fake_dbt(succeed=True))

    report = run_pipeline(Settings(raw_dir=VALID_SMALL, warehouse=published, as_of=AS_OF,
                                   report_dir=tmp_path / "gx"), progress=lambda _: None)

    assert report.exit_code == ExitCode.OK, report.errors
    assert report.validation is not None and report.validation.passed
    assert list(report.timings) == ["load", "validate", "dbt build", "publish"]
    assert _header_storage_version(published) == DUCKDB_1_4_STORAGE
    with duckdb.connect(str(published), read_only=True) as con:
        [(tags,)] = con.execute("select tags from duckdb_databases() "
                                "where database_name = 'retain'").fetchall()
        assert tags["storage_version"] == PUBLISHED_STORAGE_VERSION + "+"
        # Readers get the mart; the staging view and raw data stay in the build file.
        assert con.execute("select count(*) from dim_customers").fetchone() == (3,)
        relations = {name for (name,) in con.execute(
            "select table_name from information_schema.tables").fetchall()}
        assert relations == {"dim_customers", "meta"}
    assert build_path(published).exists(), "kept for the next incremental run"
    assert not list(published.parent.glob(".build/snapshot/*"))


def test_a_run_makes_its_plan_once(tmp_path: Path, published: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Load, validation and dbt follow the plan made at the start: once a full run's load
    has forgotten the kept state, a plan made again would differ."""
    monkeypatch.setattr("retain.pipeline.run_dbt", _fake_dbt(succeed=True))
    plans: list[RunPlan] = []

    def counted(settings: Settings) -> RunPlan:
        plans.append(run_plan(settings))
        return plans[-1]

    monkeypatch.setattr("retain.pipeline.run_plan", counted)
    report = run_pipeline(Settings(raw_dir=VALID_SMALL, warehouse=published, as_of=AS_OF,
                                   report_dir=tmp_path / "gx"), progress=lambda _: None)

    assert report.exit_code == ExitCode.OK, report.errors
    assert plans == [report.plan]


def test_publish_replaces_a_file_that_is_in_duckdb_2_format(tmp_path: Path) -> None:
    warehouse = tmp_path / "retain.duckdb"
    built = build_path(warehouse)
    built.parent.mkdir()
    with duckdb.connect(str(built)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.customers as select 'c1' as customer_id")
        con.execute("create table int_customers as select customer_id from raw.customers")
        con.execute("create table dim_customers as select customer_id from int_customers")
        con.execute("comment on table dim_customers is 'One row per customer.'")
        con.execute("comment on column dim_customers.customer_id is 'The customer.'")
    assert _header_storage_version(built) == DUCKDB_2_STORAGE

    published = publish(built, warehouse, AS_OF, {})

    assert published.tables == ["dim_customers"] and published.replaced_warehouse
    assert _header_storage_version(warehouse) == DUCKDB_1_4_STORAGE
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select customer_id from dim_customers").fetchall() == [("c1",)]
        assert con.execute("select table_schema || '.' || table_name "
                           "from information_schema.tables").fetchall() == [("main.dim_customers",)]
        # The dbt descriptions travel with the table.
        assert con.execute("select comment from duckdb_tables() "
                           "where table_name = 'dim_customers'").fetchall() == [
            ("One row per customer.",)]
        assert con.execute("select comment from duckdb_columns() "
                           "where table_name = 'dim_customers'").fetchall() == [
            ("The customer.",)]


def _built_for(warehouse: Path, as_of: date) -> Path:
    """A build file with a mart and the meta relation of a run as of a day."""
    built = build_path(warehouse)
    built.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(built)) as con:
        con.execute("create or replace table fct_mrr as select 'c1' as customer_id")
        con.execute("create or replace table meta as select 'as_of_date' as key, ? as value",
                    [as_of.isoformat()])
    return built


def _as_of_of(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return str(con.execute("select value from meta").fetchone()[0])


def test_each_day_keeps_a_dated_snapshot_and_a_backfill_never_rewinds(tmp_path: Path) -> None:
    warehouse = tmp_path / "retain.duckdb"
    days = [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2),
            date(2026, 12, 3)]
    for day in days:
        publish(_built_for(warehouse, day), warehouse, day, {})
    backfilled = publish(_built_for(warehouse, date(2026, 11, 28)), warehouse,
                         date(2026, 11, 28), {})

    assert not backfilled.replaced_warehouse
    assert _as_of_of(warehouse) == "2026-12-03", "readers keep the newest day"
    snapshots = warehouse.parent / "snapshots"
    for day in [date(2026, 11, 28), *days]:
        assert _as_of_of(snapshots / f"retain_{day}.duckdb") == day.isoformat()
    # The published file and today's snapshot hold the same bytes in two files, both
    # read-only: a client writing into the published file cannot change the snapshot.
    today = snapshots / "retain_2026-12-03.duckdb"
    assert today.stat().st_ino != warehouse.stat().st_ino
    assert today.read_bytes() == warehouse.read_bytes()
    assert not any(path.stat().st_mode & 0o222 for path in (today, warehouse))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update meta set value = 'edited'")
    assert _as_of_of(today) == "2026-12-03"

    removed = prune_snapshots(warehouse, kept_days=2, published_day=date(2026, 12, 3))

    assert sorted(path.name for path in snapshots.iterdir()) == [
        "retain_2026-11-30.duckdb",  # a month end: kept whatever its age
        "retain_2026-12-02.duckdb", "retain_2026-12-03.duckdb"]
    assert len(removed) == 3
    assert _header_storage_version(snapshots / "retain_2026-11-30.duckdb") == DUCKDB_1_4_STORAGE
