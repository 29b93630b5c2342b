"""Columns of every raw table from the generated frames, written block by block."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from retain.contract import (
    INVOICE_STATUSES,
    LINE_TYPES,
    PRIORITIES,
    SUBSCRIPTION_STATUSES,
)
from retain.generate.activity import (
    _available_users,
    _fade,
    _keep_planted_exact,
    _month_rows,
    _nps,
    _onboarding,
    _planted_events,
    _tickets,
    _usage,
)
from retain.generate.arrays import Frame, _concat, _month_first_day, _month_index, _rng, _take
from retain.generate.catalogue import (
    BLOCK_CUSTOMERS,
    CANCEL_REASONS,
    CHANNELS,
    COUNTRIES,
    CURRENCIES,
    DAY,
    EVENT_NAMES,
    NPS_COMMENTS,
    SEGMENTS,
    TICKET_CATEGORIES,
    TICKET_CHANNELS,
    USD_PER_UNIT,
    Clock,
)
from retain.generate.customers import _plan_index
from retain.generate.schemas import MONEY, RATE
from retain.generate.writer import TableWriter, _dates, _decimal, _ids, _ints, _labels, _ts, _width


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
            "created_at": _ts(cust["created"]),
            "country": _labels(cust["country_label"], (*COUNTRIES, "")),  # "" is COUNTRY_BLANK
            "segment": _labels(cust["segment_label"], SEGMENTS),
            "acquisition_channel": _labels(cust["channel_label"], CHANNELS)}


def _subscription_columns(subs: Frame, current: Frame, cust: Frame, plan_ids: np.ndarray,
                          width: int) -> dict[str, pa.Array]:
    n = len(subs["cust"])
    plan = _plan_index(current["offer"], subs["interval"], cust["currency"][subs["cust"]])
    return {"subscription_id": _ids("sub", np.arange(n), _width(n)),
            "customer_id": _ids("cus", subs["cust"], width),
            "plan_id": _labels(plan, plan_ids),
            "status": _labels(subs["status"], SUBSCRIPTION_STATUSES),
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
              say: Callable[[str], None], events_scale: float = 1.0) -> dict[str, int]:
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
        usage = _usage(rng, cust, users, rows, fade, avail, events_scale)
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


