"""`retain export`: the interface tables of the published snapshot as Parquet or CSV files.

For BI tools that cannot read DuckDB: one file per interface relation plus
the meta relation, read from the published file (opened read-only and closed
again). Each file is written under a temporary name and renamed, so a reader
of the folder never sees half a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import duckdb

from retain.interface import INTERFACE_RELATIONS
from retain.meta import META_RELATION
from retain.sql import sql_identifier, sql_literal

ExportFormat = Literal["parquet", "csv"]
COPY_OPTIONS: dict[ExportFormat, str] = {
    "parquet": "(format parquet)",
    "csv": "(format csv, header true)",
}


class ExportError(Exception):
    """The published warehouse cannot be exported (missing, or not a Retain warehouse)."""


def export_relations(warehouse: Path, out_dir: Path, file_format: ExportFormat,
                     progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Write every interface relation and meta of warehouse to out_dir; rows per file."""
    if not warehouse.exists():
        raise ExportError(f"{warehouse}: no published warehouse; run `retain run` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = {name for (name,) in con.execute(
            "select table_name from information_schema.tables").fetchall()}
        missing = [name for name in INTERFACE_RELATIONS if name not in present]
        if missing:
            raise ExportError(f"{warehouse}: not a complete Retain warehouse; missing "
                              + ", ".join(missing))
        names = [*INTERFACE_RELATIONS] + ([META_RELATION] if META_RELATION in present else [])
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
