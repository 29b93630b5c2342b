"""The raw contract is written once (retain/contract.py): the dbt sources and the
staging models are checked against it, so neither can drift from it unseen."""

from __future__ import annotations

import ast
import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from retain.contract import TABLES, Table
from retain.load import APPENDED_DAYS, RawInputError, load_raw
from retain.settings import PROJECT_DIR
from retain.sources import SOURCES_FILE, sources_yaml
from tests.python.conftest import FIXTURES, csv_as_parquet

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


def _loaded_events_and_days(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        events = con.execute("select * from raw.usage_events order by event_id").fetchall()
        days = con.execute(f"select day, rows, value_hash from {APPENDED_DAYS} "
                           "where table_name = 'usage_events' order by day").fetchall()
    return events, days


def _write_events(raw: Path, csv_text: str, file_format: str) -> None:
    """usage_events as CSV text, or as Parquet with instants (TIMESTAMP WITH TIME ZONE),
    as the generator writes them: the loader finds days differently in each."""
    csv = raw / "usage_events.csv"
    csv.write_text(csv_text)
    if file_format == "parquet":
        with duckdb.connect() as con:
            con.execute(f"copy (select * replace (cast(occurred_at as timestamptz) as "
                        f"occurred_at) from read_csv('{csv}', all_varchar = true)) "
                        f"to '{raw / 'usage_events.parquet'}' (format parquet)")
        csv.unlink()


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_an_incremental_load_records_the_days_a_full_load_would(tmp_path: Path,
                                                                file_format: str) -> None:
    """The days before appended_from are checked against digests recorded when they were
    loaded, not against the kept rows: after an incremental load the recorded days must
    be those a full load of the same file records, and an old row changed since must
    stop the next one."""
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "valid_small", raw)
    events = (FIXTURES / "valid_small" / "usage_events.csv").read_text()
    _write_events(raw, events, file_format)
    continued, rebuilt = tmp_path / "continued.duckdb", tmp_path / "rebuilt.duckdb"
    load_raw(raw, continued)
    # A late event on a recomputed day, one without a time (always reloaded), and a
    # recent one changed: the kept days (before 2024-01-10) are as they were.
    events = (events.replace("evt_3,cus_2,usr_2,login", "evt_3,cus_2,usr_2,report_created")
              + "evt_5,cus_2,usr_2,login,2024-01-10T00:00:00Z\n"
              + "evt_6,cus_2,usr_2,login,\n")
    _write_events(raw, events, file_format)
    load_raw(raw, continued, appended_from=datetime(2024, 1, 10))
    load_raw(raw, rebuilt)
    loaded, days = _loaded_events_and_days(continued)
    assert (loaded, days) == _loaded_events_and_days(rebuilt)
    assert [(day.isoformat(), rows) for day, rows, _ in days] == [
        ("2024-01-05", 1), ("2024-01-06", 1), ("2024-01-10", 1), ("2024-01-11", 1),
        ("2024-02-02", 1)]
    _write_events(raw, events.replace("setup_completed", "login"), file_format)
    with pytest.raises(RawInputError, match="rows before 2024-01-10 differ"):
        load_raw(raw, continued, appended_from=datetime(2024, 1, 10))


def _raw_rows(warehouse: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select * from raw.{table} order by all").fetchall()


def test_typed_parquet_numbers_load_as_their_text_does(tmp_path: Path) -> None:
    """Parquet integers and decimals of at most the column's scale are typed by a cast,
    not through their text (retain.load._casts_exactly); a decimal of more scale still
    goes through its text. Either way the loaded rows equal those of the same values
    written as CSV text."""
    typed_columns = {
        "invoices": {"subtotal": "decimal(18,2)", "discount_amount": "decimal(18,2)",
                     "tax_amount": "decimal(18,2)", "total": "decimal(18,2)"},
        "invoice_line_items": {"quantity": "integer", "amount": "decimal(18,2)",
                               "discount_amount": "decimal(12,4)",
                               "tax_amount": "decimal(20,8)"},
        "subscriptions": {"quantity": "smallint"},
        "fx_rates": {"usd_per_unit": "decimal(18,10)"},
    }
    as_text, typed = tmp_path / "as_text", tmp_path / "typed"
    shutil.copytree(FIXTURES / "valid_small", as_text)
    shutil.copytree(FIXTURES / "valid_small", typed)
    for table, columns in typed_columns.items():
        csv_as_parquet(typed, table, columns)
        (typed / f"{table}.csv").unlink()
    load_raw(as_text, tmp_path / "as_text.duckdb")
    load_raw(typed, tmp_path / "typed.duckdb")
    for table in typed_columns:
        expected = _raw_rows(tmp_path / "as_text.duckdb", table)
        assert expected, table
        assert _raw_rows(tmp_path / "typed.duckdb", table) == expected, table
