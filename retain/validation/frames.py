"""The dataframes GX validates, computed by DuckDB from the loaded raw tables.

GX over DuckDB SQL fails (stack-notes.md), so GX sees pandas frames: the
rows of a table that may break a row rule, normalised the way the contract
reads them, in chunks; and one row of counts per table for the checks in
retain.validation.aggregates.

Which rows may break a rule is decided by DuckDB in one set-based pass
(suspect_rows): a superset of the rows any row expectation flags, so GX still
decides every failure, counts its rows and picks its samples, while the
millions of rows that pass never leave DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd
import pyarrow as pa

from retain.contract import DerivedIn, Table
from retain.sql import sql_identifier
from retain.validation.aggregates import TableCheck, relation
from retain.validation.rules import as_read, row_checks

SAMPLE_SIZE = 5

# Nullable pandas types for Arrow's, so that a NULL never turns a column of
# integers into floats or booleans into objects.
PANDAS_FOR_ARROW = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def derived_columns(table: Table) -> dict[str, str]:
    """Columns computed for the row suites (name: SQL over the raw table), for the
    contract's rules that no single-column expectation states (DerivedIn)."""
    return {rule.name: rule.sql for rule in table.row_rules if isinstance(rule, DerivedIn)}


def suspect_rows(table: Table) -> str:
    """SQL true for every row that may break a row expectation of the table's suite
    (and for some that do not: GX decides); false for the rest."""
    conditions = [condition for check in row_checks(table) for condition in check.suspects]
    return "(" + " or ".join(conditions) + ")" if conditions else "false"


def row_query(table: Table, where: str | None = None) -> str:
    """The table's contract columns as the frames hold them (rules.as_read), plus the
    derived rule columns; only the rows matching where (SQL) when given."""
    selects = [f"{as_read(column)} as {sql_identifier(column.name)}" for column in table.columns]
    selects += [f"{sql} as {sql_identifier(name)}" for name, sql in derived_columns(table).items()]
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
