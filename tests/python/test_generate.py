"""The sample-data generator writes the raw contract exactly, deterministically, realistically."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retain.contract import TABLES as CONTRACT_TABLES
from retain.contract import TABLES_BY_NAME, ColumnType
from retain.generate import generate_raw_data
from retain.load import load_raw
from retain.pipeline import validate_step
from retain.settings import Settings

TABLES = [table.name for table in CONTRACT_TABLES]
END = date(2025, 6, 30)
END_EXCL = pd.Timestamp("2025-07-01", tz="UTC")
CUSTOMERS = 300
TIMESTAMPS = {table.name: [c.name for c in table.columns if c.type == "timestamp"]
              for table in CONTRACT_TABLES if any(c.type == "timestamp" for c in table.columns)}
MONEY = {table.name: [c.name for c in table.columns if c.type == "decimal"]
         for table in CONTRACT_TABLES if any(c.type == "decimal" for c in table.columns)}
# Which arrow types a Parquet file may use for each contract type.
ARROW_TYPE_CHECKS: dict[ColumnType, Callable[[pa.DataType], bool]] = {
    "string": pa.types.is_string, "integer": pa.types.is_int64,
    "decimal": pa.types.is_decimal, "rate": pa.types.is_decimal,
    "boolean": pa.types.is_boolean, "date": pa.types.is_date32,
    "timestamp": lambda kind: pa.types.is_timestamp(kind) and kind.tz == "UTC",
}


def _accepted(table: str, column: str) -> set[str]:
    return set(TABLES_BY_NAME[table].column(column).accepted_values or ())


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    """Read the CSVs as text, then parse timestamps to UTC and money to exact cents."""
    frames = {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False,
                             na_values=[""]) for t in TABLES}
    for table, columns in TIMESTAMPS.items():
        for column in columns:
            frames[table][column] = pd.to_datetime(frames[table][column], utc=True,
                                                   format="ISO8601")
    for table, columns in MONEY.items():
        for column in columns:
            frames[table][column] = frames[table][column].map(
                lambda v: pd.NA if pd.isna(v) else int(Decimal(v) * 100)).astype("Int64")
    return frames


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    generate_raw_data(out, customers=CUSTOMERS, seed=7, end_date=END)
    return out


@pytest.fixture(scope="module")
def raw(folder: Path) -> dict[str, pd.DataFrame]:
    return _read(folder)


def test_deterministic_and_auto_csv(folder: Path, tmp_path: Path) -> None:
    rows = generate_raw_data(tmp_path, customers=CUSTOMERS, seed=7, end_date=END)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    for table in TABLES:
        assert (tmp_path / f"{table}.csv").read_bytes() == (folder / f"{table}.csv").read_bytes()
    assert rows["customers"] == CUSTOMERS and all(rows[t] > 0 for t in TABLES)
    other = generate_raw_data(tmp_path / "other", customers=CUSTOMERS, seed=8, end_date=END)
    assert (tmp_path / "other" / "invoices.csv").read_bytes() != (
        folder / "invoices.csv").read_bytes()
    assert other["customers"] == CUSTOMERS


def test_parquet_native_types_replace_csv(folder: Path, tmp_path: Path) -> None:
    generate_raw_data(tmp_path, customers=CUSTOMERS, seed=7, end_date=END, file_format="csv")
    rows = generate_raw_data(tmp_path, customers=CUSTOMERS, seed=7, end_date=END,
                             file_format="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    for table in CONTRACT_TABLES:
        data = pq.read_table(tmp_path / f"{table.name}.parquet")
        assert [field.name for field in data.schema] == table.column_names
        for column in table.columns:
            kind = data.schema.field(column.name).type
            assert ARROW_TYPE_CHECKS[column.type](kind), (table.name, column.name, kind)
        assert data.num_rows == rows[table.name]
    csv_total = pd.read_csv(folder / "invoices.csv", dtype=str)["total"].map(Decimal).sum()
    assert pq.read_table(tmp_path / "invoices.parquet").column("total").to_pandas().sum() \
        == csv_total


def test_columns_exactly_the_contract(raw: dict[str, pd.DataFrame]) -> None:
    for table in CONTRACT_TABLES:
        assert list(raw[table.name].columns) == table.column_names


def test_keys_and_required(raw: dict[str, pd.DataFrame]) -> None:
    for table in CONTRACT_TABLES:
        frame = raw[table.name]
        if table.primary_key:
            column = frame[table.primary_key]
            assert column.notna().all() and column.is_unique, table.name
            assert column.is_monotonic_increasing, f"{table.name} sorted by key"
        if table.unique_together:
            assert not frame.duplicated(list(table.unique_together)).any(), table.name
        required = [column.name for column in table.columns if column.required]
        assert frame[required].notna().all().all(), table.name


def test_foreign_keys(raw: dict[str, pd.DataFrame]) -> None:
    for table in CONTRACT_TABLES:
        for column in table.columns:
            if column.references:
                parent, key = column.references.split(".")
                values = raw[table.name][column.name].dropna()
                assert values.isin(raw[parent][key]).all(), f"{table.name}.{column.name}"
    users = raw["users"].set_index("user_id")["customer_id"]
    events = raw["usage_events"].dropna(subset=["user_id"])
    assert (events["user_id"].map(users) == events["customer_id"]).all()
    invoices = raw["invoices"].dropna(subset=["subscription_id"])
    subs = raw["subscriptions"].set_index("subscription_id")["customer_id"]
    assert (invoices["subscription_id"].map(subs) == invoices["customer_id"]).all()


def test_contract_enumerations_codes_and_bounds(raw: dict[str, pd.DataFrame]) -> None:
    for table in CONTRACT_TABLES:
        for column in table.columns:
            values = raw[table.name][column.name].dropna()
            if column.accepted_values:
                assert set(values) <= set(column.accepted_values), (table.name, column.name)
            if column.code:
                assert values.str.fullmatch(column.code.pattern).all(), (table.name, column.name)
            numbers = values.astype(float) if column.type in ("integer", "rate") else values
            if column.min_value is not None and column.type != "decimal":
                assert (numbers >= column.min_value).all(), (table.name, column.name)
            if column.max_value is not None:
                assert (numbers <= column.max_value).all(), (table.name, column.name)


def test_generated_data_passes_the_contract_validation(folder: Path, tmp_path: Path) -> None:
    """The generator and the contract cannot drift apart: the Great Expectations suites
    built from the contract find nothing blocking in what the generator writes."""
    settings = Settings(raw_dir=folder, warehouse=tmp_path / "retain.duckdb", as_of=END,
                        report_dir=tmp_path / "validation")
    load_raw(folder, tmp_path / ".build" / "retain.duckdb")
    result = validate_step(settings, "generated", lambda _: None)
    assert result.blocking_failures == [], result.report_text()
    assert result.rows["customers"] == CUSTOMERS


def test_enums_and_ranges(raw: dict[str, pd.DataFrame]) -> None:
    plans, subs, inv, lines = (raw["plans"], raw["subscriptions"], raw["invoices"],
                               raw["invoice_line_items"])
    assert set(plans["billing_interval"]) == _accepted("plans", "billing_interval")
    assert set(plans["billing_interval_count"].astype(int)) == {1, 3}
    assert (plans["unit_amount"] >= 0).all() and (plans["unit_amount"] == 0).any()
    assert plans["product_id"].nunique() >= 2
    assert {"USD", "EUR", "GBP"} <= set(plans["currency"])
    assert len(set(subs["status"])) >= 5 and len(set(inv["status"])) >= 4
    assert set(lines["line_type"]) == _accepted("invoice_line_items", "line_type")
    assert set(lines["is_proration"]) == {"true", "false"}
    assert (lines["quantity"].dropna().astype(int) >= 0).all()
    for frame in (inv, lines):
        assert (frame["discount_amount"] >= 0).all() and (frame["tax_amount"] >= 0).all()
    tickets = raw["support_tickets"]
    assert set(tickets["priority"]) == _accepted("support_tickets", "priority")
    assert raw["customers"]["country"].nunique() >= 5  # the code check above is not vacuous


def test_invoice_arithmetic(raw: dict[str, pd.DataFrame]) -> None:
    inv = raw["invoices"].set_index("invoice_id")
    sums = raw["invoice_line_items"].groupby("invoice_id")[
        ["amount", "discount_amount", "tax_amount"]].sum()
    assert sums.index.equals(inv.index.sort_values())
    assert (inv.loc[sums.index, "subtotal"] == sums["amount"]).all()
    assert (inv.loc[sums.index, "discount_amount"] == sums["discount_amount"]).all()
    assert (inv.loc[sums.index, "tax_amount"] == sums["tax_amount"]).all()
    assert (inv["total"] == inv["subtotal"] - inv["discount_amount"] + inv["tax_amount"]).all()
    assert (inv["discount_amount"] > 0).any() and (inv["tax_amount"] > 0).any()


def test_line_rules_and_prorations(raw: dict[str, pd.DataFrame]) -> None:
    lines = raw["invoice_line_items"]
    periodic = lines[lines["line_type"].isin(["subscription", "usage"])]
    assert periodic[["period_start", "period_end"]].notna().all().all()
    assert (periodic["period_end"] > periodic["period_start"]).all()
    subscription = lines[lines["line_type"] == "subscription"]
    assert subscription[["subscription_id", "plan_id"]].notna().all().all()
    plans = raw["plans"].set_index("plan_id")["unit_amount"]
    regular = subscription[(subscription["is_proration"] == "false")
                           & (subscription["amount"] != 0)]  # not a free trial period
    assert (regular["amount"] == regular["plan_id"].map(plans)
            * regular["quantity"].astype(int)).all()
    prorations = lines[lines["is_proration"] == "true"]
    pairs = prorations.groupby("invoice_id").agg(
        n=("amount", "size"), low=("amount", "min"), high=("amount", "max"),
        starts=("period_start", "nunique"), ends=("period_end", "nunique"))
    assert len(pairs) > 0
    assert (pairs["n"] == 2).all() and (pairs["low"] < 0).all() and (pairs["high"] > 0).all()
    assert (pairs["starts"] == 1).all() and (pairs["ends"] == 1).all()
    # Some customers are billed on the 29th-31st, so month-end clamping is exercised.
    days = pd.to_datetime(regular["period_start"]).dt.day
    assert (days >= 29).any() and (days == 28).any()


def test_times_and_payments(raw: dict[str, pd.DataFrame]) -> None:
    inv, subs = raw["invoices"], raw["subscriptions"]
    assert (inv["issued_at"] < END_EXCL).all()
    assert (inv["due_at"].isna() | (inv["due_at"] >= inv["issued_at"])).all()
    paid = inv["status"] == "paid"
    assert inv.loc[paid, "paid_at"].notna().all() and inv.loc[~paid, "paid_at"].isna().all()
    assert (inv.loc[paid, "paid_at"] < END_EXCL).all()
    assert (inv.loc[paid, "paid_at"] >= inv.loc[paid, "issued_at"]).all()
    assert (subs["ended_at"].isna() | (subs["ended_at"] >= subs["created_at"])).all()
    assert (subs["trial_end"].isna() | (subs["trial_end"] >= subs["trial_start"])).all()
    lost = subs["trial_start"].notna() & subs["started_at"].isna() & (subs["status"] == "canceled")
    assert lost.any() and (subs.loc[lost, "ended_at"] == subs.loc[lost, "trial_end"]).all()
    tickets = raw["support_tickets"]
    for column in ("first_response_at", "resolved_at"):
        assert (tickets[column].isna() | (tickets[column] >= tickets["opened_at"])).all()
    for table, columns in TIMESTAMPS.items():
        assert (raw[table][columns[0]] < END_EXCL).all(), table
    for table in ("customers", "subscriptions", "users"):
        assert raw[table]["created_at"].min() >= pd.Timestamp("2022-06-30", tz="UTC")


def test_timestamp_spellings(folder: Path) -> None:
    text = pd.read_csv(folder / "usage_events.csv", dtype=str)["occurred_at"]
    assert text.str.endswith("Z").mean() > 0.95
    assert text.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").any()
    assert text.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d").any()


def test_fx_covers_every_invoice_month(raw: dict[str, pd.DataFrame]) -> None:
    fx = raw["fx_rates"]
    months = pd.to_datetime(fx["month"])
    assert (months.dt.day == 1).all() and (fx["usd_per_unit"].astype(float) > 0).all()
    assert "USD" not in set(fx["currency"])
    inv = raw["invoices"]
    needed = set(zip(inv["currency"], inv["issued_at"].dt.strftime("%Y-%m-01"), strict=True))
    have = set(zip(fx["currency"], fx["month"], strict=True))
    assert {(c, m) for c, m in needed if c != "USD"} <= have
    assert (fx["month"].max()) == "2025-06-01"


def test_lifecycle_variety(raw: dict[str, pd.DataFrame]) -> None:
    subs = raw["subscriptions"].merge(raw["plans"][["plan_id", "product_id"]], on="plan_id")
    per_customer = subs.groupby("customer_id")
    assert (per_customer["product_id"].nunique() > 1).any(), "cross-sell"
    core = subs[subs["product_id"] == "core"]
    assert (core.groupby("customer_id").size() > 1).any(), "reactivation"
    assert subs["cancel_reason"].notna().any() and subs["canceled_at"].notna().any()
    events = raw["usage_events"]
    assert {"login", "setup_completed", "integration_connected"} <= set(events["event_name"])
    assert events["user_id"].isna().any() and events["user_id"].notna().mean() > 0.9


def test_events_scale_multiplies_the_active_user_days(tmp_path: Path) -> None:
    # The memory check of the performance issue runs on twice the default usage: the
    # same customers, users and billing, about twice the events (system events, one in
    # ten, stay as they are), the users active on about twice as many days. Tickets and
    # answers are drawn after the events from the same stream, so they differ.
    counts = {scale: generate_raw_data(tmp_path / str(scale), customers=300, seed=7,
                                       end_date=date(2026, 6, 30), file_format="parquet",
                                       events_scale=scale)
              for scale in (1.0, 2.0)}
    activity = {"usage_events", "support_tickets", "nps_responses"}
    assert {table: rows for table, rows in counts[1.0].items() if table not in activity} \
        == {table: rows for table, rows in counts[2.0].items() if table not in activity}
    assert 1.7 < counts[2.0]["usage_events"] / counts[1.0]["usage_events"] < 2.1
    user_days = {scale: pq.read_table(tmp_path / str(scale) / "usage_events.parquet").to_pandas()
                 .dropna(subset=["user_id"]).assign(day=lambda f: f.occurred_at.dt.date)
                 [["user_id", "day"]].drop_duplicates().shape[0] for scale in counts}
    assert 1.7 < user_days[2.0] / user_days[1.0] < 2.1
    with pytest.raises(ValueError, match="events_scale"):
        generate_raw_data(tmp_path / "no", customers=10, events_scale=0.5)
