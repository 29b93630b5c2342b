"""Raw folders of the daily-run tests (test_incremental, test_spark): the customer_success
fixture as its files would stand at the end of each day, with the events known by then.

Around a day D near a month's start (so that monthly rows are recomputed too): each
user is active on a rhythm of its own from 32 days before D to 10 days after; some
events arrive late (inside the 3-day lookback); one day's folder may hold an unreadable
event or extra events; and a source may withdraw the events of recent days.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from pathlib import Path

from tests.python.conftest import FIXTURES

# D of test_incremental: D-2, D-1 and D cross a month end.
DAY = date(2024, 6, 2)
EVENT_COLUMNS = ["event_id", "customer_id", "user_id", "event_name", "occurred_at"]
# Users of the customer_success fixture: (customer, user).
USERS = [("c1", "u1"), ("c1", "u2"), ("c2", "u3"), ("c3", "u4"), ("c4", "u5")]


def daily_events(day: date = DAY) -> list[dict[str, str]]:
    """Activity from 32 days before day to 10 days after, on top of the fixture's: each
    user active on a different rhythm, one event name that never makes a user active."""
    events = []
    current = day - timedelta(days=32)
    while current <= day + timedelta(days=10):
        offset = (current - day).days + 32
        for index, (customer, user) in enumerate(USERS):
            if offset % (index + 2) == 0:
                events.append({"event_id": f"x{current:%m%d}{user}", "customer_id": customer,
                               "user_id": user, "event_name": "report_created",
                               "occurred_at": f"{current}T{8 + index:02d}:30:00Z"})
        current += timedelta(days=1)
    return events


def late_events(day: date = DAY) -> dict[str, tuple[dict[str, str | None], date]]:
    """Events that occurred before a run but reach the raw folder only for the next one
    (inside the 3-day lookback), with the day they arrive."""
    def at(days: int, time: str) -> str:
        return f"{day + timedelta(days=days)}T{time}Z"

    return {
        "late1": ({"customer_id": "c2", "user_id": "u3", "event_name": "login",
                   "occurred_at": at(-3, "23:59:00")}, day - timedelta(days=1)),
        "late2": ({"customer_id": "c4", "user_id": "u5", "event_name": "login",
                   "occurred_at": at(-2, "12:00:00")}, day - timedelta(days=1)),
        "late3": ({"customer_id": "c1", "user_id": None, "event_name": "export",
                   "occurred_at": at(-1, "06:00:00")}, day),
        "late4": ({"customer_id": "c3", "user_id": "u4", "event_name": "login",
                   "occurred_at": at(3, "08:00:00")}, day + timedelta(days=7)),
    }


def raw_folder(root: Path, known_on: date, bad_event: bool = False,
               withdrawn_from: date | None = None, day: date = DAY,
               extra_events: list[dict[str, str]] | None = None) -> Path:
    """The customer_success fixture with the events (around day) known at the end of
    known_on, and extra_events; without the events from withdrawn_from on, when the
    source withdrew them (days, and a month, that lose every row they had)."""
    suffix = ("_bad" if bad_event else "") + (f"_from_{withdrawn_from}" if withdrawn_from
                                              else "")
    folder = root / f"raw_{known_on}{suffix}"
    shutil.copytree(FIXTURES / "customer_success", folder)
    with (folder / "usage_events.csv").open() as handle:
        events = list(csv.DictReader(handle))
    late = late_events(day)
    events += daily_events(day) + (extra_events or [])
    events += [{"event_id": event_id, **event} for event_id, (event, arrives) in late.items()
               if arrives <= known_on]
    known = [event for event in events if event["occurred_at"][:10] <= known_on.isoformat()
             and (event["event_id"] not in late or late[event["event_id"]][1] <= known_on)
             and (withdrawn_from is None
                  or event["occurred_at"][:10] < withdrawn_from.isoformat())]
    if known_on >= day:  # a small table changes too: reloaded whole, validated again
        with (folder / "nps_responses.csv").open("a") as handle:
            handle.write(f"r_new,c2,u3,{day - timedelta(days=1)}T09:00:00Z,3,too slow\n")
    if bad_event:
        known.append({"event_id": "bad1", "customer_id": "c1", "user_id": "u1",
                      "event_name": "login", "occurred_at": "yesterday"})
    with (folder / "usage_events.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows({**event, "user_id": event["user_id"] or ""} for event in known)
    return folder
