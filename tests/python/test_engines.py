"""The engine layer without starting Spark: which engine a run gets, and how the Spark
engine switches the published folder (the Spark builds themselves: test_spark.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retain.engines import engine_for
from retain.engines.duckdb import DuckDBEngine
from retain.engines.spark import (
    SparkEngine,
    SparkError,
    _old_versions,
    _switch_link,
    check_thrift_server,
    versions_dir,
)
from retain.settings import SettingError, Settings, resolved_settings


def test_settings_pick_the_engine(tmp_path: Path) -> None:
    warehouse = tmp_path / "retain.duckdb"
    duckdb_settings = Settings(warehouse=warehouse)
    spark_settings = Settings(warehouse=warehouse, engine="spark")
    assert isinstance(engine_for(duckdb_settings), DuckDBEngine)
    assert isinstance(engine_for(spark_settings), SparkEngine)
    assert engine_for(duckdb_settings).published_location(duckdb_settings) == warehouse
    assert engine_for(spark_settings).published_location(spark_settings) == tmp_path / "retain"
    assert versions_dir(spark_settings) == tmp_path / ".retain.versions"


def test_the_spark_connection_picks_the_profile_target(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(engine="spark").dbt_target == "spark"
    assert Settings(engine="spark", spark_connection="thrift").dbt_target == "spark_thrift"
    assert Settings(spark_connection="thrift").dbt_target == "dev", "DuckDB ignores it"
    monkeypatch.setenv("RETAIN_SPARK_CONNECTION", "Thrift")
    assert resolved_settings(engine="spark").dbt_target == "spark_thrift"
    monkeypatch.setenv("RETAIN_SPARK_CONNECTION", "odbc")
    with pytest.raises(SettingError, match="spark_connection='odbc': expected one of session, "
                                           "thrift"):
        resolved_settings(engine="spark")


def test_a_thrift_port_that_is_no_number_stops_the_run_naming_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_SPARK_THRIFT_PORT", "10k")
    with pytest.raises(SettingError, match="RETAIN_SPARK_THRIFT_PORT='10k' is not a port number"):
        check_thrift_server(Settings(engine="spark", spark_connection="thrift"))


def test_the_published_link_switches_at_once_and_keeps_one_previous_version(
        tmp_path: Path) -> None:
    settings = Settings(warehouse=tmp_path / "retain.duckdb", engine="spark")
    location = SparkEngine().published_location(settings)
    versions = []
    for number in range(3):
        version = versions_dir(settings) / f"run{number}"
        version.mkdir(parents=True)
        (version / "fct_mrr.parquet").write_text(f"version {number}")
        os.utime(version, (number, number))
        _switch_link(location, version)
        versions.append(version)
        # Readers open the same relative path and see the version just switched in.
        assert (location / "fct_mrr.parquet").read_text() == f"version {number}"
        assert not os.path.isabs(os.readlink(location))
    assert _old_versions(settings, versions[-1]) == [versions[0]]


def test_a_folder_retain_did_not_make_is_never_replaced(tmp_path: Path) -> None:
    settings = Settings(warehouse=tmp_path / "retain.duckdb", engine="spark")
    (tmp_path / "retain").mkdir()
    version = versions_dir(settings) / "run"
    version.mkdir(parents=True)
    with pytest.raises(SparkError, match="not a link retain made"):
        _switch_link(tmp_path / "retain", version)
