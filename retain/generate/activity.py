"""Users, usage events, support tickets and NPS responses, driven by engagement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retain.generate.arrays import (
    Frame,
    _choice_rows,
    _group_cumsum,
    _month_first_day,
    _month_index,
    _ranks,
    _rng,
    _take,
)
from retain.generate.catalogue import (
    CROSS_SELL,
    DASHBOARD,
    DAY,
    EVENT_P,
    FIRST_RESPONSE_MEDIAN_MIN,
    INTEGRATION,
    LOGIN,
    MONTH,
    NEVER,
    NONE,
    NPS_COMMENTS,
    PRIMARY,
    PRIORITY_P,
    REPORT,
    RESOLUTION_MEDIAN_H,
    SETUP,
    SYSTEM_SYNC,
    TICKET_CATEGORY_P,
    TICKET_CHANNEL_P,
    Clock,
)


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
           avail: np.ndarray, events_scale: float = 1.0) -> Frame:
    """Everyday usage: some users active on some days, a short session of events each day.
    events_scale multiplies the expected active days of a user-month (so the events too),
    for data heavier than the default's."""
    eng = cust["engagement"][rows["cust"]]
    length = rows["end"] - rows["start"]
    share = length / MONTH
    active = rng.binomial(avail, np.clip(0.3 * np.exp(0.4 * eng) * fade, 0.02, 0.9))
    slot = np.repeat(np.arange(len(active)), active)
    user = users["first"][rows["cust"][slot]] + (rng.random(len(slot)) * avail[slot]).astype(
        np.int64)
    extra_days = 2.5 * np.exp(0.35 * eng) * fade * share
    # k times the expected 1 + extra_days; exactly extra_days for k = 1 (x * 1.0 + 0.0).
    days = 1 + rng.poisson((extra_days * events_scale + (events_scale - 1))[slot])
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


