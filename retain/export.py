"""`retain export`: the interface tables of the published snapshot as Parquet or CSV files.

For BI tools that cannot read DuckDB: one file per published relation
(retain.interface) plus the meta relation, read from the published output of
either engine (a DuckDB file opened read-only, or Spark's Parquet folder).
Each file is written under a temporary name and renamed, so a reader of the
folder never sees half a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import duckdb

from retain.interface import PUBLISHED_RELATIONS, PublishedOutputError, open_published
from retain.meta import META_RELATION
from retain.sql import sql_identifier, sql_literal

ExportFormat = Literal["parquet", "csv"]
COPY_OPTIONS: dict[ExportFormat, str] = {
    "parquet": "(format parquet)",
    "csv": "(format csv, header true)",
}


class ExportError(Exception):
    """The published warehouse cannot be exported (missing, or not a Retain warehouse)."""


def export_relations(location: Path, out_dir: Path, file_format: ExportFormat,
                     progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Write every published relation and meta of the published output at location (a
    DuckDB file or a Parquet folder, whichever engine published it) to out_dir; rows
    per file."""
    try:
        with open_published(location) as con:
            return _export(con, location, out_dir, file_format, progress)
    except PublishedOutputError as error:
        raise ExportError(str(error)) from error


def _export(con: duckdb.DuckDBPyConnection, location: Path, out_dir: Path,
            file_format: ExportFormat, progress: Callable[[str], None]) -> dict[str, int]:
    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables").fetchall()}
    missing = [name for name in PUBLISHED_RELATIONS if name not in present]
    if missing:
        raise ExportError(f"{location}: not a complete Retain warehouse; missing "
                          + ", ".join(missing))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    names = [*PUBLISHED_RELATIONS] + ([META_RELATION] if META_RELATION in present else [])
    for name in names:
        target = out_dir / f"{name}.{file_format}"
        partial = target.with_name(f".{target.name}.partial")
        con.execute(f"copy (select * from {sql_identifier(name)}) to {sql_literal(partial)} "
                    f"{COPY_OPTIONS[file_format]}")
        os.replace(partial, target)
        result = con.execute(f"select count(*) from {sql_identifier(name)}").fetchone()
        rows[name] = int(result[0]) if result else 0
        progress(f"exported {name:<32} {rows[name]:>10,} rows -> {target}")
    return rows
