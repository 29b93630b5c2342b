"""Great Expectations suites for the raw tables, built from retain.contract.

Every table gets two suites, because GX validates one dataframe per suite:
- `<table>.rows`: the per-row rules (not null, types, enumerations, ranges,
  the contract's row rules; see retain.validation.rules), run on chunks of the
  loaded (normalised) table;
- `<table>.table`: the rules no chunk can decide (keys, relationships, sums
  over line items, fx coverage, volume), run on a one-row frame of counts
  that DuckDB computes (see retain.validation.aggregates).

Suites are built by factory functions on every call: GX binds an expectation
object to the suite it was added to, so they can never be shared.
"""

from __future__ import annotations

import great_expectations as gx
from great_expectations.expectations import Expectation
from great_expectations.expectations.metadata_types import FailureSeverity

from retain.contract import Table
from retain.validation.aggregates import TableCheck
from retain.validation.rules import meta, row_checks


def row_suite(table: Table) -> gx.ExpectationSuite:
    """Every per-row rule of one raw table, as a GX suite."""
    expectations: list[Expectation] = [gx.expectations.ExpectTableColumnsToMatchSet(
        column_set=table.column_names, exact_match=False,
        meta=meta(table, None, "has every listed column"))]
    for check in row_checks(table):
        expectations.extend(check.expectations())
    return gx.ExpectationSuite(name=f"{table.name}.rows", expectations=expectations)


def table_suite(table: Table, checks: list[TableCheck]) -> gx.ExpectationSuite:
    """The table-level rules of one raw table, over the frame of check counts."""
    expectations = [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column=check.name, min_value=check.min_rows, max_value=check.max_rows,
            severity=FailureSeverity.CRITICAL if check.blocking else FailureSeverity.WARNING,
            meta=meta(table, check.column, check.rule))
        for check in checks
    ]
    return gx.ExpectationSuite(name=f"{table.name}.table", expectations=expectations)
