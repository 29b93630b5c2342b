"""Revenue depth (metrics.md, "Revenue depth") computed a second way, from the raw files.

Plain Python over the CSV rows, on top of the MRR of independent_revenue.py: a loop over
months and lines for delinquent MRR, churn type and reason, product seats, plan sets and
the seat/price/plan split. It shares no SQL with the dbt models.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from tests.python.independent_revenue import (
    CENT,
    Line,
    Settings,
    add_months,
    counts_at,
    customer_movements,
    month_start,
    months_of,
    mrr_by_month,
    recurring_lines,
    rounded,
    rows_of,
    snapshot_of,
    utc_timestamp,
)

ZERO = Decimal(0)


def _thresholded(total: Decimal, settings: Settings) -> Decimal:
    cents = total.quantize(CENT, rounding=ROUND_HALF_UP)
    return cents if cents > 0 and cents >= settings.threshold else ZERO


def _paid_at(line: Line, snapshot: date) -> bool:
    return line.paid_date is not None and line.paid_date <= snapshot


def delinquent_at(line: Line, snapshot: date, settings: Settings) -> bool:
    return (line.status not in {"draft", "void"}
            and line.period_start <= snapshot < line.period_end
            and not _paid_at(line, snapshot)
            and snapshot > line.due_date + timedelta(days=settings.delinquency_days))


def delinquent_mrr(raw_dir: Path, settings: Settings) -> dict[tuple[str, date], Decimal]:
    """{(customer, month): delinquent MRR} where it is > 0."""
    lines = recurring_lines(raw_dir, settings)
    sums: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for month in months_of(lines, settings):
        snapshot = snapshot_of(month, settings.as_of)
        for line in lines:
            if delinquent_at(line, snapshot, settings):
                sums[(line.customer_id, month)] += line.monthly_rate
    return {key: value for key, total in sums.items()
            if (value := _thresholded(total, settings)) > 0}


@dataclass(frozen=True)
class ChurnRow:
    customer_id: str
    month: date
    churned_mrr: Decimal
    churn_type: str
    churn_reason: str


def _subscription_ends(raw_dir: Path, settings: Settings
                       ) -> dict[str, list[tuple[datetime, str, str]]]:
    """{customer: [(coalesce(ended_at, canceled_at), subscription_id, reason)]} as known at
    as_of_end (a later timestamp has not happened)."""
    as_of_end = datetime.combine(settings.as_of + timedelta(days=1), datetime.min.time())
    ends: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for row in rows_of(raw_dir, "subscriptions"):
        created = utc_timestamp(row["created_at"])
        if created is None or created >= as_of_end:
            continue
        known = [moment for moment in (utc_timestamp(row["ended_at"]),
                                       utc_timestamp(row["canceled_at"]))
                 if moment is not None and moment < as_of_end]
        if known:
            ends[row["customer_id"]].append((known[0], row["subscription_id"],
                                             row["cancel_reason"].strip()))
    return ends


def churn_rows(raw_dir: Path, settings: Settings) -> list[ChurnRow]:
    """fct_mrr's churn rows with their churn type and reason."""
    lines = recurring_lines(raw_dir, settings)
    movements = customer_movements(mrr_by_month(raw_dir, settings), settings)
    delinquent = delinquent_mrr(raw_dir, settings)
    ends = _subscription_ends(raw_dir, settings)
    lines_of: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        lines_of[line.customer_id].append(line)
    spell_start: dict[str, date] = {}
    rows = []
    for movement in sorted(movements, key=lambda row: (row.customer_id, row.month)):
        customer, month = movement.customer_id, movement.month
        if movement.movement in {"new", "reactivation"}:
            spell_start[customer] = month
        if movement.movement != "churn":
            continue
        snapshot = snapshot_of(month, settings.as_of)
        previous_snapshot = snapshot_of(add_months(month, -1), settings.as_of)
        stopped_paying = any(
            counts_at(line, previous_snapshot, settings) and line.invoice_total > 0
            and not _paid_at(line, snapshot) and line.due_date < snapshot
            for line in lines_of[customer])
        if delinquent.get((customer, month), ZERO) > 0 or stopped_paying:
            churn_type, reason = "involuntary", "non_payment"
        else:
            churn_type = "voluntary"
            window_start = datetime.combine(spell_start[customer], datetime.min.time())
            window_end = datetime.combine(snapshot + timedelta(days=1), datetime.min.time())
            candidates = [(moment, subscription, text)
                          for moment, subscription, text in ends.get(customer, [])
                          if window_start <= moment < window_end]
            reason = (max(candidates)[2] or "unknown") if candidates else "unknown"
        rows.append(ChurnRow(customer, month, movement.mrr - movement.previous_mrr,
                             churn_type, reason))
    return rows


@dataclass(frozen=True)
class ProductRow:
    movement: str
    mrr: Decimal
    previous_mrr: Decimal
    previous_seats: int
    seats: int
    seat_change_mrr: Decimal | None
    price_change_mrr: Decimal | None
    plan_change_mrr: Decimal | None


def _seats_and_plan_sets(lines: list[Line], settings: Settings
                         ) -> tuple[dict[tuple[str, str, date], int],
                                    dict[tuple[str, str, date], frozenset[str]]]:
    seats: dict[tuple[str, str, date], int] = defaultdict(int)
    plan_sums: dict[tuple[str, str, date, str], Decimal] = defaultdict(Decimal)
    for month in months_of(lines, settings):
        snapshot = snapshot_of(month, settings.as_of)
        for line in lines:
            if line.product_id is None or not counts_at(line, snapshot, settings):
                continue
            key = (line.customer_id, line.product_id, month)
            assert line.plan_id is not None
            plan_sums[(*key, line.plan_id)] += line.monthly_rate
            if line.line_type == "subscription" and line.quantity is not None:
                sign = (line.amount > 0) - (line.amount < 0)
                seats[key] += sign * abs(line.quantity)
    plan_sets: dict[tuple[str, str, date], set[str]] = defaultdict(set)
    for (customer, product, month, plan), total in plan_sums.items():
        if _thresholded(total, settings) > 0:
            plan_sets[(customer, product, month)].add(plan)
    return seats, {key: frozenset(plans) for key, plans in plan_sets.items()}


def product_rows(raw_dir: Path, settings: Settings
                 ) -> dict[tuple[str, str, date], ProductRow]:
    """fct_mrr_product's rows: movement, seats and the seat/price/plan split."""
    lines = recurring_lines(raw_dir, settings)
    customer_mrr = mrr_by_month(raw_dir, settings)
    product_mrr = {(tuple(key.split("|")), month): value for (key, month), value
                   in mrr_by_month(raw_dir, settings, by_product=True).items()}
    first_paying: dict[str, date] = {}
    for customer, month in sorted(customer_mrr, key=lambda key: key[1]):
        first_paying.setdefault(customer, month)
    seats, plan_sets = _seats_and_plan_sets(lines, settings)
    as_of_month = month_start(settings.as_of)
    keys = set(product_mrr) | {(pair, add_months(month, 1)) for pair, month in product_mrr
                               if add_months(month, 1) <= as_of_month}
    rows = {}
    for (customer, product), month in keys:
        previous_month = add_months(month, -1)
        mrr = product_mrr.get(((customer, product), month), ZERO)
        previous = product_mrr.get(((customer, product), previous_month), ZERO)
        change = mrr - previous
        if previous == 0:
            if customer_mrr.get((customer, previous_month), ZERO) > 0:
                movement = "cross_sell"
            elif first_paying[customer] < month:
                movement = "reactivation"
            else:
                movement = "new"
        elif mrr == 0:
            movement = "churn" if customer_mrr.get((customer, month), ZERO) == 0 \
                else "product_churn"
        elif change > 0 and change >= settings.threshold:
            movement = "upsell"
        elif change < 0 and change <= -settings.threshold:
            movement = "downgrade"
        else:
            movement = "unchanged"
        now_seats = seats.get((customer, product, month), 0)
        before_seats = seats.get((customer, product, previous_month), 0)
        split: tuple[Decimal | None, Decimal | None, Decimal | None] = (None, None, None)
        if movement in {"upsell", "downgrade"}:
            same_plans = (plan_sets.get((customer, product, month), frozenset())
                          == plan_sets.get((customer, product, previous_month), frozenset()))
            if not same_plans:
                split = (ZERO, ZERO, change)
            elif before_seats > 0 and now_seats > 0:
                by_seats = rounded(Fraction(now_seats - before_seats) * Fraction(previous)
                                   / before_seats, CENT)
                split = (by_seats, change - by_seats, ZERO)
            else:
                split = (ZERO, change, ZERO)
        rows[(customer, product, month)] = ProductRow(movement, mrr, previous, before_seats,
                                                      now_seats, *split)
    return rows


def churn_by_type_and_reason(rows: list[ChurnRow]
                             ) -> dict[tuple[date, str, str], tuple[int, Decimal]]:
    """metrics_churn_monthly: {(month, type, reason): (customers, churned_mrr)}."""
    found: dict[tuple[date, str, str], tuple[int, Decimal]] = {}
    for row in rows:
        key = (row.month, row.churn_type, row.churn_reason)
        customers, churned = found.get(key, (0, ZERO))
        found[key] = (customers + 1, churned + row.churned_mrr)
    return found


def change_reasons(rows: dict[tuple[str, str, date], ProductRow], months: list[date]
                   ) -> dict[tuple[date, str], Decimal]:
    """metrics_mrr_change_reasons_monthly: {(month, reason): mrr_change}, every month and
    reason."""
    found = {(month, reason): ZERO for month in months
             for reason in ("seats", "price", "plan", "cross_sell", "product_churn")}
    for (_, _, month), row in rows.items():
        if (month, "seats") not in found:
            continue
        for reason, value in (("seats", row.seat_change_mrr), ("price", row.price_change_mrr),
                              ("plan", row.plan_change_mrr)):
            found[(month, reason)] += value or ZERO
        if row.movement in {"cross_sell", "product_churn"}:
            found[(month, row.movement)] += row.mrr - row.previous_mrr
    return found
