"""Spark (retain[spark]): dbt builds on the profile's `spark` target.

The raw tables validated in the DuckDB build file are staged as Parquet
folders and registered as Spark tables (the raw.* the sources read, typed as
the raw contract says). After `dbt build`, the interface tables are exported
as one Parquet file each into a new version folder, with a meta.parquet
describing the run, and the published location, a symbolic link, is switched
to it with one atomic rename: a BI tool or DuckDB reads <name>.parquet there.
Every Spark statement goes through dbt (`dbt run-operation`, macros/spark_io.sql),
so the same steps run on a local session or a cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from retain.contract import DUCKDB_TYPES, RAW_SCHEMA, TABLES
from retain.dbt import DbtOutcome, dbt_arguments, run_dbt, spark_dir
from retain.engines import Progress, StageError
from retain.incremental import RunPlan
from retain.interface import PUBLISHED_RELATIONS, open_published, parquet_views
from retain.meta import META_RELATION, meta_rows
from retain.publish import (
    build_path,
    parquet_link_path,
    parquet_versions_path,
    run_duckdb_config,
)
from retain.settings import Settings, port_setting
from retain.spark_cluster import HOST as CLUSTER_HOST
from retain.spark_cluster import ClusterConfig
from retain.sql import sql_literal

# Spark SQL spells DuckDB's varchar `string`; the other contract types are the same.
SPARK_TYPES = {**DUCKDB_TYPES, "string": "string"}
# Versions kept besides the published one, for readers still reading them.
KEPT_PREVIOUS_VERSIONS = 1


def raw_stage_dir(settings: Settings) -> Path:
    return spark_dir(build_path(settings.warehouse)) / RAW_SCHEMA


def versions_dir(settings: Settings) -> Path:
    """Every published version's folder, beside the published link."""
    return parquet_versions_path(settings.warehouse)


class SparkError(StageError):
    """A dbt run-operation on the Spark target failed."""


def thrift_address() -> tuple[str, int]:
    """The Thrift server the spark_thrift target of profiles.yml connects to: by default
    the one `make spark-cluster` starts."""
    port = port_setting(os.environ, "RETAIN_SPARK_THRIFT_PORT", ClusterConfig.thrift_port)
    return os.environ.get("RETAIN_SPARK_THRIFT_HOST", CLUSTER_HOST), port


def check_thrift_server(settings: Settings) -> None:
    """On a Thrift connection, the server answers, or the run stops before it stages or
    builds anything, saying where it looked and how to start one (dbt's own error is a
    page of PyHive)."""
    if settings.spark_connection != "thrift":
        return
    host, port = thrift_address()
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as error:
        raise SparkError(
            f"no Spark Thrift server answers at {host}:{port} ({error.strerror or error}): "
            "start the local cluster with `make spark-cluster`, or point "
            "RETAIN_SPARK_THRIFT_HOST and RETAIN_SPARK_THRIFT_PORT at yours") from error


def _run_operation(settings: Settings, plan: RunPlan, macro: str,
                   arguments: dict[str, object], progress: Progress) -> DbtOutcome:
    """A macro of macros/spark_io.sql on the Spark target, with the vars of the run's
    build: dbt parses the project again whenever its vars change."""
    command = ("run-operation", macro, "--args", json.dumps(arguments))
    outcome = run_dbt(dbt_arguments(command, settings, plan.dbt_vars()),
                      build_path(settings.warehouse), progress)
    if not outcome.success:
        raise SparkError(f"dbt run-operation {macro} on Spark failed: "
                         + "; ".join(outcome.failures))
    return outcome


class SparkEngine:
    published_format = "Parquet files, one per interface table, and meta.parquet"

    def stage_raw(self, settings: Settings, plan: RunPlan, progress: Progress) -> None:
        """Write every validated raw table as Parquet and register it in Spark (the run's
        dates are dbt vars on Spark). An incremental run continues the models' tables only
        if this warehouse's last run built them (macros/spark_io.sql, claim_build_schema):
        a cluster's metastore may serve several warehouses."""
        check_thrift_server(settings)
        folder = raw_stage_dir(settings)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with duckdb.connect(str(build_path(settings.warehouse)), read_only=True,
                            config=run_duckdb_config(settings)) as con:
            for table in TABLES:
                (folder / table.name).mkdir()
                con.execute(f"copy {RAW_SCHEMA}.{table.name} to "
                            f"{sql_literal(folder / table.name / 'part-0.parquet')} "
                            "(format parquet)")
        progress(f"staged {len(TABLES)} raw tables as Parquet in {folder}")
        tables = {table.name: [[column.name, SPARK_TYPES[column.type]]
                               for column in table.columns] for table in TABLES}
        _run_operation(settings, plan, "register_raw_tables",
                       {"location": str(folder), "tables": tables,
                        "warehouse": str(settings.warehouse.resolve()),
                        "continue_build": plan.incremental}, progress)

    def publish(self, settings: Settings, run_id: str, plan: RunPlan,
                progress: Progress) -> str | None:
        """Export the interface tables and meta into a new version folder, then point the
        published link at it with one rename."""
        location = self.published_location(settings)
        version = versions_dir(settings) / run_id
        exported = version / ".spark"
        shutil.rmtree(version, ignore_errors=True)
        exported.mkdir(parents=True)
        progress(f"publish {location} (Parquet, one file per interface table)")
        _run_operation(settings, plan, "export_parquet",
                       {"relations": list(PUBLISHED_RELATIONS), "folder": str(exported)},
                       progress)
        for name in PUBLISHED_RELATIONS:
            parts = sorted((exported / name).glob("part-*.parquet"))
            if len(parts) != 1:
                raise SparkError(f"export of {name}: expected one Parquet part, found "
                                 f"{len(parts)} in {exported / name}")
            parts[0].replace(version / f"{name}.parquet")
        shutil.rmtree(exported)
        self._write_meta(settings, run_id, version)
        _switch_link(location, version)
        for old in _old_versions(settings, version):
            shutil.rmtree(old)
        progress(f"published {len(PUBLISHED_RELATIONS)} tables and {META_RELATION} to "
                 f"{location} -> {version.name}")
        return None

    def _write_meta(self, settings: Settings, run_id: str, version: Path) -> None:
        with parquet_views({RAW_SCHEMA: raw_stage_dir(settings), "main": version}) as con:
            rows = meta_rows(con, settings, run_id)
            con.execute("create table meta_rows (key varchar, value varchar)")
            con.executemany("insert into meta_rows values (?, ?)", rows)
            meta_file = version / f"{META_RELATION}.parquet"
            con.execute(f"copy meta_rows to {sql_literal(meta_file)} (format parquet)")

    def published_location(self, settings: Settings) -> Path:
        """warehouse/retain for the default warehouse/retain.duckdb: a link to the folder
        of the latest version."""
        return parquet_link_path(settings.warehouse)

    @contextmanager
    def open_published(self, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_published(self.published_location(settings)) as con:
            yield con


def _switch_link(location: Path, version: Path) -> None:
    """Point location at version with one atomic rename of a new link over the old."""
    if location.exists() and not location.is_symlink():
        raise SparkError(f"{location} exists and is not a link retain made; move it away")
    pending = location.with_name(f".{location.name}.link")
    pending.unlink(missing_ok=True)
    pending.symlink_to(os.path.relpath(version, location.parent))
    pending.replace(location)


def _old_versions(settings: Settings, current: Path) -> list[Path]:
    """Version folders beyond the current one and the KEPT_PREVIOUS_VERSIONS newest others."""
    others = sorted((path for path in versions_dir(settings).iterdir() if path != current),
                    key=lambda path: path.stat().st_mtime, reverse=True)
    return others[KEPT_PREVIOUS_VERSIONS:]
