"""Build beside the published warehouse, then publish with one atomic rename.

BI tools keep reading the previous snapshot while a run builds the next one;
a run that fails anywhere leaves the published file byte for byte intact.
Only what readers need is published: the models retain.interface names (the
interface tables and the supporting marts) and meta, with their
descriptions; raw data, staging views, intermediate tables and seeds stay in
the build file. What is published is written in an older storage
version than DuckDB 2.0's default, because the DuckDB 1.x clients inside BI
tools cannot read 2.x files.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from retain.interface import PUBLISHED_RELATIONS
from retain.meta import META_RELATION
from retain.settings import Settings, duckdb_config
from retain.sql import sql_identifier, sql_literal

# The newest storage version DuckDB 1.4 clients read (stack-notes.md).
PUBLISHED_STORAGE_VERSION = "v1.4.0"
SNAPSHOTS_FOLDER = "snapshots"
# The published file and the dated snapshots: readers only.
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
# How long a publish waits for a process holding the published file open for writing.
PUBLISH_WAIT_SECONDS = 15.0


class RunInProgressError(Exception):
    """Another run holds the lock beside the published warehouse."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def build_path(warehouse: Path) -> Path:
    """Where a run builds: a sibling folder, keeping the file name, because
    DuckDB names the catalog after the file and views refer to it."""
    return warehouse.parent / ".build" / warehouse.name


# The descriptors of the run locks this process holds: retain.dbt hands them to dbt, so
# that a dbt outliving a killed run still holds the run's lock.
_HELD_LOCK_FDS: set[int] = set()


def held_lock_fds() -> tuple[int, ...]:
    """The file descriptors of the run locks this process holds now."""
    return tuple(sorted(_HELD_LOCK_FDS))


@contextmanager
def run_lock(warehouse: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the warehouse for the whole run.

    flock is released by the kernel when the last process holding it (this one, and
    dbt, which inherits it) dies, so a crashed run never leaves a stale lock behind.
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
        _HELD_LOCK_FDS.add(handle.fileno())
        try:
            yield
        finally:
            _HELD_LOCK_FDS.discard(handle.fileno())
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


def published_relations(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The relations readers get (retain.interface: the models with meta `published`, and
    meta) that the built file holds."""
    tables = {name for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = "
        "'main'", [catalog]).fetchall()}
    return [name for name in (*PUBLISHED_RELATIONS, META_RELATION) if name in tables]


def _copy_comments(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> None:
    """Keep the dbt descriptions (persist_docs) on the published table and its columns."""
    [(comment,)] = con.execute(
        "select comment from duckdb_tables() where database_name = ? and schema_name = 'main' "
        "and table_name = ?", [catalog, table]).fetchall()
    target = f"snapshot.main.{sql_identifier(table)}"
    if comment:
        con.execute(f"comment on table {target} is {sql_literal(comment)}")
    for column, column_comment in con.execute(
            "select column_name, comment from duckdb_columns() where database_name = ? and "
            "schema_name = 'main' and table_name = ? and comment is not null",
            [catalog, table]).fetchall():
        con.execute(f"comment on column {target}.{sql_identifier(column)} is "
                    f"{sql_literal(column_comment)}")


def _write_snapshot(built: Path, snapshot: Path, config: dict[str, str]) -> list[str]:
    """Copy the published relations of built into a file older clients read; their names."""
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (snapshot, snapshot.with_name(snapshot.name + ".wal")):
        leftover.unlink(missing_ok=True)
    catalog = built.stem
    with duckdb.connect(config=config) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach {sql_literal(built)} as {sql_identifier(catalog)} (read_only)")
        con.execute(f"attach {sql_literal(snapshot)} as snapshot "
                    f"(storage_version '{PUBLISHED_STORAGE_VERSION}')")
        tables = published_relations(con, catalog)
        for table in tables:
            con.execute(f"create table snapshot.main.{sql_identifier(table)} as "
                        f"select * from {sql_identifier(catalog)}.main.{sql_identifier(table)}")
            _copy_comments(con, catalog, table)
        con.execute("detach snapshot")
    return tables


@dataclass(frozen=True)
class Published:
    tables: list[str]
    dated_snapshot: Path
    replaced_warehouse: bool  # False: the warehouse keeps the later day it shows
    current_day: date | None  # the day the warehouse showed before this publish


class PublishedFileHeldError(Exception):
    """A process holds the published file open for writing: replacing it now would lose
    that process's writes, and its day cannot be read."""


def parquet_link_path(warehouse: Path) -> Path:
    """Where Spark publishes for warehouse: a link named like it without its suffix."""
    return warehouse.with_suffix("")


def parquet_versions_path(warehouse: Path) -> Path:
    """The folder of every version the Parquet link has pointed to."""
    link = parquet_link_path(warehouse)
    return link.with_name(f".{link.name}.versions")


def dated_snapshot_path(warehouse: Path, as_of: date) -> Path:
    """The snapshot of one as-of day, kept beside the warehouse: snapshots/<name>_<day>."""
    return warehouse.parent / SNAPSHOTS_FOLDER / f"{warehouse.stem}_{as_of}{warehouse.suffix}"


def publication_path(warehouse: Path) -> Path:
    """Where publish records the day it published, beside the published file."""
    return warehouse.with_name(f".{warehouse.name}.published.json")


# struct flock of Linux (short type, short whence, off_t start, off_t len, pid_t pid).
_FLOCK = "hhqqi4x"


def write_holder(path: Path) -> int | None:
    """The process holding path open for writing through DuckDB (a POSIX write lock),
    if any; read-only readers hold read locks and do not count. The file is only
    asked about (F_GETLK), never opened by DuckDB or locked."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        asked = struct.pack(_FLOCK, fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        lock_type, _, _, _, pid = struct.unpack(
            _FLOCK, fcntl.fcntl(descriptor, fcntl.F_GETLK, asked))
    finally:
        os.close(descriptor)
    return pid if lock_type == fcntl.F_WRLCK else None


def check_not_held(warehouse: Path, wait_seconds: float = 0.0) -> None:
    """Raise PublishedFileHeldError when a process holds the published file open for
    writing, after waiting up to wait_seconds for it to close the file."""
    deadline = time.monotonic() + wait_seconds
    while (holder := write_holder(warehouse)) is not None:
        if time.monotonic() >= deadline:
            raise PublishedFileHeldError(
                f"{warehouse} is open for writing by process {holder}; nothing but a run "
                "writes the published file: close that connection (or open it read-only) "
                "and run again")
        time.sleep(0.5)


def _file_identity(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"inode": status.st_ino, "size": status.st_size, "mtime_ns": status.st_mtime_ns}


def _record_publication(warehouse: Path, as_of: date) -> None:
    """Remember the published day with the identity of the file that shows it."""
    record = publication_path(warehouse)
    partial = record.with_name(record.name + ".partial")
    partial.write_text(json.dumps({"as_of_date": as_of.isoformat(),
                                   **_file_identity(warehouse)}))
    os.replace(partial, record)


def _recorded_day(warehouse: Path) -> date | None:
    """The day publish recorded, if the published file is still the one it recorded."""
    try:
        record = json.loads(publication_path(warehouse).read_text())
        if {key: record[key] for key in ("inode", "size", "mtime_ns")} == _file_identity(
                warehouse):
            return date.fromisoformat(record["as_of_date"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def published_as_of(warehouse: Path) -> date | None:
    """The as-of date of the published warehouse: from publish's record when the file is
    the one it recorded, else from its meta relation, read-only. None: nothing is
    published, or a file without meta (published before meta existed, or not a DuckDB
    file). A file held open for writing raises PublishedFileHeldError: its day is
    unknown, and taking it for "nothing published" would let a backfill rewind it."""
    if not warehouse.exists():
        return None
    recorded = _recorded_day(warehouse)
    if recorded is not None:
        return recorded
    check_not_held(warehouse)
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute("select value from meta where key = 'as_of_date'").fetchone()
    except duckdb.CatalogException:  # no meta relation
        return None
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise PublishedFileHeldError(f"{warehouse} is held by another process: "
                                         f"{str(error).splitlines()[0]}") from error
        return None  # not a DuckDB file: nothing a reader can use is published
    return date.fromisoformat(row[0]) if row else None


def _copied(source: Path, target: Path) -> None:
    """target as a copy of source, whole or not at all (a partial copy is removed)."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        shutil.copyfile(source, partial)
        shutil.copymode(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def publish(built: Path, warehouse: Path, as_of: date, config: dict[str, str],
            replace_later: bool = False) -> Published:
    """Publish the built warehouse's readable relations: as the dated snapshot of as_of
    and, unless the warehouse shows a later day (and replace_later is not set), as the
    warehouse itself; each with one atomic rename. The dated snapshot is a file of its
    own, not a link to the warehouse: a client that writes into the published file can
    never change a snapshot. Both are read-only files. The built file stays, for the
    next run to continue (retain.incremental)."""
    wal = built.with_name(built.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{built} still has a write-ahead log: a connection is open")
    current = published_as_of(warehouse)
    replace = current is None or as_of >= current or replace_later
    if replace:
        check_not_held(warehouse, PUBLISH_WAIT_SECONDS)
    snapshot = snapshot_path(warehouse)
    tables = _write_snapshot(built, snapshot, config)
    snapshot.chmod(READ_ONLY)
    dated = dated_snapshot_path(warehouse, as_of)
    dated.parent.mkdir(parents=True, exist_ok=True)
    if replace:
        _copied(snapshot, dated)
        os.replace(snapshot, warehouse)
        _record_publication(warehouse, as_of)
    else:
        os.replace(snapshot, dated)
    return Published(tables, dated, replace, current)


def prune_snapshots(warehouse: Path, kept_days: int, published_day: date) -> list[Path]:
    """Keep the newest kept_days dated snapshots, every month-end one and the one of
    published_day (the run's own); the removed."""
    pattern = re.compile(re.escape(warehouse.stem) + r"_(\d{4}-\d{2}-\d{2})"
                         + re.escape(warehouse.suffix))
    folder = warehouse.parent / SNAPSHOTS_FOLDER
    dated = sorted(((date.fromisoformat(found[1]), path) for path in folder.glob("*")
                    if (found := pattern.fullmatch(path.name))), reverse=True)
    removed = []
    for index, (day, path) in enumerate(dated):
        month_end = (day + timedelta(days=1)).day == 1
        if index >= kept_days and not month_end and day != published_day:
            path.unlink()
            removed.append(path)
    return removed


class ProtectedOutputError(Exception):
    """A command was asked to write where only publish writes."""


DUCKDB_MAGIC = b"DUCK"


def is_duckdb_file(path: Path) -> bool:
    """Whether path holds a DuckDB database (its header's magic bytes)."""
    try:
        with path.open("rb") as handle:
            return handle.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def check_output_target(target: Path, warehouse: Path, into_duckdb: bool = False) -> None:
    """Refuse target when writing it could change what readers see or a run keeps: the
    published file (by name or by inode), a dated snapshot, the folders a run owns
    (snapshots/, .build/), or, unless the command writes into DuckDB files
    (into_duckdb), any existing DuckDB database."""
    resolved = target.resolve()
    owned = [warehouse.parent / SNAPSHOTS_FOLDER, build_path(warehouse).parent,
             parquet_link_path(warehouse), parquet_versions_path(warehouse)]
    if resolved == warehouse.resolve() or any(
            resolved.is_relative_to(folder.resolve()) for folder in owned):
        raise ProtectedOutputError(f"{target} is the published warehouse or a folder a run "
                                   "owns; only `retain run` writes there: choose another path")
    if not target.exists():
        return
    published = [warehouse, *(warehouse.parent / SNAPSHOTS_FOLDER).glob("*")]
    for path in published:
        if path.exists() and os.path.samefile(path, target):
            raise ProtectedOutputError(f"{target} is the same file as {path}; only "
                                       "`retain run` writes it: choose another path")
    if not into_duckdb and target.is_file() and is_duckdb_file(target):
        raise ProtectedOutputError(f"{target} is a DuckDB database; this command never "
                                   "overwrites one: choose another path")
