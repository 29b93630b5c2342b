"""Build beside the published warehouse, then publish with one atomic rename.

BI tools keep reading the previous snapshot while a run builds the next one;
a run that fails anywhere leaves the published file byte for byte intact.
Only what readers need is published: the tables of the main schema that are
not staging or intermediate models (the marts, the time spine, meta), with
their descriptions; raw data, staging views, intermediate tables and seeds
stay in the build file. What is published is written in an older storage
version than DuckDB 2.0's default, because the DuckDB 1.x clients inside BI
tools cannot read 2.x files.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from retain.settings import Settings, duckdb_config

# The newest storage version DuckDB 1.4 clients read (stack-notes.md).
PUBLISHED_STORAGE_VERSION = "v1.4.0"
SNAPSHOTS_FOLDER = "snapshots"


class RunInProgressError(Exception):
    """Another run holds the lock beside the published warehouse."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def build_path(warehouse: Path) -> Path:
    """Where a run builds: a sibling folder, keeping the file name, because
    DuckDB names the catalog after the file and views refer to it."""
    return warehouse.parent / ".build" / warehouse.name


@contextmanager
def run_lock(warehouse: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the warehouse for the whole run.

    flock is released by the kernel when the process dies, so a crashed run
    never leaves a stale lock behind.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip() or "unknown process"
            raise RunInProgressError(
                f"another retain run is in progress on {warehouse} ({holder}); "
                f"wait for it to finish (lock: {path})") from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


def fresh_build_file(warehouse: Path) -> Path:
    """An empty build location, with anything left by an earlier failed run removed."""
    path = build_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return path


def run_duckdb_config(settings: Settings, reserved: int = 0) -> dict[str, str]:
    """Memory limit (less what the process needs outside DuckDB: reserved bytes), spill
    folder (beside the build file) and settings of every connection."""
    return duckdb_config(build_path(settings.warehouse).parent / "spill", reserved)


def snapshot_path(warehouse: Path) -> Path:
    """Where the readable copy is written before the rename: same file system,
    same file name (DuckDB names the catalog after it)."""
    return warehouse.parent / ".build" / "snapshot" / warehouse.name


# Relations of these layers stay in the build file (dbt model name prefixes).
UNPUBLISHED_PREFIXES = ("stg_", "int_")


def published_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The tables readers need: main-schema tables that are not staging or intermediate."""
    tables = con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = "
        "'main' order by table_name", [catalog]).fetchall()
    return [name for (name,) in tables if not name.startswith(UNPUBLISHED_PREFIXES)]


def _copy_comments(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> None:
    """Keep the dbt descriptions (persist_docs) on the published table and its columns."""
    [(comment,)] = con.execute(
        "select comment from duckdb_tables() where database_name = ? and schema_name = 'main' "
        "and table_name = ?", [catalog, table]).fetchall()
    target = f"snapshot.main.{_identifier(table)}"
    if comment:
        con.execute(f"comment on table {target} is {_literal(comment)}")
    for column, column_comment in con.execute(
            "select column_name, comment from duckdb_columns() where database_name = ? and "
            "schema_name = 'main' and table_name = ? and comment is not null",
            [catalog, table]).fetchall():
        con.execute(f"comment on column {target}.{_identifier(column)} is "
                    f"{_literal(column_comment)}")


def _write_snapshot(built: Path, snapshot: Path, config: dict[str, str]) -> list[str]:
    """Copy the published relations of built into a file older clients read; their names."""
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (snapshot, snapshot.with_name(snapshot.name + ".wal")):
        leftover.unlink(missing_ok=True)
    catalog = built.stem
    with duckdb.connect(config=config) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach {_literal(built)} as {_identifier(catalog)} (read_only)")
        con.execute(f"attach {_literal(snapshot)} as snapshot "
                    f"(storage_version '{PUBLISHED_STORAGE_VERSION}')")
        tables = published_relations(con, catalog)
        for table in tables:
            con.execute(f"create table snapshot.main.{_identifier(table)} as "
                        f"select * from {_identifier(catalog)}.main.{_identifier(table)}")
            _copy_comments(con, catalog, table)
        con.execute("detach snapshot")
    return tables


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: Path | str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class Published:
    tables: list[str]
    dated_snapshot: Path
    replaced_warehouse: bool  # False: a backfill older than what readers see now


def dated_snapshot_path(warehouse: Path, as_of: date) -> Path:
    """The snapshot of one as-of day, kept beside the warehouse: snapshots/<name>_<day>."""
    return warehouse.parent / SNAPSHOTS_FOLDER / f"{warehouse.stem}_{as_of}{warehouse.suffix}"


def published_as_of(warehouse: Path) -> date | None:
    """The as-of date of the published warehouse (its meta relation), if it has one."""
    if not warehouse.exists():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute("select value from meta where key = 'as_of_date'").fetchone()
    except duckdb.Error:  # no meta: published before meta existed
        return None
    return date.fromisoformat(row[0]) if row else None


def publish(built: Path, warehouse: Path, as_of: date, config: dict[str, str]) -> Published:
    """Publish the built warehouse's readable relations: as the dated snapshot of as_of
    and, unless the warehouse already shows a later day, as the warehouse itself; each
    with one atomic rename. The dated snapshot is a hard link: no second copy. The
    built file stays, for the next run to continue (retain.incremental)."""
    wal = built.with_name(built.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{built} still has a write-ahead log: a connection is open")
    snapshot = snapshot_path(warehouse)
    tables = _write_snapshot(built, snapshot, config)
    dated = dated_snapshot_path(warehouse, as_of)
    dated.parent.mkdir(parents=True, exist_ok=True)
    linked = dated.with_name(f".{dated.name}.partial")
    linked.unlink(missing_ok=True)
    os.link(snapshot, linked)
    os.replace(linked, dated)
    current = published_as_of(warehouse)
    replace = current is None or as_of >= current
    if replace:
        os.replace(snapshot, warehouse)
    else:
        snapshot.unlink()
    return Published(tables, dated, replace)


def prune_snapshots(warehouse: Path, kept_days: int) -> list[Path]:
    """Keep the newest kept_days dated snapshots and every month-end one; the removed."""
    pattern = re.compile(re.escape(warehouse.stem) + r"_(\d{4}-\d{2}-\d{2})"
                         + re.escape(warehouse.suffix))
    folder = warehouse.parent / SNAPSHOTS_FOLDER
    dated = sorted(((date.fromisoformat(found[1]), path) for path in folder.glob("*")
                    if (found := pattern.fullmatch(path.name))), reverse=True)
    removed = []
    for index, (day, path) in enumerate(dated):
        month_end = (day + timedelta(days=1)).day == 1
        if index >= kept_days and not month_end:
            path.unlink()
            removed.append(path)
    return removed
