"""MRR computed a second way, straight from the raw files, for reconciliation.

Plain Python over the CSV rows: exact fractions, a loop over months and
lines, calendar arithmetic from the standard library. It shares no SQL and
no code with the dbt models, so agreement means the definition (metrics.md)
was implemented twice the same way.
"""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

CENT = Decimal("0.01")
EIGHT_DECIMALS = Decimal("0.00000001")


def rows_of(raw_dir: Path, table: str) -> list[dict[str, str]]:
    path = raw_dir / f"{table}.csv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{key.strip(): (value or "").strip() for key, value in row.items()}
                for row in csv.DictReader(handle)]


def utc_timestamp(text: str) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (Jan 31 + 1 = Feb 29 in 2024)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_start(day: date) -> date:
    return day.replace(day=1)


def rounded(value: Fraction, quantum: Decimal) -> Decimal:
    """Half away from zero, as the spec rounds."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Settings:
    as_of: date
    reporting_currency: str = "USD"
    fx_rate_month: str = "invoice"
    delinquency_days: int = 30
    threshold: Decimal = Decimal("0.50")
    include_usage: bool = False


@dataclass(frozen=True)
class Line:
    customer_id: str
    product_id: str | None
    period_start: date
    period_end: date
    monthly_rate: Decimal
    status: str
    due_date: date
    paid_date: date | None
    # What the revenue-depth checks read besides MRR (independent_revenue_depth.py).
    plan_id: str | None = None
    subscription_id: str | None = None
    interval_months: int = 1
    line_type: str = "subscription"
    amount: Decimal = Decimal(0)
    quantity: int | None = None
    invoice_total: Decimal = Decimal(0)


def _fx_rates(raw_dir: Path) -> dict[tuple[date, str], Fraction]:
    return {(date.fromisoformat(row["month"]), row["currency"].upper()):
            Fraction(row["usd_per_unit"]) for row in rows_of(raw_dir, "fx_rates")}


def _usd_per_unit(currency: str, month: date, rates: dict[tuple[date, str], Fraction],
                  settings: Settings) -> Fraction:
    if currency == "USD":
        return Fraction(1)
    if settings.fx_rate_month == "latest":
        as_of_month = month_start(settings.as_of)
        candidates = [m for (m, c) in rates if c == currency and m <= as_of_month]
        month = max(candidates)
    return rates[(month, currency)]


def recurring_lines(raw_dir: Path, settings: Settings) -> list[Line]:
    """Every recurring line of an invoice existing at as_of_end, with its monthly rate."""
    as_of_end = datetime.combine(settings.as_of + timedelta(days=1), datetime.min.time())
    plans = {row["plan_id"]: row for row in rows_of(raw_dir, "plans")}
    rates = _fx_rates(raw_dir)
    invoices = {}
    for row in rows_of(raw_dir, "invoices"):
        issued = utc_timestamp(row["issued_at"])
        assert issued is not None
        if issued < as_of_end:
            invoices[row["invoice_id"]] = (row, issued)
    line_types = {"subscription", "usage"} if settings.include_usage else {"subscription"}
    lines = []
    for row in rows_of(raw_dir, "invoice_line_items"):
        if row["invoice_id"] not in invoices or row["line_type"].lower() not in line_types:
            continue
        invoice, issued = invoices[row["invoice_id"]]
        plan = plans.get(row["plan_id"])
        interval = 1 if plan is None else int(plan["billing_interval_count"]) * (
            12 if plan["billing_interval"].lower() == "year" else 1)
        currency = invoice["currency"].upper()
        if currency == settings.reporting_currency:
            factor = Fraction(1)
        else:
            month = month_start(issued.date())
            factor = (_usd_per_unit(currency, month, rates, settings)
                      / _usd_per_unit(settings.reporting_currency, month, rates, settings))
        net = Fraction(row["amount"]) - Fraction(row["discount_amount"] or "0")
        start, end = date.fromisoformat(row["period_start"]), date.fromisoformat(row["period_end"])
        if add_months(start, interval) == end or add_months(end, -interval) == start:
            rate = net * factor / interval
        else:
            cycle_days = (end - add_months(end, -interval)).days
            rate = net * factor * cycle_days / (interval * (end - start).days)
        paid = utc_timestamp(invoice["paid_at"])
        due = utc_timestamp(invoice["due_at"]) or issued
        lines.append(Line(
            customer_id=invoice["customer_id"],
            product_id=plan["product_id"] if plan else None,
            period_start=start, period_end=end,
            monthly_rate=rounded(rate, EIGHT_DECIMALS),
            status=invoice["status"].lower(),
            due_date=due.date(),
            paid_date=paid.date() if paid and paid < as_of_end else None,
            plan_id=row["plan_id"] or None,
            subscription_id=row["subscription_id"] or None,
            interval_months=interval,
            line_type=row["line_type"].lower(),
            amount=Decimal(row["amount"]),
            quantity=int(row["quantity"]) if row["quantity"] else None,
            invoice_total=Decimal(invoice["total"]),
        ))
    return lines


def snapshot_of(month: date, as_of: date) -> date:
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    return min(last_day, as_of)


def counts_at(line: Line, snapshot: date, settings: Settings) -> bool:
    if line.status in {"draft", "void"}:
        return False
    if not line.period_start <= snapshot < line.period_end:
        return False
    paid = line.paid_date is not None and line.paid_date <= snapshot
    return paid or snapshot <= line.due_date + timedelta(days=settings.delinquency_days)


def months_of(lines: list[Line], settings: Settings) -> list[date]:
    """Every month from the first line's to the as_of month (none without lines)."""
    if not lines:
        return []
    month, last = month_start(min(line.period_start for line in lines)), month_start(settings.as_of)
    months = []
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def mrr_by_month(raw_dir: Path, settings: Settings, by_product: bool = False
                 ) -> dict[tuple[str, date], Decimal]:
    """{(customer_id or customer_id|product_id, month): mrr} for months with mrr > 0."""
    lines = recurring_lines(raw_dir, settings)
    sums: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for month in months_of(lines, settings):
        snapshot = snapshot_of(month, settings.as_of)
        for line in lines:
            if by_product and line.product_id is None:
                continue
            if counts_at(line, snapshot, settings):
                key = f"{line.customer_id}|{line.product_id}" if by_product else line.customer_id
                sums[(key, month)] += line.monthly_rate
    result = {}
    for key, total in sums.items():
        cents = total.quantize(CENT, rounding=ROUND_HALF_UP)
        if cents >= settings.threshold and cents > 0:  # paying means mrr > 0
            result[key] = cents
    return result


@dataclass(frozen=True)
class MrrRow:
    customer_id: str
    month: date
    mrr: Decimal
    previous_mrr: Decimal
    movement: str


def customer_movements(mrr: dict[tuple[str, date], Decimal], settings: Settings) -> list[MrrRow]:
    """fct_mrr rows: paying months and the month after each, with movements."""
    as_of_month = month_start(settings.as_of)
    first_month: dict[str, date] = {}
    for customer, month in sorted(mrr, key=lambda key: key[1]):
        first_month.setdefault(customer, month)
    keys = set(mrr) | {(c, add_months(m, 1)) for c, m in mrr if add_months(m, 1) <= as_of_month}
    rows = []
    for customer, month in sorted(keys):
        current = mrr.get((customer, month), Decimal(0))
        previous = mrr.get((customer, add_months(month, -1)), Decimal(0))
        change = current - previous
        if previous == 0:
            movement = "new" if month == first_month[customer] else "reactivation"
        elif current == 0:
            movement = "churn"
        elif change > 0 and change >= settings.threshold:
            movement = "expansion"
        elif change < 0 and change <= -settings.threshold:
            movement = "contraction"
        else:
            movement = "unchanged"
        rows.append(MrrRow(customer, month, current, previous, movement))
    return rows
