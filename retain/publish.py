"""Build beside the published warehouse, then publish with one atomic rename.

BI tools keep reading the previous snapshot while a run builds the next one;
a run that fails anywhere leaves the published file byte for byte intact.
What is published is written in an older storage version than DuckDB 2.0's
default, because the DuckDB 1.x clients inside BI tools cannot read 2.x files.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

# The newest storage version DuckDB 1.4 clients read (stack-notes.md).
PUBLISHED_STORAGE_VERSION = "v1.4.0"


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


def snapshot_path(warehouse: Path) -> Path:
    """Where the readable copy is written before the rename: same file system,
    same file name (DuckDB names the catalog after it)."""
    return warehouse.parent / ".build" / "snapshot" / warehouse.name


def _write_snapshot(built: Path, snapshot: Path) -> None:
    """Copy every schema, table and view of built into a file older clients read."""
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (snapshot, snapshot.with_name(snapshot.name + ".wal")):
        leftover.unlink(missing_ok=True)
    catalog = '"' + built.stem.replace('"', '""') + '"'  # the name its views refer to
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute("set preserve_insertion_order = false")
        con.execute(f"attach {_literal(built)} as {catalog} (read_only)")
        con.execute(f"attach {_literal(snapshot)} as snapshot "
                    f"(storage_version '{PUBLISHED_STORAGE_VERSION}')")
        con.execute(f"copy from database {catalog} to snapshot")
        con.execute("detach snapshot")


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def publish(built: Path, warehouse: Path) -> None:
    """Replace the published warehouse by a readable copy of the built one, atomically."""
    wal = built.with_name(built.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{built} still has a write-ahead log: a connection is open")
    snapshot = snapshot_path(warehouse)
    _write_snapshot(built, snapshot)
    os.replace(snapshot, warehouse)
    built.unlink()
