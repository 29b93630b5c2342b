"""The plan catalogue and the customers."""

from __future__ import annotations

import numpy as np

from retain.generate.arrays import Frame, _choice_rows, _sigmoid
from retain.generate.catalogue import (
    BASE_HAZARD,
    CHANNEL_P,
    COUNTRIES,
    COUNTRY_CURRENCY,
    COUNTRY_P,
    COUNTRY_TAX_BP,
    CURRENCIES,
    DAY,
    DISCOUNT_P,
    ENGAGEMENT_SHIFT,
    FREE_OFFER,
    INTERVALS,
    NAME_FIRST,
    NAME_SECOND,
    NAME_SUFFIX,
    NONE,
    OFFERS,
    ONBOARDING_HAZARD,
    PRICE_LEVEL,
    SEAT_LOG_MEAN,
    SEAT_LOG_SD,
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


