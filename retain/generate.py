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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

Frame = dict[str, np.ndarray]

DAY = 86_400
MONTH = int(30.44 * DAY)
NONE = -1
NEVER = np.iinfo(np.int64).max // 4
PARQUET_FROM_CUSTOMERS = 20_000
BLOCK_CUSTOMERS = 4_000

# --- catalogue -------------------------------------------------------------------------
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")
PRICE_LEVEL = np.array([1.0, 0.92, 0.79, 1.36, 1.52])  # local list price per USD list price
USD_PER_UNIT = np.array([1.0, 1.08, 1.27, 0.74, 0.66])  # fx random walks start here
# (product_id, tier, USD list price per seat per month); core tiers come first, in order.
OFFERS = (
    ("core", "starter", 15),
    ("core", "pro", 35),
    ("core", "business", 65),
    ("analytics", "standard", 12),
    ("support_plus", "standard", 9),
)
CORE_TIERS = 3
FREE_OFFER = len(OFFERS)
# (name, billing_interval, billing_interval_count, list price in months of the monthly price)
INTERVALS = (("monthly", "month", 1, 1.0), ("quarterly", "month", 3, 2.85),
             ("annual", "year", 1, 10.0))
INTERVAL_MONTHS = np.array([1, 3, 12])
USAGE_BLOCK_USD_CENTS = 50  # metered overage: price of one block of 1,000 API calls
SETUP_FEE_USD = np.array([0, 500, 2500])  # by segment

COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL", "ES", "IT", "IE", "SE", "AU", "JP", "BR", "IN",
             "SG")
COUNTRY_P = np.array([.40, .05, .10, .09, .06, .04, .03, .02, .02, .02, .05, .03, .03, .04, .02])
COUNTRY_CURRENCY = np.array([0, 3, 2, 1, 1, 1, 1, 1, 1, 1, 4, 0, 0, 0, 0])
COUNTRY_TAX_BP = np.array([0, 500, 2000, 1900, 2000, 2100, 2100, 2200, 2300, 2500, 1000, 1000,
                           0, 0, 900])  # basis points on the net amount

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_P = np.array([.68, .24, .08])
SEAT_LOG_MEAN = np.array([1.1, 2.8, 4.2])
SEAT_LOG_SD = np.array([0.6, 0.5, 0.6])
ENGAGEMENT_SHIFT = np.array([-0.1, 0.1, 0.25])
INTERVAL_P = np.array([[.78, .07, .15], [.50, .15, .35], [.15, .10, .75]])
TIER_P = np.array([[.60, .35, .05], [.15, .60, .25], [.0, .30, .70]])
TRIAL_P = np.array([.70, .50, .20])
FREE_P = np.array([.10, .0, .0])
TERMS_DAYS = np.array([0, 14, 30])
DISCOUNT_P = np.array([.12, .30, .50])
SETUP_FEE_P = np.array([.0, .30, .60])
BASE_HAZARD = np.array([.030, .016, .008])  # monthly churn hazard of a typical customer
# Churn hazard multiplier by onboarding milestones reached (0..3): the planted signal.
ONBOARDING_HAZARD = np.array([2.6, 1.9, 1.2, 0.75])
CROSS_SELL_RATE = np.array([.010, .020, .025])  # per month, before engagement

CHANNELS = ("organic_search", "paid_search", "referral", "partner", "outbound_sales",
            "content", "event")
CHANNEL_P = np.array([[.32, .28, .15, .06, .02, .15, .02],
                      [.22, .18, .15, .12, .18, .10, .05],
                      [.08, .05, .12, .15, .45, .05, .10]])
NAME_FIRST = ("Acme", "Blue", "North", "Bright", "Silver", "Quantum", "Green", "Summit",
              "Pixel", "Harbor", "Atlas", "Nova", "Cedar", "Iron", "Lumen", "Vertex",
              "Orbit", "Maple", "Swift", "Crimson", "Polar", "Delta", "Echo", "Sierra")
NAME_SECOND = ("Labs", "Systems", "Analytics", "Works", "Logistics", "Health", "Media",
               "Foods", "Robotics", "Finance", "Studio", "Retail", "Energy", "Cloud",
               "Ventures", "Partners", "Dynamics", "Networks")
NAME_SUFFIX = ("", " Inc.", " Ltd", " GmbH", ", Inc.", " & Co", " LLC", " SAS")

SUB_STATUSES = ("trialing", "active", "past_due", "unpaid", "paused", "canceled")
TRIALING, ACTIVE, PAST_DUE, UNPAID, PAUSED, CANCELED = range(6)
CANCEL_REASONS = ("too_expensive", "missing_features", "switched_competitor",
                  "no_longer_needed", "low_usage", "business_closed", "payment_failed",
                  "trial_expired")
VOLUNTARY_REASON_P = np.array([.22, .18, .14, .14, .22, .10])
PAYMENT_FAILED, TRIAL_EXPIRED = 6, 7
PRIMARY, REACTIVATION, CROSS_SELL = range(3)

INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE = range(5)
REGULAR, TRIAL, PRORATION, DRAFT_KIND, VOID_KIND = range(5)
LINE_TYPES = ("subscription", "usage", "one_time", "credit")
SUBSCRIPTION_LINE, USAGE_LINE, ONE_TIME_LINE, CREDIT_LINE = range(4)

ROLES = ("owner", "admin", "member", "viewer")
EVENT_NAMES = ("login", "dashboard_viewed", "report_created", "report_shared",
               "export_downloaded", "comment_added", "invite_sent", "integration_connected",
               "search_performed", "setup_completed", "data_sync")
EVENT_P = np.array([.24, .28, .10, .05, .07, .10, .03, .01, .12])  # user events, by index
LOGIN, DASHBOARD, REPORT, INTEGRATION, SETUP, SYSTEM_SYNC = 0, 1, 2, 7, 9, 10
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_P = np.array([.30, .45, .18, .07])
FIRST_RESPONSE_MEDIAN_MIN = np.array([480.0, 180.0, 60.0, 20.0])
RESOLUTION_MEDIAN_H = np.array([60.0, 30.0, 12.0, 6.0])
TICKET_CHANNELS = ("email", "chat", "phone", "web")
TICKET_CHANNEL_P = np.array([.40, .30, .10, .20])
TICKET_CATEGORIES = ("billing", "bug", "how_to", "integration", "account", "feature_request")
TICKET_CATEGORY_P = np.array([.15, .25, .25, .15, .10, .10])
NPS_COMMENTS = (
    ("Too expensive for what we use", "Hard to set up, we never got it working",
     "Support was slow to answer", "Missing the integrations we need",
     "Reports are confusing, and exports break"),
    ("Does the job", "Good, but the UI could be faster", "Fine for our team",
     "Useful, though pricing is steep"),
    ("Love it, our whole team uses it daily", "Great support and great product",
     "The dashboards save us hours every week", "Best tool we bought this year"),
)

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(18, 8)
SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    "customers": [("customer_id", pa.string()), ("customer_name", pa.string()),
                  ("created_at", TS), ("country", pa.string()), ("segment", pa.string()),
                  ("acquisition_channel", pa.string())],
    "plans": [("plan_id", pa.string()), ("plan_name", pa.string()), ("product_id", pa.string()),
              ("billing_interval", pa.string()), ("billing_interval_count", pa.int64()),
              ("unit_amount", MONEY), ("currency", pa.string())],
    "subscriptions": [("subscription_id", pa.string()), ("customer_id", pa.string()),
                      ("plan_id", pa.string()), ("status", pa.string()),
                      ("quantity", pa.int64()), ("created_at", TS), ("trial_start", TS),
                      ("trial_end", TS), ("started_at", TS), ("canceled_at", TS),
                      ("ended_at", TS), ("cancel_reason", pa.string())],
    "invoices": [("invoice_id", pa.string()), ("customer_id", pa.string()),
                 ("subscription_id", pa.string()), ("status", pa.string()),
                 ("currency", pa.string()), ("issued_at", TS), ("due_at", TS),
                 ("paid_at", TS), ("subtotal", MONEY), ("discount_amount", MONEY),
                 ("tax_amount", MONEY), ("total", MONEY)],
    "invoice_line_items": [("line_item_id", pa.string()), ("invoice_id", pa.string()),
                           ("subscription_id", pa.string()), ("plan_id", pa.string()),
                           ("line_type", pa.string()), ("period_start", pa.date32()),
                           ("period_end", pa.date32()), ("quantity", pa.int64()),
                           ("amount", MONEY), ("discount_amount", MONEY),
                           ("tax_amount", MONEY), ("is_proration", pa.bool_())],
    "users": [("user_id", pa.string()), ("customer_id", pa.string()), ("created_at", TS),
              ("role", pa.string())],
    "usage_events": [("event_id", pa.string()), ("customer_id", pa.string()),
                     ("user_id", pa.string()), ("event_name", pa.string()),
                     ("occurred_at", TS)],
    "support_tickets": [("ticket_id", pa.string()), ("customer_id", pa.string()),
                        ("user_id", pa.string()), ("opened_at", TS),
                        ("first_response_at", TS), ("resolved_at", TS),
                        ("priority", pa.string()), ("channel", pa.string()),
                        ("category", pa.string()), ("csat_score", pa.int64())],
    "nps_responses": [("response_id", pa.string()), ("customer_id", pa.string()),
                      ("user_id", pa.string()), ("responded_at", TS), ("score", pa.int64()),
                      ("comment", pa.string())],
    "fx_rates": [("month", pa.date32()), ("currency", pa.string()), ("usd_per_unit", RATE)],
}
TABLES = tuple(SCHEMAS)


@dataclass(frozen=True)
class Clock:
    """The span in UTC seconds: [start, end_excl), end_excl = start of the day after end_date."""

    start: int
    end_excl: int

    @property
    def end_day(self) -> int:
        return self.end_excl // DAY - 1


# --- small vectorised helpers ------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _month_index(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of a day number (days since epoch)."""
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(
        np.int64)


def _month_first_day(month_index: np.ndarray) -> np.ndarray:
    return np.asarray(month_index, dtype=np.int64).astype("datetime64[M]").astype(
        "datetime64[D]").astype(np.int64)


def _shift_months(anchor_day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """anchor + months calendar months, clamped to the month's last day (Jan 31 -> Feb 29).

    Periods are always computed from the anchor, never from the previous period, so an
    anchor on the 31st returns to the 31st after a short month (Stripe's behaviour).
    """
    month = _month_index(anchor_day)
    dom = np.asarray(anchor_day, dtype=np.int64) - _month_first_day(month)
    target = month + np.asarray(months, dtype=np.int64)
    first = _month_first_day(target)
    days_in_month = _month_first_day(target + 1) - first
    return first + np.minimum(dom, days_in_month - 1)


def _period_index(anchor_day: np.ndarray, interval: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index k >= 0 of the period [anchor + k*interval, anchor + (k+1)*interval) holding day."""
    k = np.maximum((_month_index(day) - _month_index(anchor_day)) // interval, 0)
    return np.where(_shift_months(anchor_day, k * interval) > day, np.maximum(k - 1, 0), k)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each group of np.repeat(x, counts)."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def _group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each new value of the (sorted) group array."""
    total = np.cumsum(values)
    starts = np.r_[True, group[1:] != group[:-1]]
    before = (total - values)[starts]
    return total - before[np.cumsum(starts) - 1]


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    draws = (rng.random(len(probs))[:, None] > cum).sum(axis=1)
    return np.minimum(draws, probs.shape[1] - 1)


def _round_share(cents: np.ndarray, numerator: np.ndarray, denominator: int) -> np.ndarray:
    """cents x numerator / denominator rounded half up, in integers so totals are exact."""
    return (cents * numerator + denominator // 2) // denominator


def _take(frame: Frame, index: np.ndarray) -> Frame:
    return {key: values[index] for key, values in frame.items()}


def _concat(frames: list[Frame]) -> Frame:
    return {key: np.concatenate([frame[key] for frame in frames]) for key in frames[0]}


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent, reproducible stream per stage so stages can change independently."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=stream)))


# --- plans and customers -----------------------------------------------------------------
def _plan_index(offer: np.ndarray, interval: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Internal plan number: paid offers x intervals x currencies, then a free plan per currency."""
    paid = (offer * len(INTERVALS) + interval) * len(CURRENCIES) + currency
    free = len(OFFERS) * len(INTERVALS) * len(CURRENCIES) + currency
    return np.where(offer == FREE_OFFER, free, paid)


def _plans() -> Frame:
    """The price book; unit amounts are whole local prices near the converted USD list price."""
    rows: list[tuple[int, str, str, str, str, int, int, int]] = []
    for offer, (product, tier, usd) in enumerate(OFFERS):
        for interval, (iname, unit, count, months) in enumerate(INTERVALS):
            for currency, code in enumerate(CURRENCIES):
                cents = int(round(usd * months * PRICE_LEVEL[currency])) * 100
                index = int(_plan_index(np.array(offer), np.array(interval), np.array(currency)))
                rows.append((index, f"{product}_{tier}_{iname}_{code.lower()}",
                             f"{product.replace('_', ' ').title()} {tier.title()} "
                             f"({iname}, {code})",
                             product, unit, count, cents, currency))
    for currency, code in enumerate(CURRENCIES):
        index = int(_plan_index(np.array(FREE_OFFER), np.array(0), np.array(currency)))
        rows.append((index, f"core_free_monthly_{code.lower()}", f"Core Free ({code})", "core",
                     "month", 1, 0, currency))
    rows.sort()
    return {
        "plan_id": np.array([r[1] for r in rows], dtype=object),
        "plan_name": np.array([r[2] for r in rows], dtype=object),
        "product": np.array([r[3] for r in rows], dtype=object),
        "interval": np.array([r[4] for r in rows], dtype=object),
        "count": np.array([r[5] for r in rows], dtype=np.int64),
        "unit": np.array([r[6] for r in rows], dtype=np.int64),
        "currency": np.array([r[7] for r in rows], dtype=np.int64),
    }


def _customers(rng: np.random.Generator, n: int, clock: Clock) -> Frame:
    """Customers with growth over the span and the latent traits that drive everything else."""
    growth = 4.0  # signups per day grow 4x over the span
    span = clock.end_excl - 2 * DAY - clock.start
    u = np.sort(rng.random(n))
    created = clock.start + (span * np.log1p(u * (growth - 1)) / np.log(growth)).astype(np.int64)
    segment = rng.choice(3, n, p=SEGMENT_P)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_P)
    country_known = rng.random(n) >= 0.01
    engagement = rng.normal(0.0, 1.0, n) + ENGAGEMENT_SHIFT[segment]
    seats = np.maximum(1, np.rint(np.exp(rng.normal(SEAT_LOG_MEAN[segment],
                                                    SEAT_LOG_SD[segment])))).astype(np.int64)
    setup30 = rng.random(n) < _sigmoid(0.5 + 1.3 * engagement)
    logins30 = rng.poisson(np.exp(1.45 + 0.55 * engagement))
    integration45 = rng.random(n) < _sigmoid(-0.2 + 1.3 * engagement)
    milestones = setup30.astype(np.int64) + (logins30 >= 5) + integration45
    terms = TERMS_DAYS[segment]
    terms = np.where((segment == 1) & (rng.random(n) < 0.3), 0, terms)
    discount = np.where(rng.random(n) < DISCOUNT_P[segment],
                        rng.choice(np.array([10, 15, 20, 25, 30]), n), 0)
    names = (np.array(NAME_FIRST, dtype=object)[rng.integers(0, len(NAME_FIRST), n)] + " "
             + np.array(NAME_SECOND, dtype=object)[rng.integers(0, len(NAME_SECOND), n)]
             + np.array(NAME_SUFFIX, dtype=object)[rng.integers(0, len(NAME_SUFFIX), n)])
    return {
        "created": created, "segment": segment,
        "country": np.where(country_known, country, NONE),
        "currency": np.where(country_known, COUNTRY_CURRENCY[country], 0),
        "tax_bp": np.where(country_known, COUNTRY_TAX_BP[country], 0),
        "channel": _choice_rows(rng, CHANNEL_P[segment]),
        "name": names, "engagement": engagement, "seats": seats,
        "setup30": setup30, "logins30": logins30, "integration45": integration45,
        "milestones": milestones,
        "hazard": BASE_HAZARD[segment] * ONBOARDING_HAZARD[milestones] * np.exp(-0.25 * engagement),
        "terms": terms, "due_on_issue": (terms == 0) & (rng.random(n) < 0.5),
        "discount": discount, "metered": rng.random(n) < 0.15,
        "setup_fee": rng.random(n) < SETUP_FEE_P[segment],
        "late_payer": rng.random(n) < 0.15,
    }


# --- subscriptions -------------------------------------------------------------------------
def _cancel_after(rng: np.random.Generator, start: np.ndarray, hazard: np.ndarray) -> np.ndarray:
    """Time a cancellation is requested under a constant monthly hazard."""
    return start + (rng.exponential(1.0, len(start)) / hazard * MONTH).astype(np.int64)


def _primary_subscriptions(rng: np.random.Generator, cust: Frame, clock: Clock) -> Frame:
    """Every customer but a few leads signs up for core: free, on a trial, or directly paid."""
    n = len(cust["created"])
    c = np.flatnonzero(rng.random(n) >= 0.03)
    m = len(c)
    seg = cust["segment"][c]
    created = np.minimum(cust["created"][c] + rng.integers(600, 2 * DAY, m), clock.end_excl - DAY)
    free = rng.random(m) < FREE_P[seg]
    trial = ~free & (rng.random(m) < TRIAL_P[seg])
    trial_end = created + 14 * DAY
    decided = trial_end < clock.end_excl
    convert_p = _sigmoid(-0.7 + 0.75 * cust["milestones"][c] + 0.3 * cust["engagement"][c])
    converts = trial & decided & (rng.random(m) < convert_p)
    started = np.where(free | (trial & ~converts), NONE, np.where(trial, trial_end, created))
    paid_start = np.where(started >= 0, started, created)
    cancel = _cancel_after(rng, paid_start, cust["hazard"][c])
    # Customers who gave up during the trial cancelled it themselves before it ran out.
    trial_cancel = created + (rng.random(m) * 14 * DAY).astype(np.int64)
    lost_trial = trial & decided & ~converts
    cancel = np.where(lost_trial, np.where(rng.random(m) < 0.4, trial_cancel, trial_end), cancel)
    tier = _choice_rows(rng, TIER_P[seg])
    return {
        "cust": c, "kind": np.full(m, PRIMARY), "offer": np.where(free, FREE_OFFER, tier),
        "interval": np.where(free, 0, _choice_rows(rng, INTERVAL_P[seg])),
        "qty": np.where(free, np.minimum(cust["seats"][c], 3), cust["seats"][c]),
        "created": created, "trial_start": np.where(trial, created, NONE),
        "trial_end": np.where(trial, trial_end, NONE), "started": started, "cancel": cancel,
        "involuntary": (started >= 0) & (rng.random(m) < 0.18),
        "pause": np.full(m, NONE), "free": free, "lost_trial": lost_trial,
    }


def _pick_pauses(rng: np.random.Generator, subs: Frame, clock: Clock) -> None:
    """A few long-standing paid subscriptions pause collection for their last months."""
    at = clock.end_excl - rng.integers(10, 150, len(subs["qty"])) * DAY
    pause = ((subs["started"] >= 0) & (subs["cancel"] >= clock.end_excl)
             & (rng.random(len(at)) < 0.02) & (at > subs["started"] + 35 * DAY))
    subs["pause"] = np.where(pause, at, NONE)


def _schedule(rng: np.random.Generator, subs: Frame, cust: Frame, clock: Clock) -> None:
    """Derive periods billed, cancellation, end and status at end_date for each subscription.

    Voluntary cancellation takes effect at the end of the period in which it was asked;
    a failed payment leads to dunning, then cancellation 45 days after the due date.
    """
    m = len(subs["qty"])
    paid = subs["started"] >= 0
    anchor = np.where(paid, subs["started"], subs["created"]) // DAY
    tod = np.where(paid, subs["started"], subs["created"]) % DAY
    interval = INTERVAL_MONTHS[subs["interval"]]
    cancel = subs["cancel"]
    asked = cancel < clock.end_excl
    k_end = _period_index(anchor, interval, np.full(m, clock.end_day))
    horizon = np.minimum(cancel, clock.end_excl + 400 * DAY)  # later requests do not matter
    k_cancel = _period_index(anchor, interval, np.maximum((horizon - tod) // DAY, anchor))
    next_start = _shift_months(anchor, (k_cancel + 1) * interval) * DAY + tod
    periods = np.where(paid, k_end + 1, 0)
    canceled = np.full(m, NONE)
    ended = np.full(m, NONE)
    status = np.where(paid, ACTIVE, np.where(subs["free"], ACTIVE, TRIALING))
    reason = np.where(asked, rng.choice(len(VOLUNTARY_REASON_P), m, p=VOLUNTARY_REASON_P), NONE)

    voluntary = paid & asked & ~subs["involuntary"]
    periods = np.where(voluntary, np.minimum(periods, k_cancel + 1), periods)
    canceled = np.where(voluntary, cancel, canceled)
    ended = np.where(voluntary & (next_start < clock.end_excl), next_start, ended)

    failing = paid & asked & subs["involuntary"] & (next_start < clock.end_excl)
    due = next_start + cust["terms"][subs["cust"]] * DAY
    dunning_end = due + 45 * DAY
    periods = np.where(failing, k_cancel + 2, periods)
    gone = failing & (dunning_end < clock.end_excl)
    canceled = np.where(gone, dunning_end, canceled)
    ended = np.where(gone, dunning_end, ended)
    days_past_due = (clock.end_excl - due) / DAY
    dunning = failing & ~gone & (days_past_due > 0)
    status = np.where(dunning, np.where(days_past_due > 30, UNPAID, PAST_DUE), status)
    reason = np.where(failing, PAYMENT_FAILED, np.where(paid & asked & ~voluntary, NONE, reason))

    paused = subs["pause"] >= 0
    k_pause = _period_index(anchor, interval, np.maximum((subs["pause"] - tod) // DAY, anchor))
    periods = np.where(paused, np.minimum(periods, k_pause + 1), periods)
    status = np.where(paused, PAUSED, status)

    free_gone = subs["free"] & asked
    canceled = np.where(free_gone, cancel, canceled)
    ended = np.where(free_gone, cancel, ended)
    lost = subs["lost_trial"]
    canceled = np.where(lost, cancel, canceled)
    ended = np.where(lost, subs["trial_end"], ended)
    reason = np.where(lost, TRIAL_EXPIRED, reason)
    status = np.where(ended >= 0, CANCELED, status)
    subs.update(anchor=anchor, tod=tod, periods=periods, canceled=canceled, ended=ended,
                status=status, reason=np.where(canceled >= 0, reason, NONE),
                failing=failing, dunning_end=dunning_end)


def _reactivations(rng: np.random.Generator, subs: Frame, cust: Frame, clock: Clock) -> Frame:
    """Some customers who left on their own come back months later on a new subscription."""
    c = subs["cust"]
    gone = (subs["ended"] >= 0) & (subs["started"] >= 0) & (subs["reason"] != PAYMENT_FAILED)
    p = np.clip(0.12 * np.exp(0.4 * cust["engagement"][c]), 0, 0.35)
    created = subs["ended"] + rng.integers(45, 300, len(c)) * DAY + rng.integers(0, DAY, len(c))
    back = np.flatnonzero(gone & (rng.random(len(c)) < p) & (created < clock.end_excl - DAY))
    m = len(back)
    c = c[back]
    created = created[back]
    return {
        "cust": c, "kind": np.full(m, REACTIVATION), "offer": subs["offer"][back],
        "interval": np.where(rng.random(m) < 0.7, 0, subs["interval"][back]),
        "qty": np.maximum(1, np.rint(subs["qty"][back] * rng.uniform(0.6, 1.1, m))).astype(
            np.int64),
        "created": created, "trial_start": np.full(m, NONE), "trial_end": np.full(m, NONE),
        "started": created, "cancel": _cancel_after(rng, created, cust["hazard"][c] * 1.3),
        "involuntary": rng.random(m) < 0.18, "pause": np.full(m, NONE),
        "free": np.zeros(m, bool), "lost_trial": np.zeros(m, bool),
    }


def _cross_sells(rng: np.random.Generator, subs: Frame, cust: Frame, clock: Clock) -> Frame:
    """Engaged customers add a second product; it ends when they leave, or earlier on its own."""
    c = subs["cust"]
    paid = subs["started"] >= 0
    eng = cust["engagement"][c]
    rate = CROSS_SELL_RATE[cust["segment"][c]] * np.exp(0.8 * eng)
    at = subs["started"] + 20 * DAY + (rng.exponential(1.0, len(c)) / rate * MONTH).astype(np.int64)
    until = np.minimum(subs["cancel"], clock.end_excl - DAY)
    until = np.where(subs["pause"] >= 0, np.minimum(until, subs["pause"]), until)
    chosen = np.flatnonzero(paid & (at < until))
    m = len(chosen)
    c = c[chosen]
    at = at[chosen]
    own_cancel = _cancel_after(rng, at, cust["hazard"][c] * 0.8)
    return {
        "cust": c, "kind": np.full(m, CROSS_SELL),
        "offer": np.where(rng.random(m) < 0.7, 3, 4), "interval": subs["interval"][chosen],
        "qty": np.maximum(1, np.rint(subs["qty"][chosen] * rng.uniform(0.3, 1.0, m))).astype(
            np.int64),
        "created": at, "trial_start": np.full(m, NONE), "trial_end": np.full(m, NONE),
        "started": at, "cancel": np.minimum(own_cancel, until[chosen]),
        "involuntary": np.zeros(m, bool), "pause": np.full(m, NONE),
        "free": np.zeros(m, bool), "lost_trial": np.zeros(m, bool),
    }


def _subscriptions(seed: int, cust: Frame, clock: Clock) -> Frame:
    """All subscriptions, sorted by customer and signup time (the order of their ids)."""
    rng = _rng(seed, 2)
    primary = _primary_subscriptions(rng, cust, clock)
    _pick_pauses(rng, primary, clock)
    _schedule(rng, primary, cust, clock)
    back = _reactivations(rng, primary, cust, clock)
    _schedule(rng, back, cust, clock)
    core = _concat([primary, back])
    extra = _cross_sells(rng, core, cust, clock)
    _schedule(rng, extra, cust, clock)
    subs = _concat([core, extra])
    return _take(subs, np.lexsort((subs["created"], subs["cust"])))


def _changes(rng: np.random.Generator, subs: Frame, cust: Frame, clock: Clock) -> Frame:
    """Seat changes and tier upgrades while a paid subscription runs, sorted by (sub, time).

    Engaged customers expand, disengaged ones shrink. Each change carries the plan and seats
    before and after, and the billing period it falls in (for the proration lines).
    """
    paid = subs["started"] >= 0
    interval = INTERVAL_MONTHS[subs["interval"]]
    billed_until = _shift_months(subs["anchor"], subs["periods"] * interval) * DAY + subs["tod"]
    until = np.minimum(np.minimum(subs["cancel"], clock.end_excl), billed_until)
    until = np.where(subs["pause"] >= 0, np.minimum(until, subs["pause"]), until)
    since = subs["started"] + 7 * DAY
    months = np.where(paid, np.maximum(until - since, 0) / MONTH, 0.0)
    eng = cust["engagement"][subs["cust"]]
    up_rate = 0.035 * np.exp(0.6 * eng) * np.where(subs["kind"] == CROSS_SELL, 0.5, 1.0)
    down_rate = 0.015 * np.exp(-0.3 * eng)
    count = rng.poisson((up_rate + down_rate) * months)
    sub = np.repeat(np.arange(len(count)), count)
    at = since[sub] + (rng.random(len(sub)) * (until[sub] - since[sub])).astype(np.int64)
    up = rng.random(len(sub)) < (up_rate / (up_rate + down_rate))[sub]
    # A change must fall strictly inside a period's dates: move the rare ones on a boundary day.
    anchor, tod, iv = subs["anchor"][sub], subs["tod"][sub], interval[sub]
    k = _period_index(anchor, iv, (at - tod) // DAY)
    period_end = _shift_months(anchor, (k + 1) * iv)
    at = np.where(at // DAY >= period_end, at - DAY, at)
    order = np.lexsort((at, sub))
    sub, at, up, k, period_end = sub[order], at[order], up[order], k[order], period_end[order]
    factor = np.where(up, rng.uniform(1.15, 1.6, len(sub)), rng.uniform(0.6, 0.9, len(sub)))
    qty0 = subs["qty"][sub]
    qty_after = np.maximum(1, np.rint(qty0 * np.exp(_group_cumsum(np.log(factor), sub)))).astype(
        np.int64)
    core_paid = subs["offer"][sub] < CORE_TIERS
    tier_up = (up & core_paid & (rng.random(len(sub)) < 0.2)).astype(np.int64)
    offer_after = np.where(core_paid, np.minimum(subs["offer"][sub] + _group_cumsum(tier_up, sub),
                                                 CORE_TIERS - 1), subs["offer"][sub])
    first = np.r_[True, sub[1:] != sub[:-1]]
    qty_before = np.where(first, qty0, np.r_[0, qty_after[:-1]])
    offer_before = np.where(first, subs["offer"][sub], np.r_[0, offer_after[:-1]])
    real = (qty_before != qty_after) | (offer_before != offer_after)
    changes = {"sub": sub, "at": at, "k": k, "period_end": period_end,
               "qty_before": qty_before, "qty_after": qty_after,
               "offer_before": offer_before, "offer_after": offer_after}
    return _take(changes, real)


def _state_at(subs: Frame, changes: Frame, sub: np.ndarray, at: np.ndarray,
              clock: Clock) -> tuple[np.ndarray, np.ndarray]:
    """(offer, seats) of subscriptions sub at times at: the last change before, else initial."""
    if len(changes["sub"]) == 0:
        return subs["offer"][sub], subs["qty"][sub]
    offset = clock.start - 400 * DAY
    change_key = (changes["sub"] << 32) | (changes["at"] - offset)
    i = np.searchsorted(change_key, (sub << 32) | (at - offset), side="left") - 1
    safe = np.maximum(i, 0)
    hit = (i >= 0) & (changes["sub"][safe] == sub)
    return (np.where(hit, changes["offer_after"][safe], subs["offer"][sub]),
            np.where(hit, changes["qty_after"][safe], subs["qty"][sub]))


# --- invoices --------------------------------------------------------------------------------
def _lines(inv: np.ndarray, sub: np.ndarray, plan: np.ndarray, line_type: int,
           start: np.ndarray, end: np.ndarray, qty: np.ndarray, amount: np.ndarray,
           proration: bool, discountable: bool) -> Frame:
    n = len(inv)
    return {"inv": inv, "sub": sub, "plan": plan, "type": np.full(n, line_type),
            "start": start, "end": end, "qty": qty, "amount": amount.astype(np.int64),
            "proration": np.full(n, proration), "discountable": np.full(n, discountable)}


def _invoices(seed: int, subs: Frame, cust: Frame, plans: Frame,
              clock: Clock) -> tuple[Frame, Frame, Frame]:
    """Invoices and their lines for every billed period, trial, plan change and renewal draft.

    Returns (invoices, lines, current) where current holds each subscription's plan and seats
    at end_date. Money is integer cents throughout so totals add up to the cent.
    """
    rng = _rng(seed, 3)
    changes = _changes(rng, subs, cust, clock)
    c_of = subs["cust"]
    currency = cust["currency"][c_of]
    interval = INTERVAL_MONTHS[subs["interval"]]
    unit = plans["unit"]

    def plan_of(s: np.ndarray, offer: np.ndarray) -> np.ndarray:
        return _plan_index(offer, subs["interval"][s], currency[s])

    # Regular renewals: one invoice per billed period, issued at the period start.
    s = np.repeat(np.arange(len(c_of)), subs["periods"])
    k = _ranks(subs["periods"])
    start = _shift_months(subs["anchor"][s], k * interval[s])
    end = _shift_months(subs["anchor"][s], (k + 1) * interval[s])
    issued = start * DAY + subs["tod"][s]
    offer, qty = _state_at(subs, changes, s, issued, clock)
    plan = plan_of(s, offer)
    r = len(s)
    regular = np.arange(r)
    pieces = [_lines(regular, s, plan, SUBSCRIPTION_LINE, start, end, qty, unit[plan] * qty,
                     False, True)]
    metered = cust["metered"][c_of[s]] & (interval[s] == 1) & (k >= 1)
    blocks = rng.poisson(np.exp(2.0 + 0.5 * cust["engagement"][c_of[s]]))
    use = metered & (blocks > 0)
    block_price = np.rint(USAGE_BLOCK_USD_CENTS * PRICE_LEVEL[currency[s]]).astype(np.int64)
    previous = _shift_months(subs["anchor"][s], (k - 1) * interval[s])
    pieces.append(_lines(regular[use], s[use], np.full(use.sum(), NONE), USAGE_LINE,
                         previous[use], start[use], blocks[use],
                         blocks[use] * block_price[use], False, True))
    fee = (k == 0) & cust["setup_fee"][c_of[s]] & (subs["kind"][s] == PRIMARY)
    fee_cents = (SETUP_FEE_USD[cust["segment"][c_of[s]]] * PRICE_LEVEL[currency[s]]).round() * 100
    pieces.append(_lines(regular[fee], s[fee], np.full(fee.sum(), NONE), ONE_TIME_LINE,
                         np.full(fee.sum(), NONE), np.full(fee.sum(), NONE),
                         np.ones(fee.sum(), np.int64), fee_cents[fee], False, False))
    credit = (k >= 1) & (rng.random(r) < 0.004)
    credit_cents = -np.maximum(100, np.rint(unit[plan] * qty * 0.1))
    pieces.append(_lines(regular[credit], s[credit], np.full(credit.sum(), NONE), CREDIT_LINE,
                         np.full(credit.sum(), NONE), np.full(credit.sum(), NONE),
                         np.ones(credit.sum(), np.int64), credit_cents[credit], False, False))
    fail = subs["failing"][s] & (k == subs["periods"][s] - 1)
    invoices = [{"sub": s, "kind": np.full(r, REGULAR), "issued": issued, "fail": fail}]
    offset = r

    # Trials: half of them open with a zero-amount invoice for the trial period.
    t = np.flatnonzero((subs["trial_start"] >= 0) & (rng.random(len(c_of)) < 0.5))
    t_plan = plan_of(t, subs["offer"][t])
    pieces.append(_lines(offset + np.arange(len(t)), t, t_plan, SUBSCRIPTION_LINE,
                         subs["trial_start"][t] // DAY, subs["trial_end"][t] // DAY,
                         subs["qty"][t], np.zeros(len(t)), False, True))
    invoices.append({"sub": t, "kind": np.full(len(t), TRIAL), "issued": subs["trial_start"][t],
                     "fail": np.zeros(len(t), bool)})
    offset += len(t)

    # Plan changes: credit the unused rest of the old plan, charge the new one for it.
    cs = changes["sub"]
    day = changes["at"] // DAY
    p_end = changes["period_end"]
    p_start = _shift_months(subs["anchor"][cs], changes["k"] * interval[cs])
    rest = (p_end - day) / (p_end - p_start)
    old_plan = plan_of(cs, changes["offer_before"])
    new_plan = plan_of(cs, changes["offer_after"])
    pct = cust["discount"][c_of[cs]]
    # The credit gives back what was paid for the rest, i.e. net of the customer's discount.
    old_net = np.rint(unit[old_plan] * changes["qty_before"] * rest * (100 - pct) / 100)
    charge = np.rint(unit[new_plan] * changes["qty_after"] * rest)
    inv = offset + np.arange(len(cs))
    pieces.append(_lines(inv, cs, old_plan, SUBSCRIPTION_LINE, day, p_end,
                         changes["qty_before"], -old_net, True, False))
    pieces.append(_lines(inv, cs, new_plan, SUBSCRIPTION_LINE, day, p_end,
                         changes["qty_after"], charge, True, True))
    invoices.append({"sub": cs, "kind": np.full(len(cs), PRORATION), "issued": changes["at"],
                     "fail": np.zeros(len(cs), bool)})
    offset += len(cs)

    # Drafts: the renewal due within two days, prepared but not yet finalised.
    current_offer, current_qty = _state_at(subs, changes, np.arange(len(c_of)),
                                           np.full(len(c_of), clock.end_excl), clock)
    next_start = _shift_months(subs["anchor"], subs["periods"] * interval)
    d = np.flatnonzero((subs["started"] >= 0) & (subs["canceled"] < 0) & (subs["pause"] < 0)
                       & ~subs["failing"]
                       & np.isin(subs["status"], (ACTIVE, PAST_DUE))
                       & (next_start <= clock.end_day + 2))
    d_plan = plan_of(d, current_offer[d])
    pieces.append(_lines(offset + np.arange(len(d)), d, d_plan, SUBSCRIPTION_LINE,
                         next_start[d], _shift_months(subs["anchor"][d],
                                                      (subs["periods"][d] + 1) * interval[d]),
                         current_qty[d], unit[d_plan] * current_qty[d], False, True))
    invoices.append({"sub": d, "kind": np.full(len(d), DRAFT_KIND),
                     "issued": clock.end_day * DAY + rng.integers(0, DAY, len(d)),
                     "fail": np.zeros(len(d), bool)})
    offset += len(d)

    # Void: a rare renewal first went out with a wrong seat count and was replaced.
    v = np.flatnonzero(~fail & (rng.random(r) < 0.004))
    pieces.append(_lines(offset + np.arange(len(v)), s[v], plan[v], SUBSCRIPTION_LINE, start[v],
                         end[v], qty[v] + 1, unit[plan[v]] * (qty[v] + 1), False, True))
    invoices.append({"sub": s[v], "kind": np.full(len(v), VOID_KIND), "issued": issued[v],
                     "fail": np.zeros(len(v), bool)})

    lines = _concat(pieces)
    head = _concat(invoices)
    _price_lines(lines, cust["discount"][c_of[head["sub"][lines["inv"]]]],
                 cust["tax_bp"][c_of[head["sub"][lines["inv"]]]])
    _settle(rng, head, lines, subs, cust, clock)
    return head, lines, {"offer": current_offer, "qty": current_qty}


def _price_lines(lines: Frame, discount_pct: np.ndarray, tax_bp: np.ndarray) -> None:
    """Discount (customer %) and tax (country rate on the net), per line, rounded to cents."""
    amount = lines["amount"]
    positive = amount > 0
    discount = np.where(lines["discountable"] & positive, _round_share(amount, discount_pct, 100),
                        0)
    net = amount - discount
    lines["discount"] = discount
    lines["tax"] = np.where(net > 0, _round_share(net, tax_bp, 10_000), 0)


def _settle(rng: np.random.Generator, head: Frame, lines: Frame, subs: Frame, cust: Frame,
            clock: Clock) -> None:
    """Totals, due dates, payments and statuses; paid_at is set exactly when status is paid."""
    n = len(head["sub"])

    def total_of(values: np.ndarray) -> np.ndarray:
        return np.rint(np.bincount(lines["inv"], weights=values, minlength=n)).astype(np.int64)

    head["subtotal"] = total_of(lines["amount"])
    head["discount"] = total_of(lines["discount"])
    head["tax"] = total_of(lines["tax"])
    head["total"] = head["subtotal"] - head["discount"] + head["tax"]
    c = subs["cust"][head["sub"]]
    kind, issued = head["kind"], head["issued"]
    terms = cust["terms"][c]
    due = issued + terms * DAY
    u = rng.random(n)
    late = cust["late_payer"][c] & (u < 0.35)
    very_late = late & (u < 0.05)
    # Without payment terms the card on file is charged when the invoice is finalised.
    on_time = issued + (rng.uniform(0.1, 0.95, n) * terms * DAY).astype(np.int64)
    paid = np.where(very_late, due + rng.integers(31, 75, n) * DAY,
                    np.where(late, due + rng.integers(1, 25, n) * DAY, on_time))
    instant = (kind == TRIAL) | (head["total"] <= 0)
    paid = np.where(instant, issued, paid)
    settled = paid < clock.end_excl
    status = np.where(settled, PAID, OPEN)
    dunning_over = subs["dunning_end"][head["sub"]] < clock.end_excl
    status = np.where(head["fail"], np.where(dunning_over, UNCOLLECTIBLE, OPEN), status)
    status = np.where(kind == DRAFT_KIND, DRAFT, np.where(kind == VOID_KIND, VOID, status))
    head["status"] = status
    head["paid"] = np.where(status == PAID, paid, NONE)
    head["due"] = np.where(cust["due_on_issue"][c] | (kind == DRAFT_KIND), NONE, due)
    head["cust"] = c
    _flag_overdue(head, subs, clock)


def _flag_overdue(head: Frame, subs: Frame, clock: Clock) -> None:
    """An active subscription whose last renewal is unpaid after its due date is past_due/unpaid."""
    regular = np.flatnonzero(head["kind"] == REGULAR)
    order = regular[np.lexsort((head["issued"][regular], head["sub"][regular]))]
    last = order[np.r_[head["sub"][order][1:] != head["sub"][order][:-1], True]]
    due = np.where(head["due"][last] >= 0, head["due"][last], head["issued"][last])
    overdue_days = (clock.end_excl - due) / DAY
    late = (head["status"][last] == OPEN) & (overdue_days > 1)
    s = head["sub"][last][late & (subs["status"][head["sub"][last]] == ACTIVE)]
    days = overdue_days[late & (subs["status"][head["sub"][last]] == ACTIVE)]
    subs["status"][s] = np.where(days > 30, UNPAID, PAST_DUE)


# --- users and activity ------------------------------------------------------------------------
def _spans(subs: Frame, clock: Clock) -> Frame:
    """Periods a customer uses the product: each core subscription from signup to its end.

    fade_from is when activity starts to fade for good: the cancellation request, or the
    failed payment that ends in dunning.
    """
    core = np.flatnonzero(subs["kind"] != CROSS_SELL)
    end = np.where(subs["ended"] >= 0, subs["ended"], clock.end_excl)[core]
    fade = np.where(subs["canceled"] >= 0, subs["canceled"],
                    np.where(subs["failing"], subs["cancel"], NEVER))[core]
    return {"cust": subs["cust"][core], "start": subs["created"][core],
            "end": np.minimum(end, clock.end_excl), "fade": fade,
            "kind": subs["kind"][core]}


def _users(seed: int, cust: Frame, spans: Frame, clock: Clock) -> Frame:
    """Users roughly in line with seats: the owner at signup, teammates invited over months."""
    rng = _rng(seed, 4)
    n = len(cust["created"])
    onboard = np.full(n, NEVER)
    np.minimum.at(onboard, spans["cust"], spans["start"])
    last_end = cust["created"] + DAY
    np.maximum.at(last_end, spans["cust"], spans["end"])
    has_sub = onboard < NEVER
    size = np.maximum(1, np.rint(cust["seats"] * rng.uniform(0.45, 0.95, n)
                                 * np.exp(0.15 * cust["engagement"])))
    size = np.where(has_sub, np.minimum(size, 600), 1).astype(np.int64)
    c = np.repeat(np.arange(n), size)
    rank = _ranks(size)
    owner_at = cust["created"] + rng.integers(0, 300, n)
    later = np.minimum(onboard, NEVER // 2)[c] + rng.exponential(25 * DAY, len(c)).astype(np.int64)
    upper = np.maximum(np.minimum(last_end, clock.end_excl)[c] - 60, owner_at[c] + 1)
    created = np.where(rank == 0, owner_at[c], np.clip(later, owner_at[c] + 1, upper))
    role = np.where(rank == 0, 0, 1 + _choice_rows(rng, np.tile([.12, .78, .10], (len(c), 1))))
    order = np.lexsort((created, c))
    users = {"cust": c[order], "created": created[order], "role": role[order]}
    users["first"] = np.searchsorted(users["cust"], np.arange(n))
    return users


def _month_rows(spans: Frame, clock: Clock) -> Frame:
    """Split each span into calendar-month windows [start, end)."""
    m0 = _month_index(spans["start"] // DAY)
    m1 = _month_index((spans["end"] - 1) // DAY)
    count = np.maximum(m1 - m0 + 1, 0)
    i = np.repeat(np.arange(len(m0)), count)
    month = m0[i] + _ranks(count)
    start = np.maximum(spans["start"][i], _month_first_day(month) * DAY)
    end = np.minimum(spans["end"][i], _month_first_day(month + 1) * DAY)
    keep = end > start
    rows = {"cust": spans["cust"][i], "start": start, "end": end, "fade": spans["fade"][i]}
    return _take(rows, keep)


def _fade(rows: Frame) -> np.ndarray:
    """Activity multiplier: falls over the 4 months before a cancellation, low afterwards."""
    mid = (rows["start"] + rows["end"]) // 2
    months_left = (rows["fade"] - mid) / MONTH
    return np.where(months_left <= 0, 0.2, np.clip(0.3 + 0.7 * months_left / 4, 0.3, 1.0))


def _available_users(users: Frame, cust: np.ndarray, at: np.ndarray, clock: Clock) -> np.ndarray:
    """How many of each customer's users exist at time at (users are sorted by time)."""
    offset = clock.start - 400 * DAY
    user_key = (users["cust"] << 32) | (users["created"] - offset)
    found = np.searchsorted(user_key, (cust << 32) | (at - offset), side="right")
    return np.maximum(found - users["first"][cust], 1)


@dataclass(frozen=True)
class Onboarding:
    """Per customer: onboarding start and the planted milestone times (NEVER if none)."""

    start: np.ndarray
    first_end: np.ndarray
    setup: np.ndarray
    integration: np.ndarray


def _onboarding(rng: np.random.Generator, cust: Frame, spans: Frame) -> Onboarding:
    """Plant setup and integration times from the customer's onboarding traits.

    Customers who miss a milestone reach it late (or never); events after their first
    subscription ended are dropped later, so trials that lapse lose what they never reached.
    """
    n = len(cust["created"])
    first = spans["kind"] == PRIMARY
    start = np.full(n, NEVER)
    first_end = np.full(n, NONE)
    start[spans["cust"][first]] = spans["start"][first]
    first_end[spans["cust"][first]] = spans["end"][first]
    setup = np.where(cust["setup30"], rng.uniform(0.02, 29.5, n),
                     np.where(rng.random(n) < 0.5, rng.uniform(31, 120, n), np.inf))
    integration = np.where(cust["integration45"], rng.uniform(1, 44.5, n),
                           np.where(rng.random(n) < 0.4, rng.uniform(46, 150, n), np.inf))

    def at(days: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(days) & (start < NEVER),
                        start + (np.nan_to_num(days, posinf=0) * DAY).astype(np.int64), NEVER)

    return Onboarding(start, first_end, at(setup), at(integration))


def _planted_events(rng: np.random.Generator, cust: Frame, users: Frame, onb: Onboarding,
                    block: np.ndarray) -> Frame:
    """The owner's setup, early logins and first integration for the customers in block."""
    has = onb.start[block] < NEVER
    b = block[has]
    logins = cust["logins30"][b]
    lc = np.repeat(b, logins)
    login_at = onb.start[lc] + rng.integers(600, 30 * DAY, len(lc))
    c = np.concatenate([b, b, lc])
    at = np.concatenate([onb.setup[b], onb.integration[b], login_at])
    name = np.concatenate([np.full(len(b), SETUP), np.full(len(b), INTEGRATION),
                           np.full(len(lc), LOGIN)])
    keep = at < onb.first_end[c]
    c = c[keep]
    return {"cust": c, "user": users["first"][c], "name": name[keep], "at": at[keep]}


def _usage(rng: np.random.Generator, cust: Frame, users: Frame, rows: Frame, fade: np.ndarray,
           avail: np.ndarray) -> Frame:
    """Everyday usage: some users active on some days, a short session of events each day."""
    eng = cust["engagement"][rows["cust"]]
    length = rows["end"] - rows["start"]
    share = length / MONTH
    active = rng.binomial(avail, np.clip(0.3 * np.exp(0.4 * eng) * fade, 0.02, 0.9))
    slot = np.repeat(np.arange(len(active)), active)
    user = users["first"][rows["cust"][slot]] + (rng.random(len(slot)) * avail[slot]).astype(
        np.int64)
    days = 1 + rng.poisson((2.5 * np.exp(0.35 * eng) * fade * share)[slot])
    day_row = np.repeat(slot, days)
    day_user = np.repeat(user, days)
    day_at = rows["start"][day_row] + (rng.random(len(day_row)) * length[day_row]).astype(np.int64)
    per_day = 1 + rng.poisson(1.2, len(day_row))
    e_row = np.repeat(day_row, per_day)
    gap = rng.exponential(420.0, len(e_row)).astype(np.int64)
    at = np.repeat(day_at, per_day) + _group_cumsum(gap, np.repeat(np.arange(len(day_row)),
                                                                  per_day)) - gap
    at = np.minimum(at, rows["end"][e_row] - 1)
    name = rng.choice(len(EVENT_P), len(e_row), p=EVENT_P / EVENT_P.sum())
    system = np.repeat(np.arange(len(share)), rng.poisson(0.8 * share))
    sys_at = rows["start"][system] + (rng.random(len(system)) * length[system]).astype(np.int64)
    return {"cust": np.concatenate([rows["cust"][e_row], rows["cust"][system]]),
            "user": np.concatenate([np.repeat(day_user, per_day), np.full(len(system), NONE)]),
            "name": np.concatenate([name, np.full(len(system), SYSTEM_SYNC)]),
            "at": np.concatenate([at, sys_at])}


def _keep_planted_exact(events: Frame, onb: Onboarding) -> None:
    """Everyday events must not blur the planted milestones: in the first 30 days only planted
    logins count, setup only comes once, and no integration precedes the planted first one."""
    c = events["cust"]
    early_login = (events["name"] == LOGIN) & (events["at"] < onb.start[c] + 30 * DAY)
    early_integration = (events["name"] == INTEGRATION) & (events["at"] <= onb.integration[c])
    events["name"] = np.where(early_login, DASHBOARD, np.where(early_integration, REPORT,
                                                               events["name"]))


def _tickets(rng: np.random.Generator, cust: Frame, users: Frame, rows: Frame, fade: np.ndarray,
             avail: np.ndarray, clock: Clock) -> Frame:
    """Support tickets: more from bigger, poorly onboarded and about-to-churn customers."""
    c_row = rows["cust"]
    length = rows["end"] - rows["start"]
    poor = cust["milestones"][c_row] <= 1
    rate = 0.10 * (1 + 0.35 * np.log1p(avail)) * np.where(poor, 1.7, 1.0) * np.where(
        fade < 0.8, 1.6, 1.0)
    row = np.repeat(np.arange(len(c_row)), rng.poisson(rate * length / MONTH))
    n = len(row)
    c = c_row[row]
    opened = rows["start"][row] + (rng.random(n) * length[row]).astype(np.int64)
    user = np.where(rng.random(n) < 0.85, users["first"][c]
                    + (rng.random(n) * avail[row]).astype(np.int64), NONE)
    priority = rng.choice(len(PRIORITY_P), n, p=PRIORITY_P)
    response = opened + (FIRST_RESPONSE_MEDIAN_MIN[priority] * 60
                         * rng.lognormal(0.0, 1.0, n)).astype(np.int64)
    resolved = response + (RESOLUTION_MEDIAN_H[priority] * 3600
                           * rng.lognormal(0.0, 1.1, n)).astype(np.int64)
    response = np.where(rng.random(n) < 0.03, NONE, response)  # closed without a reply
    resolved = np.where(rng.random(n) < 0.02, NONE, resolved)  # abandoned, never closed
    response = np.where(response >= clock.end_excl, NONE, response)
    resolved = np.where(resolved >= clock.end_excl, NONE, resolved)
    slow = (resolved - opened) > 3 * RESOLUTION_MEDIAN_H[priority] * 3600
    csat = np.clip(np.rint(3.9 + 0.4 * cust["engagement"][c] - 0.8 * slow
                           + rng.normal(0, 1.0, n)), 1, 5).astype(np.int64)
    csat = np.where((resolved >= 0) & (rng.random(n) < 0.45), csat, NONE)
    return {"cust": c, "user": user, "opened": opened, "response": response,
            "resolved": resolved, "priority": priority,
            "channel": rng.choice(len(TICKET_CHANNEL_P), n, p=TICKET_CHANNEL_P),
            "category": rng.choice(len(TICKET_CATEGORY_P), n, p=TICKET_CATEGORY_P),
            "csat": csat}


def _nps(rng: np.random.Generator, cust: Frame, users: Frame, rows: Frame, fade: np.ndarray,
         avail: np.ndarray) -> Frame:
    """NPS survey answers: engaged, well onboarded customers are promoters; leavers detract."""
    c_row = rows["cust"]
    length = rows["end"] - rows["start"]
    rate = 0.05 * (1 + 0.5 * np.log1p(avail))
    row = np.repeat(np.arange(len(c_row)), rng.poisson(rate * length / MONTH))
    n = len(row)
    c = c_row[row]
    score = np.clip(np.rint(7.4 + 1.2 * cust["engagement"][c]
                            - 1.0 * (cust["milestones"][c] <= 1) - 2.0 * (fade[row] < 0.8)
                            + rng.normal(0, 1.6, n)), 0, 10).astype(np.int64)
    category = np.where(score >= 9, 2, np.where(score >= 7, 1, 0))
    sizes = np.array([len(group) for group in NPS_COMMENTS])
    pick = (rng.random(n) * sizes[category]).astype(np.int64)
    comment = np.where(rng.random(n) < 0.35, (np.cumsum(sizes) - sizes)[category] + pick, NONE)
    return {"cust": c, "at": rows["start"][row] + (rng.random(n) * length[row]).astype(np.int64),
            "user": np.where(rng.random(n) < 0.95, users["first"][c]
                             + (rng.random(n) * avail[row]).astype(np.int64), NONE),
            "score": score, "comment": comment}


# --- arrow conversion and writing -------------------------------------------------------------
def _ids(prefix: str, number: np.ndarray, width: int) -> pa.Array:
    """Keys like cus_000042 (1-based), NULL where number < 0, formatted in Arrow's C++."""
    digits = pa.array(np.where(number >= 0, number + 1, 0), pa.int64(), mask=number < 0)
    padded = pc.utf8_lpad(pc.cast(digits, pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix + "_", padded, "")


def _labels(code: np.ndarray, labels: tuple[str, ...] | list[str] | np.ndarray) -> pa.Array:
    code = np.asarray(code, dtype=np.int64)
    dictionary = pa.DictionaryArray.from_arrays(pa.array(np.maximum(code, 0), mask=code < 0),
                                                pa.array(list(labels), pa.string()))
    return dictionary.cast(pa.string())


def _ts(seconds: np.ndarray) -> pa.Array:
    seconds = np.asarray(seconds, dtype=np.int64)
    return pa.array(np.where(seconds >= 0, seconds, 0) * 1_000_000, TS, mask=seconds < 0)


def _dates(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    return pa.array(np.where(days >= 0, days, 0).astype(np.int32), pa.date32(), mask=days < 0)


def _decimal(units: np.ndarray, kind: pa.DataType) -> pa.Array:
    """Exact decimals from integer minor units (cents, or 1e-8 for fx rates)."""
    as_int = pa.array(np.asarray(units, dtype=np.int64), pa.int64())
    return as_int.cast(pa.decimal128(19, 0)).cast(pa.decimal128(18, 0)).view(kind)


def _ints(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, pa.int64(), mask=values < 0)


def _width(count: int) -> int:
    return max(6, len(str(count)))


def _csv_timestamps(column: pa.Array, rng: np.random.Generator) -> pa.Array:
    """ISO 8601 UTC with Z; 1% without offset and 1% with a local offset, same instant."""
    seconds = pc.divide(pc.cast(pc.fill_null(column, 0), pa.int64()), 1_000_000).to_numpy()
    as_ts = pa.array(seconds, pa.timestamp("s"))
    text = pc.strftime(as_ts, "%Y-%m-%dT%H:%M:%SZ")
    u = rng.random(len(seconds))
    valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False))
    plain = valid & (u < 0.01)
    if plain.any():
        text = pc.replace_with_mask(text, pa.array(plain),
                                    pc.strftime(as_ts.filter(pa.array(plain)), "%Y-%m-%d %H:%M:%S"))
    offset = valid & (u >= 0.01) & (u < 0.02)
    if offset.any():
        shifts = np.array([9 * 3600, -5 * 3600, 3600, 19800])
        suffix = np.array(["+09:00", "-05:00", "+01:00", "+05:30"], dtype=object)
        pick = rng.integers(0, len(shifts), int(offset.sum()))
        local = pa.array(seconds[offset] + shifts[pick], pa.timestamp("s"))
        shifted = pc.binary_join_element_wise(pc.strftime(local, "%Y-%m-%dT%H:%M:%S"),
                                              pa.array(suffix[pick], pa.string()), "")
        text = pc.replace_with_mask(text, pa.array(offset), shifted)
    return pc.if_else(column.is_null(), pa.scalar(None, pa.string()), text)


class TableWriter:
    """Writes one table incrementally as CSV (text per the contract) or Parquet (native types)."""

    def __init__(self, out_dir: Path, table: str, file_format: str, seed: int) -> None:
        self.table = table
        self.schema = pa.schema(SCHEMAS[table])
        self.csv = file_format == "csv"
        self.path = out_dir / f"{table}.{'csv' if self.csv else 'parquet'}"
        self.rng = _rng(seed, 9, TABLES.index(table))
        self.rows = 0
        self._writer: pacsv.CSVWriter | pq.ParquetWriter | None = None

    def write(self, columns: dict[str, pa.Array]) -> None:
        table = pa.table([columns[name] for name in self.schema.names], schema=self.schema)
        if self.csv:  # Arrow renders dates, decimals and booleans as the contract wants
            table = pa.table([_csv_timestamps(column.combine_chunks(), self.rng)
                              if pa.types.is_timestamp(column.type) else column
                              for column in table.columns], names=self.schema.names)
        if self._writer is None:
            self._writer = (pacsv.CSVWriter(str(self.path), table.schema,
                                            write_options=pacsv.WriteOptions(
                                                batch_size=65_536, quoting_header="none"))
                            if self.csv else pq.ParquetWriter(str(self.path), self.schema,
                                                              compression="zstd"))
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> int:
        if self._writer is None:
            self.write({name: pa.array([], type) for name, type in SCHEMAS[self.table]})
        assert self._writer is not None
        self._writer.close()
        return self.rows


# --- table assembly ----------------------------------------------------------------------------
def _fx_rates(seed: int, clock: Clock) -> dict[str, pa.Array]:
    """A monthly random walk per non-USD currency covering every month of the span."""
    rng = _rng(seed, 5)
    months = np.arange(_month_index(clock.start // DAY), _month_index(clock.end_day) + 1)
    walks = USD_PER_UNIT[1:, None] * np.exp(np.cumsum(rng.normal(0, 0.015, (4, len(months))),
                                                      axis=1))
    cur = np.repeat(np.arange(1, len(CURRENCIES)), len(months))
    return {"month": _dates(np.tile(_month_first_day(months), len(CURRENCIES) - 1)),
            "currency": _labels(cur, CURRENCIES),
            "usd_per_unit": _decimal(np.rint(walks.ravel() * 1e8).astype(np.int64), RATE)}


def _plan_columns(plans: Frame) -> dict[str, pa.Array]:
    """The price book in plan_id order (lines refer to plans by internal number)."""
    plans = _take(plans, np.argsort(plans["plan_id"]))
    return {"plan_id": pa.array(plans["plan_id"], pa.string()),
            "plan_name": pa.array(plans["plan_name"], pa.string()),
            "product_id": pa.array(plans["product"], pa.string()),
            "billing_interval": pa.array(plans["interval"], pa.string()),
            "billing_interval_count": _ints(plans["count"]),
            "unit_amount": _decimal(plans["unit"], MONEY),
            "currency": _labels(plans["currency"], CURRENCIES)}


def _customer_columns(cust: Frame, width: int) -> dict[str, pa.Array]:
    n = len(cust["created"])
    return {"customer_id": _ids("cus", np.arange(n), width),
            "customer_name": pa.array(cust["name"], pa.string()),
            "created_at": _ts(cust["created"]), "country": _labels(cust["country"], COUNTRIES),
            "segment": _labels(cust["segment"], SEGMENTS),
            "acquisition_channel": _labels(cust["channel"], CHANNELS)}


def _subscription_columns(subs: Frame, current: Frame, cust: Frame, plan_ids: np.ndarray,
                          width: int) -> dict[str, pa.Array]:
    n = len(subs["cust"])
    plan = _plan_index(current["offer"], subs["interval"], cust["currency"][subs["cust"]])
    return {"subscription_id": _ids("sub", np.arange(n), _width(n)),
            "customer_id": _ids("cus", subs["cust"], width),
            "plan_id": _labels(plan, plan_ids), "status": _labels(subs["status"], SUB_STATUSES),
            "quantity": _ints(current["qty"]), "created_at": _ts(subs["created"]),
            "trial_start": _ts(subs["trial_start"]), "trial_end": _ts(subs["trial_end"]),
            "started_at": _ts(subs["started"]), "canceled_at": _ts(subs["canceled"]),
            "ended_at": _ts(subs["ended"]), "cancel_reason": _labels(subs["reason"],
                                                                     CANCEL_REASONS)}


def _billing_columns(head: Frame, lines: Frame, cust: Frame, subs: Frame, plan_ids: np.ndarray,
                     width: int) -> tuple[dict[str, pa.Array], dict[str, pa.Array]]:
    """Invoices ordered by issue time (their ids follow), lines by invoice then position."""
    order = np.lexsort((head["kind"], head["sub"], head["issued"]))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    h = _take(head, order)
    n = len(order)
    sub_width = _width(len(subs["cust"]))
    invoices = {"invoice_id": _ids("inv", np.arange(n), _width(n)),
                "customer_id": _ids("cus", h["cust"], width),
                "subscription_id": _ids("sub", h["sub"], sub_width),
                "status": _labels(h["status"], INVOICE_STATUSES),
                "currency": _labels(cust["currency"][h["cust"]], CURRENCIES),
                "issued_at": _ts(h["issued"]), "due_at": _ts(h["due"]), "paid_at": _ts(h["paid"]),
                "subtotal": _decimal(h["subtotal"], MONEY),
                "discount_amount": _decimal(h["discount"], MONEY),
                "tax_amount": _decimal(h["tax"], MONEY), "total": _decimal(h["total"], MONEY)}
    inv = rank[lines["inv"]]
    lo = np.lexsort((np.arange(len(inv)), inv))
    li = _take(lines, lo)
    m = len(lo)
    items = {"line_item_id": _ids("li", np.arange(m), _width(m)),
             "invoice_id": _ids("inv", inv[lo], _width(n)),
             "subscription_id": _ids("sub", li["sub"], sub_width),
             "plan_id": _labels(li["plan"], plan_ids), "line_type": _labels(li["type"], LINE_TYPES),
             "period_start": _dates(li["start"]), "period_end": _dates(li["end"]),
             "quantity": pa.array(li["qty"], pa.int64()), "amount": _decimal(li["amount"], MONEY),
             "discount_amount": _decimal(li["discount"], MONEY),
             "tax_amount": _decimal(li["tax"], MONEY),
             "is_proration": pa.array(li["proration"], pa.bool_())}
    return invoices, items


def _activity(seed: int, out_dir: Path, file_format: str, cust: Frame, users: Frame,
              spans: Frame, clock: Clock, widths: dict[str, int],
              say: Callable[[str], None]) -> dict[str, int]:
    """Usage events, tickets and NPS answers, a block of customers at a time to bound memory.

    Events are written block by block (ids follow customer, then time); tickets and answers
    are few, so they are gathered and numbered in time order at the end.
    """
    n = len(cust["created"])
    onb = _onboarding(_rng(seed, 6), cust, spans)
    rows_all = _month_rows(spans, clock)
    order = np.argsort(rows_all["cust"], kind="stable")
    rows_all = _take(rows_all, order)
    events = TableWriter(out_dir, "usage_events", file_format, seed)
    tickets: list[Frame] = []
    answers: list[Frame] = []
    user_width = _width(len(users["cust"]))
    for number, first in enumerate(range(0, n, BLOCK_CUSTOMERS)):
        rng = _rng(seed, 7, number)
        block = np.arange(first, min(first + BLOCK_CUSTOMERS, n))
        lo, hi = np.searchsorted(rows_all["cust"], [first, block[-1] + 1])
        rows = _take(rows_all, np.arange(lo, hi))
        fade = _fade(rows)
        avail = _available_users(users, rows["cust"], rows["start"], clock)
        usage = _usage(rng, cust, users, rows, fade, avail)
        _keep_planted_exact(usage, onb)
        ev = _concat([usage, _planted_events(rng, cust, users, onb, block)])
        ev = _take(ev, np.lexsort((ev["at"], ev["cust"])))
        count = len(ev["cust"])
        events.write({"event_id": _ids("evt", events.rows + np.arange(count), widths["evt"]),
                      "customer_id": _ids("cus", ev["cust"], widths["cus"]),
                      "user_id": _ids("usr", ev["user"], user_width),
                      "event_name": _labels(ev["name"], EVENT_NAMES),
                      "occurred_at": _ts(ev["at"])})
        tickets.append(_tickets(rng, cust, users, rows, fade, avail, clock))
        answers.append(_nps(rng, cust, users, rows, fade, avail))
    counts = {"usage_events": events.close()}
    say(f"usage_events: {counts['usage_events']:,} rows")
    t = _concat(tickets)
    t = _take(t, np.lexsort((t["cust"], t["opened"])))
    writer = TableWriter(out_dir, "support_tickets", file_format, seed)
    writer.write({"ticket_id": _ids("tkt", np.arange(len(t["cust"])),
                                                 _width(len(t["cust"]))),
                  "customer_id": _ids("cus", t["cust"], widths["cus"]),
                  "user_id": _ids("usr", t["user"], user_width), "opened_at": _ts(t["opened"]),
                  "first_response_at": _ts(t["response"]), "resolved_at": _ts(t["resolved"]),
                  "priority": _labels(t["priority"], PRIORITIES),
                  "channel": _labels(t["channel"], TICKET_CHANNELS),
                  "category": _labels(t["category"], TICKET_CATEGORIES),
                  "csat_score": _ints(t["csat"])})
    counts["support_tickets"] = writer.close()
    say(f"support_tickets: {counts['support_tickets']:,} rows")
    a = _concat(answers)
    a = _take(a, np.lexsort((a["cust"], a["at"])))
    writer = TableWriter(out_dir, "nps_responses", file_format, seed)
    writer.write({"response_id": _ids("nps", np.arange(len(a["cust"])),
                                                   _width(len(a["cust"]))),
                  "customer_id": _ids("cus", a["cust"], widths["cus"]),
                  "user_id": _ids("usr", a["user"], user_width), "responded_at": _ts(a["at"]),
                  "score": _ints(a["score"]),
                  "comment": _labels(a["comment"], [text for group in NPS_COMMENTS
                                                    for text in group])})
    counts["nps_responses"] = writer.close()
    say(f"nps_responses: {counts['nps_responses']:,} rows")
    return counts


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
                      progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write one file per table into out_dir; return rows per table.

    file_format "auto" writes CSV below 20,000 customers and Parquet from there on. Files of
    the other format are removed, since a folder holding both is an error for the loader.
    """
    if customers < 1 or years < 1:
        raise ValueError("customers and years must be at least 1")
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
                            {"cus": width, "evt": max(9, _width(customers * 1000))}, say))
    write("fx_rates", _fx_rates(seed, clock))
    return {table: counts[table] for table in TABLES}
