"""Each row rule of the contract, written once: the DuckDB conditions that select the rows
that may break it, and the Great Expectations expectations that decide whether they do.

retain.validation.frames selects a table's suspect rows with the conditions,
retain.validation.suites builds its row suite from the expectations; both read
row_checks, so a rule cannot be checked by one and forgotten by the other.

The expectations come from a factory: importing GX takes seconds, which selecting
rows must not pay, and GX binds an expectation object to the suite it was added
to, so every suite needs new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, assert_never

from retain.contract import (
    Code,
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
from retain.sql import sql_identifier, sql_literal

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation
    from great_expectations.expectations.row_conditions import Column as Condition

# dtypes each typed contract column has in the frames (as_read, through Arrow).
# Strings have no entry: every value is a valid string.
PANDAS_TYPES: dict[ColumnType, list[str]] = {
    "integer": ["Int64Dtype"],
    "decimal": ["float64"],
    "rate": ["float64"],
    "boolean": ["BooleanDtype"],
    "date": ["datetime64[ms]"],
    "timestamp": ["datetime64[us]"],
}


@dataclass(frozen=True)
class RowCheck:
    """One rule over rows: SQL true on every row that may break it (a superset of those
    the expectations flag: GX decides), and a factory of its expectations."""

    suspects: tuple[str, ...]
    expectations: Callable[[], list[Expectation]]


def as_read(column: Column) -> str:
    """A column as the frames hold it: money as double, because GX compares floats and
    Arrow would hand decimals over as Python objects."""
    if column.type in ("decimal", "rate"):
        return f"cast({sql_identifier(column.name)} as double)"
    return sql_identifier(column.name)


def meta(table: Table, column: str | None, rule: str) -> dict[str, str | None]:
    """What a failure report names: table, contract column, rule in words."""
    return {"table": table.name, "column": column, "rule": rule}


def _gx() -> ModuleType:
    """GX's expectation classes, imported when a factory first runs."""
    import great_expectations.expectations as expectations

    return expectations


def _when(column: str) -> Condition:
    """A GX row condition on column, e.g. `_when("status") == "paid"`."""
    from great_expectations.expectations.row_conditions import Column as GxColumn

    return GxColumn(column)


def _values(values: tuple[str, ...] | tuple[float, ...]) -> str:
    return ", ".join(sql_literal(value) if isinstance(value, str) else repr(value)
                     for value in values)


def _outside(value_sql: str, min_value: float | None, max_value: float | None,
             strict_min: bool = False) -> list[str]:
    """SQL true where value_sql lies outside the range, as GX's between compares."""
    outside = []
    if min_value is not None:
        outside.append(f"{value_sql} {'<=' if strict_min else '<'} {min_value!r}")
    if max_value is not None:
        outside.append(f"{value_sql} > {max_value!r}")
    return outside


# The rules of one contract column. GX's column expectations skip NULLs, so only
# the not-null rule selects them.

def _typed(table: Table, column: Column) -> RowCheck:
    # No row can break it: a frame's column has one dtype, given by the query, and
    # GX checks it on every frame it validates, an empty one too.
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToBeInTypeList(
            column=column.name, type_list=PANDAS_TYPES[column.type],
            meta=meta(table, column.name, f"typed as {column.type}"))]
    return RowCheck((), expectations)


def _not_null(table: Table, column: Column) -> RowCheck:
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToNotBeNull(
            column=column.name, meta=meta(table, column.name, "not null"))]
    return RowCheck((f"{sql_identifier(column.name)} is null",), expectations)


def _accepted_values(table: Table, column: Column, values: tuple[str, ...]) -> RowCheck:
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToBeInSet(
            column=column.name, value_set=list(values),
            meta=meta(table, column.name, "one of " + ", ".join(values)))]
    return RowCheck((f"{sql_identifier(column.name)} not in ({_values(values)})",),
                    expectations)


def _code(table: Table, column: Column, code: Code) -> RowCheck:
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToMatchRegex(
            column=column.name, regex=code.pattern,
            meta=meta(table, column.name, f"an {code.standard} code"))]
    return RowCheck(
        (f"not regexp_matches({sql_identifier(column.name)}, {sql_literal(code.pattern)})",),
        expectations)


def _range(table: Table, column: Column) -> RowCheck:
    bounds = " and ".join(text for text in (
        None if column.min_value is None else f">= {column.min_value:g}",
        None if column.max_value is None else f"<= {column.max_value:g}") if text)

    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToBeBetween(
            column=column.name, min_value=column.min_value, max_value=column.max_value,
            meta=meta(table, column.name, bounds))]
    return RowCheck(tuple(_outside(as_read(column), column.min_value, column.max_value)),
                    expectations)


def column_checks(table: Table, column: Column) -> list[RowCheck]:
    """The rules of one contract column, read from its definition."""
    checks = [_typed(table, column)] if column.type in PANDAS_TYPES else []
    if column.required or column.primary_key:
        checks.append(_not_null(table, column))
    if column.accepted_values:
        checks.append(_accepted_values(table, column, column.accepted_values))
    if column.code:
        checks.append(_code(table, column, column.code))
    if column.min_value is not None or column.max_value is not None:
        checks.append(_range(table, column))
    return checks


# The contract's row rules, one function per kind.

def _not_before(table: Table, rule: NotBefore) -> RowCheck:
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.later, column_B=rule.earlier, or_equal=rule.or_equal,
            ignore_row_if="either_value_is_missing",
            meta=meta(table, rule.later, f"{'>=' if rule.or_equal else '>'} {rule.earlier}"))]
    return RowCheck((f"{sql_identifier(rule.later)} {'<' if rule.or_equal else '<='} "
                     f"{sql_identifier(rule.earlier)}",), expectations)


def _required_when(table: Table, rule: RequiredWhen) -> RowCheck:
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToNotBeNull(
            column=rule.column, row_condition=_when(rule.when_column).is_in(list(rule.values)),
            meta=meta(table, rule.column,
                      f"not null when {rule.when_column} is " + " or ".join(rule.values)))]
    return RowCheck((f"({sql_identifier(rule.column)} is null and "
                     f"{sql_identifier(rule.when_column)} in ({_values(rule.values)}))",),
                    expectations)


def _present_exactly_when(table: Table, rule: PresentExactlyWhen) -> RowCheck:
    column, when = sql_identifier(rule.column), sql_identifier(rule.when_column)
    value = sql_literal(rule.value)

    def expectations() -> list[Expectation]:
        return [
            _gx().ExpectColumnValuesToNotBeNull(
                column=rule.column, row_condition=_when(rule.when_column) == rule.value,
                meta=meta(table, rule.column, f"present when {rule.when_column} is {rule.value}")),
            _gx().ExpectColumnValuesToBeNull(
                column=rule.column, row_condition=_when(rule.when_column) != rule.value,
                meta=meta(table, rule.column, f"empty unless {rule.when_column} is {rule.value}")),
        ]
    # GX's `!=` condition holds for a NULL when_column too: `is distinct from`.
    return RowCheck((f"({column} is null and {when} = {value})",
                     f"({column} is not null and {when} is distinct from {value})"), expectations)


def _in_range(table: Table, rule: InRange) -> RowCheck:
    outside = " or ".join(_outside(as_read(table.column(rule.column)), rule.min_value,
                                   rule.max_value, rule.strict_min))
    applies = ("" if rule.when is None else
               f" and {sql_identifier(rule.when[0])} = {sql_literal(rule.when[1])}")

    def expectations() -> list[Expectation]:
        condition = ({} if rule.when is None
                     else {"row_condition": _when(rule.when[0]) == rule.when[1]})
        return [_gx().ExpectColumnValuesToBeBetween(
            column=rule.column, min_value=rule.min_value, max_value=rule.max_value,
            strict_min=rule.strict_min, meta=meta(table, rule.column, rule.rule), **condition)]
    return RowCheck((f"(({outside}){applies})",), expectations)


def _derived_in(table: Table, rule: DerivedIn) -> RowCheck:
    # The frames hold the derived value as a column named rule.name (frames.row_query).
    def expectations() -> list[Expectation]:
        return [_gx().ExpectColumnValuesToBeInSet(
            column=rule.name, value_set=list(rule.allowed),
            meta=meta(table, rule.about, rule.rule))]
    return RowCheck((f"({rule.sql}) not in ({_values(rule.allowed)})",), expectations)


def rule_check(table: Table, rule: RowRule) -> RowCheck:
    """The check of one row rule of the contract."""
    match rule:
        case NotBefore():
            return _not_before(table, rule)
        case RequiredWhen():
            return _required_when(table, rule)
        case PresentExactlyWhen():
            return _present_exactly_when(table, rule)
        case InRange():
            return _in_range(table, rule)
        case DerivedIn():
            return _derived_in(table, rule)
        case _:
            assert_never(rule)


def row_checks(table: Table) -> list[RowCheck]:
    """Every rule over the table's rows: its columns' own, then the contract's row rules."""
    return ([check for column in table.columns for check in column_checks(table, column)]
            + [rule_check(table, rule) for rule in table.row_rules])
