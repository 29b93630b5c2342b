"""Great Expectations suites for the raw tables, built from expectations.contract.

Every table gets two suites, because GX validates one dataframe per suite:
- `<table>.rows`: the per-row rules (not null, types, enumerations, ranges,
  the contract's row rules), run on chunks of the loaded (normalised) table;
- `<table>.table`: the rules no chunk can decide (keys, relationships, sums
  over line items, fx coverage, volume), run on a one-row frame of counts
  that DuckDB computes (see expectations.aggregates).

Suites are built by factory functions on every call: GX binds an expectation
object to the suite it was added to, so they can never be shared.
"""

from __future__ import annotations

import great_expectations as gx
from great_expectations.expectations import Expectation
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.expectations.row_conditions import Column as Condition

from expectations.aggregates import TableCheck
from expectations.contract import (
    Column,
    ColumnType,
    DerivedIn,
    InRange,
    NotBefore,
    PresentExactlyWhen,
    RequiredWhen,
    RowRule,
    Table,
)

# dtypes each typed contract column has in the frames of expectations.frames.
# Strings have no entry: every value is a valid string.
PANDAS_TYPES: dict[ColumnType, list[str]] = {
    "integer": ["Int64Dtype"],
    "decimal": ["float64"],
    "rate": ["float64"],
    "boolean": ["BooleanDtype"],
    "date": ["datetime64[ms]"],
    "timestamp": ["datetime64[us]"],
}

def _meta(table: Table, column: str | None, rule: str) -> dict[str, str | None]:
    return {"table": table.name, "column": column, "rule": rule}


def _column_expectations(table: Table, column: Column) -> list[Expectation]:
    """The rules of one contract column, read from its definition."""
    name = column.name
    found: list[Expectation] = []
    if column.type in PANDAS_TYPES:
        found.append(gx.expectations.ExpectColumnValuesToBeInTypeList(
            column=name, type_list=PANDAS_TYPES[column.type],
            meta=_meta(table, name, f"typed as {column.type}")))
    if column.required or column.primary_key:
        found.append(gx.expectations.ExpectColumnValuesToNotBeNull(
            column=name, meta=_meta(table, name, "not null")))
    if column.accepted_values:
        found.append(gx.expectations.ExpectColumnValuesToBeInSet(
            column=name, value_set=list(column.accepted_values),
            meta=_meta(table, name, "one of " + ", ".join(column.accepted_values))))
    if column.code:
        found.append(gx.expectations.ExpectColumnValuesToMatchRegex(
            column=name, regex=column.code.pattern,
            meta=_meta(table, name, f"an {column.code.standard} code")))
    if column.min_value is not None or column.max_value is not None:
        bounds = " and ".join(text for text in (
            None if column.min_value is None else f">= {column.min_value:g}",
            None if column.max_value is None else f"<= {column.max_value:g}") if text)
        found.append(gx.expectations.ExpectColumnValuesToBeBetween(
            column=name, min_value=column.min_value, max_value=column.max_value,
            meta=_meta(table, name, bounds)))
    return found


def _row_rule_expectations(table: Table, rule: RowRule) -> list[Expectation]:
    """The expectations of one row rule of the contract."""
    match rule:
        case NotBefore(later, earlier, or_equal):
            return [gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=later, column_B=earlier, or_equal=or_equal,
                ignore_row_if="either_value_is_missing",
                meta=_meta(table, later, f"{'>=' if or_equal else '>'} {earlier}"))]
        case RequiredWhen(column, when_column, values):
            return [gx.expectations.ExpectColumnValuesToNotBeNull(
                column=column, row_condition=Condition(when_column).is_in(list(values)),
                meta=_meta(table, column,
                           f"not null when {when_column} is " + " or ".join(values)))]
        case PresentExactlyWhen(column, when_column, value):
            return [
                gx.expectations.ExpectColumnValuesToNotBeNull(
                    column=column, row_condition=Condition(when_column) == value,
                    meta=_meta(table, column, f"present when {when_column} is {value}")),
                gx.expectations.ExpectColumnValuesToBeNull(
                    column=column, row_condition=Condition(when_column) != value,
                    meta=_meta(table, column, f"empty unless {when_column} is {value}")),
            ]
        case InRange(column, rule_text, min_value, max_value, strict_min, when):
            condition = {} if when is None else {"row_condition": Condition(when[0]) == when[1]}
            return [gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=min_value, max_value=max_value, strict_min=strict_min,
                meta=_meta(table, column, rule_text), **condition)]
        case DerivedIn(name, about, _, allowed, rule_text):
            return [gx.expectations.ExpectColumnValuesToBeInSet(
                column=name, value_set=list(allowed), meta=_meta(table, about, rule_text))]


def row_suite(table: Table) -> gx.ExpectationSuite:
    """Every per-row rule of one raw table, as a GX suite."""
    expectations: list[Expectation] = [gx.expectations.ExpectTableColumnsToMatchSet(
        column_set=table.column_names, exact_match=False,
        meta=_meta(table, None, "has every listed column"))]
    for column in table.columns:
        expectations.extend(_column_expectations(table, column))
    for rule in table.row_rules:
        expectations.extend(_row_rule_expectations(table, rule))
    return gx.ExpectationSuite(name=f"{table.name}.rows", expectations=expectations)


def table_suite(table: Table, checks: list[TableCheck]) -> gx.ExpectationSuite:
    """The table-level rules of one raw table, over the frame of check counts."""
    expectations = [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column=check.name, min_value=check.min_rows, max_value=check.max_rows,
            severity=FailureSeverity.CRITICAL if check.blocking else FailureSeverity.WARNING,
            meta=_meta(table, check.column, check.rule))
        for check in checks
    ]
    return gx.ExpectationSuite(name=f"{table.name}.table", expectations=expectations)
