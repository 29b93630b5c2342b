"""The sample-data generator writes the raw contract exactly, deterministically, realistically."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from retain.generate import SCHEMAS, TABLES, generate_raw_data

END = date(2025, 6, 30)
END_EXCL = pd.Timestamp("2025-07-01", tz="UTC")
CUSTOMERS = 300
TIMESTAMPS = {
    "customers": ["created_at"],
    "subscriptions": ["created_at", "trial_start", "trial_end", "started_at", "canceled_at",
                      "ended_at"],
    "invoices": ["issued_at", "due_at", "paid_at"],
    "users": ["created_at"],
    "usage_events": ["occurred_at"],
    "support_tickets": ["opened_at", "first_response_at", "resolved_at"],
    "nps_responses": ["responded_at"],
}
MONEY = {"plans": ["unit_amount"],
         "invoices": ["subtotal", "discount_amount", "tax_amount", "total"],
         "invoice_line_items": ["amount", "discount_amount", "tax_amount"]}


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
    for table in TABLES:
        data = pq.read_table(tmp_path / f"{table}.parquet")
        assert [(f.name, f.type) for f in data.schema] == SCHEMAS[table]
        assert data.num_rows == rows[table]
    csv_total = pd.read_csv(folder / "invoices.csv", dtype=str)["total"].map(Decimal).sum()
    assert pq.read_table(tmp_path / "invoices.parquet").column("total").to_pandas().sum() \
        == csv_total


def test_columns_exactly_the_contract(raw: dict[str, pd.DataFrame]) -> None:
    for table, schema in SCHEMAS.items():
        assert list(raw[table].columns) == [name for name, _ in schema]


def test_keys_and_required(raw: dict[str, pd.DataFrame]) -> None:
    keys = {"customers": "customer_id", "plans": "plan_id", "subscriptions": "subscription_id",
            "invoices": "invoice_id", "invoice_line_items": "line_item_id", "users": "user_id",
            "usage_events": "event_id", "support_tickets": "ticket_id",
            "nps_responses": "response_id"}
    for table, key in keys.items():
        column = raw[table][key]
        assert column.notna().all() and column.is_unique, table
        assert column.is_monotonic_increasing, f"{table} sorted by key"
    assert not raw["fx_rates"].duplicated(["month", "currency"]).any()
    required = {
        "customers": ["created_at"],
        "plans": ["plan_name", "product_id", "billing_interval", "billing_interval_count",
                  "unit_amount", "currency"],
        "subscriptions": ["customer_id", "plan_id", "status", "quantity", "created_at"],
        "invoices": ["customer_id", "status", "currency", "issued_at", "subtotal", "total"],
        "invoice_line_items": ["invoice_id", "line_type", "amount", "is_proration"],
        "users": ["customer_id", "created_at"],
        "usage_events": ["customer_id", "event_name", "occurred_at"],
        "support_tickets": ["customer_id", "opened_at", "priority"],
        "nps_responses": ["customer_id", "responded_at", "score"],
        "fx_rates": ["month", "currency", "usd_per_unit"],
    }
    for table, columns in required.items():
        assert raw[table][columns].notna().all().all(), table


def test_foreign_keys(raw: dict[str, pd.DataFrame]) -> None:
    def within(table: str, column: str, parent: str, key: str) -> None:
        values = raw[table][column].dropna()
        assert values.isin(raw[parent][key]).all(), f"{table}.{column}"

    for table in ("subscriptions", "invoices", "users", "usage_events", "support_tickets",
                  "nps_responses"):
        within(table, "customer_id", "customers", "customer_id")
    for table in ("invoices", "invoice_line_items"):
        within(table, "subscription_id", "subscriptions", "subscription_id")
    within("subscriptions", "plan_id", "plans", "plan_id")
    within("invoice_line_items", "plan_id", "plans", "plan_id")
    within("invoice_line_items", "invoice_id", "invoices", "invoice_id")
    for table in ("usage_events", "support_tickets", "nps_responses"):
        within(table, "user_id", "users", "user_id")
    users = raw["users"].set_index("user_id")["customer_id"]
    events = raw["usage_events"].dropna(subset=["user_id"])
    assert (events["user_id"].map(users) == events["customer_id"]).all()
    invoices = raw["invoices"].dropna(subset=["subscription_id"])
    subs = raw["subscriptions"].set_index("subscription_id")["customer_id"]
    assert (invoices["subscription_id"].map(subs) == invoices["customer_id"]).all()


def test_enums_and_ranges(raw: dict[str, pd.DataFrame]) -> None:
    plans, subs, inv, lines = (raw["plans"], raw["subscriptions"], raw["invoices"],
                               raw["invoice_line_items"])
    assert set(plans["billing_interval"]) == {"month", "year"}
    assert set(plans["billing_interval_count"].astype(int)) == {1, 3}
    assert (plans["unit_amount"] >= 0).all() and (plans["unit_amount"] == 0).any()
    assert plans["product_id"].nunique() >= 2
    assert {"USD", "EUR", "GBP"} <= set(plans["currency"])
    statuses = {"trialing", "active", "past_due", "unpaid", "paused", "canceled"}
    assert set(subs["status"]) <= statuses and len(set(subs["status"])) >= 5
    assert (subs["quantity"].astype(int) >= 0).all()
    assert set(inv["status"]) <= {"draft", "open", "paid", "void", "uncollectible"}
    assert len(set(inv["status"])) >= 4
    assert set(lines["line_type"]) == {"subscription", "usage", "one_time", "credit"}
    assert set(lines["is_proration"]) == {"true", "false"}
    assert (lines["quantity"].dropna().astype(int) >= 0).all()
    for frame in (inv, lines):
        assert (frame["discount_amount"] >= 0).all() and (frame["tax_amount"] >= 0).all()
    tickets = raw["support_tickets"]
    assert set(tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert tickets["csat_score"].dropna().astype(int).between(1, 5).all()
    assert raw["nps_responses"]["score"].astype(int).between(0, 10).all()
    countries = raw["customers"]["country"].dropna()
    assert countries.str.fullmatch(r"[A-Z]{2}").all()


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
