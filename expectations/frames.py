"""The dataframes GX validates, computed by DuckDB from the loaded raw tables.

GX over DuckDB SQL fails (stack-notes.md), so GX sees pandas frames: the
rows of a table in chunks, normalised the way the contract reads them, and
one row of counts per table for the checks in expectations.aggregates.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd

from expectations.aggregates import TableCheck, normalised_sql, quote, relation
from expectations.suites import DERIVED_COLUMNS
from retain.contract import Table

ROWS_PER_VECTOR = 2048  # DuckDB hands results over in vectors of this many rows
SAMPLE_SIZE = 5


def row_query(table: Table) -> str:
    """The table's contract columns, normalised, plus the derived rule columns."""
    selects = [f"{normalised_sql(column)} as {quote(column.name)}" for column in table.columns]
    selects += [f"{sql} as {quote(name)}"
                for name, sql in DERIVED_COLUMNS.get(table.name, {}).items()]
    return f"select {', '.join(selects)} from {relation(table.name)}"


def row_chunks(con: duckdb.DuckDBPyConnection, table: Table,
               chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The normalised rows in frames of about chunk_rows; one empty frame for an empty table."""
    result = con.execute(row_query(table))
    vectors = max(1, chunk_rows // ROWS_PER_VECTOR)
    frame = result.fetch_df_chunk(vectors)
    while True:
        yield frame
        frame = result.fetch_df_chunk(vectors)
        if frame.empty:
            return


def check_frame(con: duckdb.DuckDBPyConnection,
                checks: list[TableCheck]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One row holding each check's count, and a few offending items per check."""
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    for check in checks:
        row = con.execute(
            "select coalesce(sum(rows), 0), "
            f"coalesce(list(item order by item)[1:{SAMPLE_SIZE}], []) "
            f"from ({check.sql}) as offending").fetchone()
        assert row is not None
        counts[check.name], samples[check.name] = int(row[0]), list(row[1])
    return pd.DataFrame([counts], columns=[check.name for check in checks]), samples
