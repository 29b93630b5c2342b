"""Generate realistic raw SaaS data in the raw input contract (shared/spec/raw-contract.md).

The generator is deterministic per seed (numpy PCG64, no wall clock) and vectorised:
loops run over pipeline stages, months of the span or blocks of customers, never over
single events, invoices or customers, so 100,000 customers take minutes.

The story it tells, so that every metric has something to find:
- customers sign up with growth over the span, in three segments with different seat
  counts, plan mixes, payment terms and currencies (USD, EUR, GBP, CAD, AUD);
- each customer has a latent *engagement*; it drives onboarding (setup, early logins,
  integration), trial conversion, usage, NPS, tickets, expansion and cross-sell;
- poorly onboarded, little-used customers churn 2-4x faster, and their activity fades in
  the months before they cancel;
- billing follows Stripe: one invoice per subscription period (month-end clamped anchor
  days), mid-period changes as proration pairs, discounts, tax, usage and setup-fee lines,
  late payers, failed payments with dunning, drafts and rare voided invoices.

And the cases that "why did MRR move" needs, each a few percent of its kind, never the rule:
- seat changes on the same plan, tier upgrades and downgrades (proration pairs), introductory
  discounts that end (the same plan and seats at a higher price), cross-sells and add-ons
  dropped while the core plan stays;
- failed payments that end in churn (`payment_failed`) and term invoices recovered 31-75 days
  past due (delinquent for a while, then paying again); cancellations with one of six
  reasons or none (exit survey skipped); trials converted, lost and still running;
- CRM gaps: customers without a segment, a country (NULL or "") or an acquisition channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from retain.generate.activity import _spans, _users
from retain.generate.arrays import _rng
from retain.generate.assembly import (
    _activity,
    _billing_columns,
    _customer_columns,
    _fx_rates,
    _plan_columns,
    _subscription_columns,
)
from retain.generate.billing import _invoices
from retain.generate.catalogue import DAY, PARQUET_FROM_CUSTOMERS, ROLES, Clock
from retain.generate.customers import _customers, _plans
from retain.generate.schemas import TABLES
from retain.generate.subscriptions import _subscriptions
from retain.generate.writer import TableWriter, _ids, _labels, _ts, _width


def _clock(end_date: date | None, years: int) -> Clock:
    end = end_date or datetime.now(UTC).date()
    try:
        first = end.replace(year=end.year - years)
    except ValueError:  # Feb 29 -> Feb 28
        first = end.replace(year=end.year - years, day=28)
    epoch = date(1970, 1, 1)
    return Clock(start=((first - epoch).days + 1) * DAY, end_excl=((end - epoch).days + 1) * DAY)


def generate_raw_data(out_dir: Path, customers: int = 2000, seed: int = 42,
                      end_date: date | None = None, years: int = 3, file_format: str = "auto",
                      progress: Callable[[str], None] | None = None,
                      events_scale: float = 1.0) -> dict[str, int]:
    """Write one file per table into out_dir; return rows per table.

    events_scale multiplies the usage events per customer (active user-days), e.g. 2 for
    twice the default's, to test the pipeline on heavier usage than the sample's.

    file_format "auto" writes CSV below 20,000 customers and Parquet from there on. Files of
    the other format are removed, since a folder holding both is an error for the loader.
    """
    if customers < 1 or years < 1:
        raise ValueError("customers and years must be at least 1")
    if not 1 <= events_scale <= 100:
        raise ValueError("events_scale must be between 1 and 100")
    if file_format not in ("auto", "csv", "parquet"):
        raise ValueError(f"unknown file format {file_format!r}")
    fmt = file_format if file_format != "auto" else (
        "parquet" if customers >= PARQUET_FROM_CUSTOMERS else "csv")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        for suffix in ("csv", "parquet"):
            (out_dir / f"{table}.{suffix}").unlink(missing_ok=True)
    clock = _clock(end_date, years)
    began = time.perf_counter()

    def say(message: str) -> None:
        if progress is not None:
            progress(f"{message} ({time.perf_counter() - began:.1f}s)")

    counts: dict[str, int] = {}

    def write(table: str, columns: dict[str, pa.Array]) -> None:
        writer = TableWriter(out_dir, table, fmt, seed)
        writer.write(columns)
        counts[table] = writer.close()
        say(f"{table}: {counts[table]:,} rows")

    plans = _plans()
    cust = _customers(_rng(seed, 1), customers, clock)
    width = _width(customers)
    write("plans", _plan_columns(plans))
    write("customers", _customer_columns(cust, width))
    subs = _subscriptions(seed, cust, clock)
    head, lines, current = _invoices(seed, subs, cust, plans, clock)
    write("subscriptions", _subscription_columns(subs, current, cust, plans["plan_id"], width))
    invoices, items = _billing_columns(head, lines, cust, subs, plans["plan_id"], width)
    del head, lines
    write("invoices", invoices)
    write("invoice_line_items", items)
    del invoices, items
    spans = _spans(subs, clock)
    users = _users(seed, cust, spans, clock)
    write("users", {"user_id": _ids("usr", np.arange(len(users["cust"])),
                                    _width(len(users["cust"]))),
                    "customer_id": _ids("cus", users["cust"], width),
                    "created_at": _ts(users["created"]), "role": _labels(users["role"], ROLES)})
    counts.update(_activity(seed, out_dir, fmt, cust, users, spans, clock,
                            {"cus": width, "evt": max(9, _width(customers * 1000))}, say,
                            events_scale))
    write("fx_rates", _fx_rates(seed, clock))
    return {table: counts[table] for table in TABLES}
