"""Great Expectations suites for the raw tables, built from retain.contract.

Every table gets two suites, because GX validates one dataframe per suite:
- `<table>.rows`: the per-row rules (not null, types, enumerations, ranges,
  cross-field rules), run on chunks of the normalised table;
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
from retain.contract import Column, ColumnType, Table

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

# Codes the contract names by standard; the frame holds them upper-cased.
CODE_PATTERNS = {"currency": r"^[A-Z]{3}$", "country": r"^[A-Z]{2}$"}
CODE_STANDARDS = {"currency": "ISO 4217", "country": "ISO 3166-1 alpha-2"}

# Columns computed for the row suites where GX has no expectation for the
# rule itself; each is validated under the contract column it is about.
DERIVED_COLUMNS: dict[str, dict[str, str]] = {
    "invoices": {
        "total_off_by": (
            "cast(round(total, 2) - round(subtotal - coalesce(discount_amount, 0) "
            "+ coalesce(tax_amount, 0), 2) as double)"),
    },
    "fx_rates": {"day_of_month": "extract(day from month)"},
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
    if name in CODE_PATTERNS:
        found.append(gx.expectations.ExpectColumnValuesToMatchRegex(
            column=name, regex=CODE_PATTERNS[name],
            meta=_meta(table, name, f"an {CODE_STANDARDS[name]} code")))
    if column.min_value is not None or column.max_value is not None:
        bounds = " and ".join(text for text in (
            None if column.min_value is None else f">= {column.min_value:g}",
            None if column.max_value is None else f"<= {column.max_value:g}") if text)
        found.append(gx.expectations.ExpectColumnValuesToBeBetween(
            column=name, min_value=column.min_value, max_value=column.max_value,
            meta=_meta(table, name, bounds)))
    return found


def _later(table: Table, later: str, earlier: str, or_equal: bool = True) -> Expectation:
    """A timestamp or date that may not come before another of the same row."""
    return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=later, column_B=earlier, or_equal=or_equal,
        ignore_row_if="either_value_is_missing",
        meta=_meta(table, later, f"{'>=' if or_equal else '>'} {earlier}"))


def _required_when(table: Table, column: str, line_types: list[str]) -> Expectation:
    return gx.expectations.ExpectColumnValuesToNotBeNull(
        column=column, row_condition=Condition("line_type").is_in(line_types),
        meta=_meta(table, column, "not null when line_type is " + " or ".join(line_types)))


def _cross_field_expectations(table: Table) -> list[Expectation]:
    """The contract's rules that relate two columns of one row."""
    if table.name == "subscriptions":
        return [_later(table, "trial_end", "trial_start"), _later(table, "ended_at", "created_at")]
    if table.name == "invoices":
        return [
            _later(table, "due_at", "issued_at"),
            gx.expectations.ExpectColumnValuesToNotBeNull(
                column="paid_at", row_condition=Condition("status") == "paid",
                meta=_meta(table, "paid_at", "present when status is paid")),
            gx.expectations.ExpectColumnValuesToBeNull(
                column="paid_at", row_condition=Condition("status") != "paid",
                meta=_meta(table, "paid_at", "empty unless status is paid")),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="total_off_by", min_value=0, max_value=0,
                meta=_meta(table, "total", "= subtotal - discount_amount + tax_amount "
                           "to the cent")),
        ]
    if table.name == "invoice_line_items":
        return [
            _required_when(table, "subscription_id", ["subscription"]),
            _required_when(table, "plan_id", ["subscription"]),
            _required_when(table, "period_start", ["subscription", "usage"]),
            _required_when(table, "period_end", ["subscription", "usage"]),
            _later(table, "period_end", "period_start", or_equal=False),
        ]
    if table.name == "support_tickets":
        return [_later(table, "first_response_at", "opened_at"),
                _later(table, "resolved_at", "opened_at")]
    if table.name == "fx_rates":
        return [
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="usd_per_unit", min_value=0, strict_min=True,
                meta=_meta(table, "usd_per_unit", "> 0")),
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="usd_per_unit", min_value=1, max_value=1,
                row_condition=Condition("currency") == "USD",
                meta=_meta(table, "usd_per_unit", "= 1 for USD")),
            gx.expectations.ExpectColumnValuesToBeInSet(
                column="day_of_month", value_set=[1],
                meta=_meta(table, "month", "the first day of a month")),
        ]
    return []


def row_suite(table: Table) -> gx.ExpectationSuite:
    """Every per-row rule of one raw table, as a GX suite."""
    expectations: list[Expectation] = [gx.expectations.ExpectTableColumnsToMatchSet(
        column_set=table.column_names, exact_match=False,
        meta=_meta(table, None, "has every listed column"))]
    for column in table.columns:
        expectations.extend(_column_expectations(table, column))
    expectations.extend(_cross_field_expectations(table))
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
