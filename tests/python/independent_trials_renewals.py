"""Trials and renewals due computed a second way, straight from the raw files.

Plain Python over the CSV rows (metrics.md, Revenue depth: Trials and Renewals
due): exact fractions for money and durations, the standard library's median,
a loop over subscriptions and lines. It shares no SQL with the dbt models;
what it takes from tests/python/independent_revenue.py is that module's own
second implementation of the MRR rules (calendar months, half-away rounding,
when a line counts).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from tests.python.independent_revenue import (
    CENT,
    Line,
    Settings,
    counts_at,
    month_start,
    recurring_lines,
    rows_of,
    utc_timestamp,
)

SECONDS_PER_DAY = 86400


def as_of_end(as_of: date) -> datetime:
    """The start of the day after as_of: what happens at or after it has not happened."""
    return datetime.combine(as_of + timedelta(days=1), datetime.min.time())


@dataclass(frozen=True)
class KnownSubscription:
    """A subscription as known at as_of_end: its times at or after it are None."""
    customer_id: str
    trial_start: datetime | None
    trial_end: datetime | None
    started_at: datetime | None
    canceled_at: datetime | None
    ended_at: datetime | None


def existing_subscriptions(raw_dir: Path, as_of: date) -> dict[str, KnownSubscription]:
    """Subscriptions created before as_of_end, with every later time read as None."""
    end = as_of_end(as_of)

    def known(text: str) -> datetime | None:
        moment = utc_timestamp(text)
        return moment if moment is not None and moment < end else None

    subscriptions = {}
    for row in rows_of(raw_dir, "subscriptions"):
        created = utc_timestamp(row["created_at"])
        assert created is not None
        if created < end:
            subscriptions[row["subscription_id"]] = KnownSubscription(
                customer_id=row["customer_id"], trial_start=known(row["trial_start"]),
                trial_end=known(row["trial_end"]), started_at=known(row["started_at"]),
                canceled_at=known(row["canceled_at"]), ended_at=known(row["ended_at"]))
    return subscriptions


class TrialMonth(NamedTuple):
    trials: int
    converted: int
    not_converted: int
    in_trial: int
    trial_conversion_rate: float | None
    median_days_to_convert: float | None


def trials_monthly(raw_dir: Path, as_of: date) -> dict[date, TrialMonth]:
    """metrics_trials_monthly: per month of trial_start, the trials' outcomes."""
    outcomes: dict[date, list[str]] = defaultdict(list)
    days_to_convert: dict[date, list[Fraction]] = defaultdict(list)
    for subscription in existing_subscriptions(raw_dir, as_of).values():
        trial_start, started = subscription.trial_start, subscription.started_at
        if trial_start is None:
            continue
        month = month_start(trial_start.date())
        if started is not None:
            outcomes[month].append("converted")
            elapsed = started - trial_start
            days_to_convert[month].append(
                Fraction(elapsed.days * SECONDS_PER_DAY + elapsed.seconds, SECONDS_PER_DAY))
        elif subscription.trial_end is not None or subscription.ended_at is not None:
            outcomes[month].append("not_converted")
        else:
            outcomes[month].append("in_trial")
    result = {}
    for month, month_outcomes in outcomes.items():
        converted = month_outcomes.count("converted")
        not_converted = month_outcomes.count("not_converted")
        evaluable = converted + not_converted
        days = days_to_convert[month]
        result[month] = TrialMonth(
            trials=len(month_outcomes), converted=converted, not_converted=not_converted,
            in_trial=month_outcomes.count("in_trial"),
            trial_conversion_rate=converted / evaluable if evaluable else None,
            # The median of an even count is the mean of the middle two: percentile_cont(0.5).
            median_days_to_convert=float(statistics.median(days)) if days else None,
        )
    return result


@dataclass(frozen=True)
class SubscriptionLine:
    subscription_id: str
    interval_months: int
    line: Line


def subscription_lines(raw_dir: Path, settings: Settings) -> list[SubscriptionLine]:
    """Every `subscription` line (never usage, whatever include_usage says) of an invoice
    existing at as_of_end, with its monthly rate in the reporting currency."""
    return [SubscriptionLine(subscription_id=line.subscription_id or "",
                             interval_months=line.interval_months, line=line)
            for line in recurring_lines(raw_dir, replace(settings, include_usage=False))
            if line.line_type == "subscription"]


@dataclass(frozen=True)
class Renewal:
    subscription_id: str
    customer_id: str
    renewal_date: date
    interval_months: int
    renewal_mrr: Decimal
    cancel_requested: bool


def renewals_due(raw_dir: Path, settings: Settings) -> list[Renewal]:
    """rpt_renewals_due without health, in priority order (index 0 = rank 1)."""
    counting: dict[str, list[SubscriptionLine]] = defaultdict(list)
    for subscription_line in subscription_lines(raw_dir, settings):
        if counts_at(subscription_line.line, settings.as_of, settings):
            counting[subscription_line.subscription_id].append(subscription_line)
    subscriptions = existing_subscriptions(raw_dir, settings.as_of)
    horizon = settings.as_of + timedelta(days=90)
    renewals = []
    for subscription_id, lines in counting.items():
        subscription = subscriptions.get(subscription_id)
        if subscription is None or subscription.ended_at is not None:
            continue
        if not all(settings.as_of < item.line.period_end <= horizon for item in lines):
            continue
        renewal_mrr = sum((item.line.monthly_rate for item in lines), Decimal(0)).quantize(
            CENT, rounding=ROUND_HALF_UP)
        if renewal_mrr <= 0 or renewal_mrr < settings.threshold:
            continue
        renewals.append(Renewal(
            subscription_id=subscription_id, customer_id=subscription.customer_id,
            renewal_date=max(item.line.period_end for item in lines),
            interval_months=max(item.interval_months for item in lines),
            renewal_mrr=renewal_mrr,
            cancel_requested=subscription.canceled_at is not None))
    # Soonest first, then the most MRR, then the subscription id.
    return sorted(renewals, key=lambda r: (r.renewal_date, -r.renewal_mrr, r.subscription_id))
