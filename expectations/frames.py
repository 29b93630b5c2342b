"""The dataframes GX validates, computed by DuckDB from the loaded raw tables.

GX over DuckDB SQL fails (stack-notes.md), so GX sees pandas frames: the
rows of a table in chunks, normalised the way the contract reads them, and
one row of counts per table for the checks in expectations.aggregates.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd
import pyarrow as pa

from expectations.aggregates import TableCheck, quote, relation
from expectations.contract import DerivedIn, Table

SAMPLE_SIZE = 5

# Nullable pandas types for Arrow's, so that a NULL never turns a column of
# integers into floats or booleans into objects.
PANDAS_FOR_ARROW = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def derived_columns(table: Table) -> dict[str, str]:
    """Columns computed for the row suites (name: SQL over the raw table), for the
    contract's rules that no single-column expectation states (DerivedIn)."""
    return {rule.name: rule.sql for rule in table.row_rules if isinstance(rule, DerivedIn)}


def row_query(table: Table, where: str | None = None) -> str:
    """The table's contract columns as loaded (typed and normalised), plus the derived
    rule columns; only the rows matching where (SQL) when given.

    Money is read as double: GX compares floats, and Arrow would hand over
    decimals as Python objects."""
    selects = [quote(column.name) if column.type not in ("decimal", "rate")
               else f"cast({quote(column.name)} as double) as {quote(column.name)}"
               for column in table.columns]
    selects += [f"{sql} as {quote(name)}" for name, sql in derived_columns(table).items()]
    return (f"select {', '.join(selects)} from {relation(table.name)}"
            + (f" where {where}" if where else ""))


def _frame(schema: pa.Schema, batches: list[pa.RecordBatch]) -> pd.DataFrame:
    return pa.Table.from_batches(batches, schema).to_pandas(
        types_mapper=PANDAS_FOR_ARROW.get, date_as_object=False)


def row_chunks(con: duckdb.DuckDBPyConnection, table: Table, chunk_rows: int,
               where: str | None = None) -> Iterator[pd.DataFrame]:
    """The loaded rows (matching where, when given) in frames of at least chunk_rows
    (the last one smaller); one empty frame when there are none.

    Through Arrow: ten times faster than DuckDB's own DataFrame conversion of
    strings (3.2 s per million events)."""
    reader = con.sql(row_query(table, where)).to_arrow_reader(chunk_rows)
    batches: list[pa.RecordBatch] = []
    rows, yielded = 0, False
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        if rows >= chunk_rows:
            yield _frame(reader.schema, batches)
            batches, rows, yielded = [], 0, True
    if batches or not yielded:
        yield _frame(reader.schema, batches)


def check_frame(con: duckdb.DuckDBPyConnection,
                checks: list[TableCheck]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One row holding each check's count, and a few offending items per check."""
    counts: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    for check in checks:
        [row] = con.execute(
            "select coalesce(sum(rows), 0), "
            f"coalesce(list(item order by item)[1:{SAMPLE_SIZE}], []) "
            f"from ({check.sql}) as offending").fetchall()
        counts[check.name], samples[check.name] = int(row[0]), list(row[1])
    return pd.DataFrame([counts], columns=[check.name for check in checks]), samples
