"""Subscriptions: primary ones, pauses, reactivations, cross-sells and plan changes."""

from __future__ import annotations

import numpy as np

from retain.generate.arrays import (
    Frame,
    _choice_rows,
    _concat,
    _group_cumsum,
    _period_index,
    _rng,
    _shift_months,
    _sigmoid,
    _take,
)
from retain.generate.catalogue import (
    ACTIVE,
    CANCELED,
    CORE_TIERS,
    CROSS_SELL,
    CROSS_SELL_RATE,
    DAY,
    FREE_OFFER,
    FREE_P,
    INTERVAL_MONTHS,
    INTERVAL_P,
    MONTH,
    NO_REASON_P,
    NONE,
    PAST_DUE,
    PAUSED,
    PAYMENT_FAILED,
    PRIMARY,
    REACTIVATION,
    TIER_DOWN_P,
    TIER_P,
    TRIAL_EXPIRED,
    TRIAL_P,
    TRIALING,
    UNPAID,
    VOLUNTARY_REASON_P,
    Clock,
)


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
    subs = _take(subs, np.lexsort((subs["created"], subs["cust"])))
    # Some who cancel skip the exit survey: no cancel_reason (a churn reason of `unknown`).
    # Drawn from a stream of its own, after the fact, so every other draw stays as it was.
    voluntary = (subs["reason"] >= 0) & (subs["reason"] < len(VOLUNTARY_REASON_P))
    skipped = _rng(seed, 2, 1).random(len(voluntary)) < NO_REASON_P
    subs["reason"] = np.where(voluntary & skipped, NONE, subs["reason"])
    return subs


def _changes(rng: np.random.Generator, subs: Frame, cust: Frame, clock: Clock,
             extra: np.random.Generator) -> Frame:
    """Seat changes and tier moves while a paid subscription runs, sorted by (sub, time).

    Engaged customers expand, disengaged ones shrink; a fifth of the expansions move up a
    core tier, a quarter of the reductions down one. Each change carries the plan and seats
    before and after, and the billing period it falls in (for the proration lines). `extra`
    holds the draws added later (the tier downgrades), so the earlier ones stay as they were.
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
    tier_down = (~up & core_paid & (extra.random(len(sub)) < TIER_DOWN_P)).astype(np.int64)
    # The tier follows the running sum of the steps clipped to the core tiers (vectorised;
    # unlike a clamp at each step, a step beyond the top or bottom tier is remembered and
    # absorbs the next step back, which then changes seats only).
    offer_after = np.where(core_paid, np.clip(subs["offer"][sub]
                                              + _group_cumsum(tier_up - tier_down, sub),
                                              0, CORE_TIERS - 1), subs["offer"][sub])
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


