"""The dataframes GX validates, computed by DuckDB from the loaded raw tables.

GX over DuckDB SQL fails (stack-notes.md), so GX sees pandas frames: the
rows of a table that may break a row rule, normalised the way the contract
reads them, in chunks; and one row of counts per table for the checks in
expectations.aggregates.

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

from expectations.aggregates import TableCheck, quote, relation
from expectations.contract import (
    Column,
    DerivedIn,
    InRange,
    NotBefore,
    PresentExactlyWhen,
    RequiredWhen,
    RowRule,
    Table,
)

SAMPLE_SIZE = 5

# Nullable pandas types for Arrow's, so that a NULL never turns a column of
# integers into floats or booleans into objects.
PANDAS_FOR_ARROW = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def derived_columns(table: Table) -> dict[str, str]:
    """Columns computed for the row suites (name: SQL over the raw table), for the
    contract's rules that no single-column expectation states (DerivedIn)."""
    return {rule.name: rule.sql for rule in table.row_rules if isinstance(rule, DerivedIn)}


def _as_read(column: Column) -> str:
    """A column as the frames hold it (money as double)."""
    if column.type in ("decimal", "rate"):
        return f"cast({quote(column.name)} as double)"
    return quote(column.name)


def _literal(value: str | float) -> str:
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def _literals(values: tuple[str, ...] | tuple[float, ...]) -> str:
    return ", ".join(_literal(value) for value in values)


def _outside(value_sql: str, min_value: float | None, max_value: float | None,
             strict_min: bool = False) -> list[str]:
    """SQL true where value_sql lies outside the range, as GX's between compares."""
    outside = []
    if min_value is not None:
        outside.append(f"{value_sql} {'<=' if strict_min else '<'} {min_value!r}")
    if max_value is not None:
        outside.append(f"{value_sql} > {max_value!r}")
    return outside


def _column_suspects(column: Column) -> list[str]:
    """Conditions under which a row may break one of the column's own expectations
    (expectations.suites); NULL counts only for the not-null rule, as in GX."""
    name = quote(column.name)
    found = [f"{name} is null"] if column.required or column.primary_key else []
    if column.accepted_values:
        found.append(f"{name} not in ({_literals(column.accepted_values)})")
    if column.code:
        found.append(f"not regexp_matches({name}, {_literal(column.code.pattern)})")
    return found + _outside(_as_read(column), column.min_value, column.max_value)


def _rule_suspects(table: Table, rule: RowRule) -> list[str]:
    """Conditions under which a row may break a row rule of the contract."""
    match rule:
        case NotBefore(later, earlier, or_equal):
            return [f"{quote(later)} {'<' if or_equal else '<='} {quote(earlier)}"]
        case RequiredWhen(column, when_column, values):
            return [f"({quote(column)} is null and {quote(when_column)} in "
                    f"({_literals(values)}))"]
        case PresentExactlyWhen(column, when_column, value):
            # GX's `!=` condition holds for a NULL when_column too: `is distinct from`.
            return [f"({quote(column)} is null and {quote(when_column)} = {_literal(value)})",
                    f"({quote(column)} is not null and {quote(when_column)} "
                    f"is distinct from {_literal(value)})"]
        case InRange(column, _, min_value, max_value, strict_min, when):
            outside = " or ".join(_outside(_as_read(table.column(column)), min_value,
                                           max_value, strict_min))
            condition = "" if when is None else f" and {quote(when[0])} = {_literal(when[1])}"
            return [f"(({outside}){condition})"]
        case DerivedIn(_, _, sql, allowed, _):
            return [f"({sql}) not in ({_literals(allowed)})"]


def suspect_rows(table: Table) -> str:
    """SQL true for every row that may break a row expectation of the table's suite
    (and for some that do not: GX decides); false for the rest."""
    conditions = [condition for column in table.columns
                  for condition in _column_suspects(column)]
    conditions += [condition for rule in table.row_rules
                   for condition in _rule_suspects(table, rule)]
    return "(" + " or ".join(conditions) + ")" if conditions else "false"


def row_query(table: Table, where: str | None = None) -> str:
    """The table's contract columns as loaded (typed and normalised), plus the derived
    rule columns; only the rows matching where (SQL) when given.

    Money is read as double: GX compares floats, and Arrow would hand over
    decimals as Python objects."""
    selects = [f"{_as_read(column)} as {quote(column.name)}" for column in table.columns]
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
