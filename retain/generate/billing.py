"""Invoices and their lines, Stripe-like: periods, prorations, discounts, tax, payment."""

from __future__ import annotations

import numpy as np

from retain.generate.arrays import Frame, _concat, _ranks, _rng, _round_share, _shift_months
from retain.generate.catalogue import (
    ACTIVE,
    CREDIT_LINE,
    DAY,
    DRAFT,
    DRAFT_KIND,
    INTERVAL_MONTHS,
    NEVER,
    NONE,
    ONE_TIME_LINE,
    OPEN,
    PAID,
    PAST_DUE,
    PRICE_LEVEL,
    PRIMARY,
    PRORATION,
    REGULAR,
    SETUP_FEE_USD,
    SUBSCRIPTION_LINE,
    TERM_RECOVERY_P,
    TRIAL,
    UNCOLLECTIBLE,
    UNPAID,
    USAGE_BLOCK_USD_CENTS,
    USAGE_LINE,
    VOID,
    VOID_KIND,
    Clock,
)
from retain.generate.customers import _plan_index
from retain.generate.subscriptions import _changes, _state_at


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
    # Draws added later come from a stream of their own, so that adding them left every
    # earlier draw, and with it the rest of the sample, as it was.
    extra = _rng(seed, 3, 1)
    changes = _changes(rng, subs, cust, clock, extra)
    c_of = subs["cust"]
    coupon_end = _coupon_end(subs, cust)

    def discount_at(c: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The customer's discount (%) on an invoice issued at `at`."""
        return np.where(at < coupon_end[c], cust["discount"][c], 0)

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
    # The credit gives back what was paid for the rest, i.e. net of the discount on the
    # period's invoice (issued at the period start, possibly under an intro offer since over).
    pct = discount_at(c_of[cs], p_start * DAY + subs["tod"][cs])
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
    line_cust = c_of[head["sub"][lines["inv"]]]
    _price_lines(lines, discount_at(line_cust, head["issued"][lines["inv"]]),
                 cust["tax_bp"][line_cust])
    _settle(rng, head, lines, subs, cust, clock, extra)
    return head, lines, {"offer": current_offer, "qty": current_qty}


def _coupon_end(subs: Frame, cust: Frame) -> np.ndarray:
    """Per customer, when its discount stops: never, or N months after its first paid start.

    An intro offer of N months (cust["discount_months"]) covers the invoices issued before the
    N-th monthly anniversary of the first paid start: N monthly invoices, or the one annual
    invoice of the first year; the next renewal is billed at the full price.
    """
    n = len(cust["created"])
    paid = np.flatnonzero(subs["started"] >= 0)
    first = np.full(n, NEVER)
    np.minimum.at(first, subs["cust"][paid], subs["started"][paid])
    intro = (cust["discount_months"] > 0) & (first < NEVER)
    start = np.where(intro, first, 0)
    end = _shift_months(start // DAY, cust["discount_months"]) * DAY + start % DAY
    return np.where(intro, end, NEVER)


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
            clock: Clock, extra: np.random.Generator) -> None:
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
    # A failed payment on a term (quarterly or annual) invoice that is recovered only after
    # dunning, 31 to 75 days past due: the invoice is delinquent meanwhile (its MRR stops
    # after mrr_delinquency_days, an involuntary churn when it was all the customer paid),
    # then paid, and the customer pays again. Monthly invoices cannot show this: their
    # period is over before they are 30 days past due.
    term = INTERVAL_MONTHS[subs["interval"][head["sub"]]] > 1
    recovers = (kind == REGULAR) & term & ~head["fail"] & (extra.random(n) < TERM_RECOVERY_P)
    paid = np.where(recovers, due + extra.integers(31, 76, n) * DAY, paid)
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


