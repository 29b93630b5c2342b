"""The plan catalogue and the customers."""

from __future__ import annotations

import numpy as np

from retain.generate.arrays import Frame, _choice_rows, _sigmoid
from retain.generate.catalogue import (
    BASE_HAZARD,
    CHANNEL_MISSING_P,
    CHANNEL_P,
    COUNTRIES,
    COUNTRY_BLANK,
    COUNTRY_CURRENCY,
    COUNTRY_LABEL_MISSING_P,
    COUNTRY_P,
    COUNTRY_TAX_BP,
    CURRENCIES,
    DAY,
    DISCOUNT_P,
    ENGAGEMENT_SHIFT,
    FREE_OFFER,
    INTERVALS,
    INTRO_OFFER_MONTHS,
    INTRO_OFFER_P,
    NAME_FIRST,
    NAME_SECOND,
    NAME_SUFFIX,
    NONE,
    OFFERS,
    ONBOARDING_HAZARD,
    PRICE_LEVEL,
    SEAT_LOG_MEAN,
    SEAT_LOG_SD,
    SEGMENT_MISSING_P,
    SEGMENT_P,
    SETUP_FEE_P,
    TERMS_DAYS,
    Clock,
)


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
    cust = {
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
    _crm_gaps(rng, cust)
    _intro_offers(rng, cust)
    return cust


# Traits added later are drawn after all the others from the same stream, so that adding them
# left every earlier draw, and with it the rest of the sample, as it was.
def _crm_gaps(rng: np.random.Generator, cust: Frame) -> None:
    """What the CRM leaves blank: the labels written to customers, apart from the traits.

    The latent segment and the billing country still drive seats, prices and tax (the
    business knows them; the CRM record just lacks them). A country never recorded is
    written as an empty cell or, like a blanked form field, as "" (both read as NULL).
    """
    n = len(cust["created"])
    label_kept = rng.random(n) >= COUNTRY_LABEL_MISSING_P
    country = np.where(label_kept, cust["country"], NONE)
    blank = (country == NONE) & (rng.random(n) < 0.5)
    cust["country_label"] = np.where(blank, COUNTRY_BLANK, country)
    cust["segment_label"] = np.where(rng.random(n) < SEGMENT_MISSING_P, NONE, cust["segment"])
    cust["channel_label"] = np.where(rng.random(n) < CHANNEL_MISSING_P, NONE, cust["channel"])


def _intro_offers(rng: np.random.Generator, cust: Frame) -> None:
    """Some discounts are introductory: they end after a few months, raising the price.

    discount_months is 0 for a discount that lasts (negotiated) and N for one that covers
    the invoices of the first N months after the customer's first paid start (a Stripe
    coupon with duration_in_months = N); the renewal after it costs more for the same plan
    and seats, which is what a price increase looks like in the invoices.
    """
    n = len(cust["created"])
    intro = (cust["discount"] > 0) & (rng.random(n) < INTRO_OFFER_P[cust["segment"]])
    cust["discount_months"] = np.where(intro, rng.choice(INTRO_OFFER_MONTHS, n), 0)


