"""The raw contract is written once (retain/contract.py): the dbt sources and the
staging models are checked against it, so neither can drift from it unseen."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

from retain.contract import TABLES, Table
from retain.load import load_raw
from retain.settings import PROJECT_DIR
from retain.sources import SOURCES_FILE, sources_yaml
from tests.python.conftest import FIXTURES

STAGING = PROJECT_DIR / "models" / "staging"
POINT_IN_TIME = re.compile(r"point_in_time\(\s*'(?P<table>\w+)',\s*(?P<columns>\[[^\]]*\])", re.S)


def test_sources_are_generated_from_the_contract() -> None:
    assert SOURCES_FILE.read_text() == sources_yaml(), (
        "models/staging/_sources.yml differs from the contract: "
        "run python -m retain.sources --write")


def test_contract_names_are_plain_sql_identifiers() -> None:
    # The contract's own SQL (DerivedIn.sql, appended_rows) names columns unquoted.
    plain = re.compile(r"[a-z][a-z0-9_]*")
    names = [table.name for table in TABLES]
    names += [column.name for table in TABLES for column in table.columns]
    assert [name for name in names if not plain.fullmatch(name)] == []


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_staging_selects_exactly_the_contract_columns(table: Table) -> None:
    model = STAGING / f"stg_{table.name}.sql"
    if table.name == "users":  # read by nothing in the warehouse: no staging model
        assert not model.exists()
        return
    found = POINT_IN_TIME.search(model.read_text())
    assert found, f"{model.name} does not select its source through point_in_time"
    assert found["table"] == table.name
    assert ast.literal_eval(found["columns"]) == table.column_names


def test_loading_applies_the_contract_conventions(tmp_path: Path) -> None:
    """valid_small spells values as the contract allows: loading normalises them once,
    so validation and staging read what the contract means."""
    warehouse = tmp_path / "retain.duckdb"
    load_raw(FIXTURES / "valid_small", warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        invoice = con.execute("select status, currency, discount_amount, tax_amount "
                              "from raw.invoices where invoice_id = 'inv_2'").fetchone()
        line = con.execute("select line_type, discount_amount from raw.invoice_line_items "
                           "where line_item_id = 'li_2'").fetchone()
        plan = con.execute("select billing_interval, currency from raw.plans "
                           "where plan_id = 'basic_monthly_eur'").fetchone()
        country = con.execute("select country from raw.customers "
                              "where customer_id = 'cus_2'").fetchone()
        priority = con.execute("select priority from raw.support_tickets "
                               "where ticket_id = 'tkt_2'").fetchone()
        padded_keys = con.execute(
            "select count(*) from raw.subscriptions where customer_id <> trim(customer_id)"
        ).fetchone()
    assert invoice == ("paid", "USD", 0, 0)  # ` Paid `, `usd`, empty discount and tax
    assert line == ("subscription", 0)  # `Subscription`, empty discount
    assert plan == ("month", "EUR")  # `Month`, ` eur `
    assert country == ("DE",) and priority == ("high",)
    assert padded_keys == (0,)
