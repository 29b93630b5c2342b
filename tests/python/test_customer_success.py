"""Customer-success marts against an independent calculation from the raw files.

The fixture tests/fixtures/customer_success holds a few customers, one per
edge case (comments below). Each test recomputes a mart with pandas and plain
Python straight from the raw CSVs and the seeds (no SQL) and compares it row
by row with what the real pipeline (load + dbt build) published; a few
hand-computed figures pin the edge cases so that both sides cannot share a
mistake unnoticed.

Edge cases in the fixture (as_of 2024-06-15, as_of_end 2024-06-16 00:00):
- c1: milestones completed, five logins from two users, a setup event before
  its onboarding start (ignored), an event without a user.
- c2: five logins only after the window (missed, achieved late); `Login`
  (capitalised) is another event name.
- c3: setup after its window, fifth login exactly at the window end (missed).
- c4: window still open; its logins on and after 2024-06-16 do not exist yet.
- c5: events but no subscription (no onboarding); c6 exists only after as_of.
- NPS: scores 0, 6 (detractor), 7 and 8 (passive), 9 and 10, duplicates, a
  response after as_of.
- Support: answered, resolved without a first response, unanswered with the
  target passed and not yet passed, resolved after as_of, a priority in
  mixed case, a ticket after as_of.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retain.dbt import PRODUCTION_BUILD, dbt_arguments, run_dbt
from retain.load import load_raw
from retain.settings import PROJECT_DIR, Settings
from tests.python.conftest import FIXTURES, BuildWarehouse, query

CS_FIXTURE = FIXTURES / "customer_success"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
AS_OF = date(2024, 6, 15)
AS_OF_END = datetime(AS_OF.year, AS_OF.month, AS_OF.day) + timedelta(days=1)


# ---------------------------------------------------------------- raw files


def _timestamps(series: pd.Series) -> pd.Series:
    """ISO 8601 strings to naive UTC datetimes (empty -> NaT)."""
    return pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_convert(None)


def _raw(table: str, timestamp_columns: list[str], created_at: str | None) -> pd.DataFrame:
    """A raw table as the warehouse sees it at as_of: rows created later do not
    exist, later timestamps on existing rows have not happened yet."""
    frame = pd.read_csv(CS_FIXTURE / f"{table}.csv", dtype=str, keep_default_na=False)
    frame = frame.apply(lambda column: column.str.strip()).replace("", None)
    for column in timestamp_columns:
        frame[column] = _timestamps(frame[column])
    if created_at:
        frame = frame[frame[created_at] < AS_OF_END].copy()
    for column in timestamp_columns:
        if column != created_at:
            frame[column] = frame[column].where(frame[column] < AS_OF_END)
    return frame


def _month(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def _none_if_nan(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return value


# ---------------------------------------------------------------- onboarding


def independent_milestones(
    milestones_seed: Path = SEEDS / "onboarding_milestones.csv",
) -> dict[tuple[str, str], tuple[datetime | None, str]]:
    """(customer, milestone) -> (achieved_at, status), from the raw files and the seed."""
    subscriptions = _raw("subscriptions", ["created_at"], "created_at")
    events = _raw("usage_events", ["occurred_at"], "occurred_at")
    milestones = pd.read_csv(milestones_seed)
    starts = subscriptions.groupby("customer_id")["created_at"].min()

    result: dict[tuple[str, str], tuple[datetime | None, str]] = {}
    for customer_id, start in starts.items():
        for milestone in milestones.itertuples():
            window_end = start + timedelta(hours=24 * int(milestone.within_days))
            times = sorted(
                events.loc[
                    (events["customer_id"] == customer_id)
                    & (events["event_name"] == milestone.event_name)
                    & (events["occurred_at"] >= start),
                    "occurred_at",
                ]
            )
            achieved = times[milestone.min_count - 1] if len(times) >= milestone.min_count else None
            if achieved is not None and achieved < window_end:
                status = "completed"
            elif window_end <= AS_OF_END:
                status = "missed"
            else:
                status = "in_progress"
            result[(customer_id, milestone.milestone_id)] = (
                achieved.to_pydatetime() if achieved is not None else None,
                status,
            )
    return result


def independent_onboarding_cohorts() -> dict[date, tuple[int, int, int, int, float | None]]:
    subscriptions = _raw("subscriptions", ["created_at"], "created_at")
    starts = subscriptions.groupby("customer_id")["created_at"].min()
    statuses: dict[str, list[str]] = {}
    for (customer_id, _), (_, status) in independent_milestones().items():
        statuses.setdefault(customer_id, []).append(status)
    cohorts: dict[date, list[str]] = {}
    for customer_id, milestone_statuses in statuses.items():
        if all(status == "completed" for status in milestone_statuses):
            overall = "completed"
        elif "missed" in milestone_statuses:
            overall = "missed"
        else:
            overall = "in_progress"
        cohorts.setdefault(_month(starts[customer_id]), []).append(overall)
    result = {}
    for month, overall in cohorts.items():
        completed, missed = overall.count("completed"), overall.count("missed")
        rate = completed / (completed + missed) if completed + missed else None
        result[month] = (len(overall), completed, missed, overall.count("in_progress"), rate)
    return result


@pytest.fixture(scope="module")
def warehouse(build_warehouse: BuildWarehouse) -> Path:
    return build_warehouse(CS_FIXTURE, AS_OF)


def test_onboarding_milestones_match_independent_calculation(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select customer_id, milestone_id, achieved_at, status from fct_onboarding_milestones",
    )
    built = {
        (customer, milestone): (achieved, status) for customer, milestone, achieved, status in rows
    }
    assert built == independent_milestones()
    # Hand-computed pins of the edge cases.
    assert built[("c1", "five_logins")] == (datetime(2024, 1, 20, 11), "completed")  # 3 + 2 users
    assert built[("c1", "initial_setup")] == (datetime(2024, 1, 11, 10), "completed")  # not Jan 9
    assert built[("c2", "five_logins")] == (
        datetime(2024, 2, 25, 9),
        "missed",
    )  # late; `Login` ignored
    assert built[("c3", "five_logins")] == (datetime(2024, 3, 6), "missed")  # exactly at window end
    assert built[("c4", "five_logins")] == (None, "in_progress")  # later logins do not exist yet
    assert {customer for customer, _ in built} == {"c1", "c2", "c3", "c4"}  # c5: no subscription


# Another milestone definition: no milestone is hard-coded in SQL, so the
# same build reads whatever the seed says.
OTHER_MILESTONES = """milestone_id,event_name,min_count,within_days
two_logins_first_week,login,2,7
first_report,report_generated,1,90
"""


def _project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the dbt project whose seeds a test may change."""
    project_copy = tmp_path / "project"
    # The copy's manifest must not replace the session's (partial parsing).
    monkeypatch.setenv("DBT_TARGET_PATH", str(project_copy / "target"))
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, project_copy / folder)
    for file in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / file, project_copy / file)
    return project_copy


def test_changing_the_milestone_seed_changes_the_result(
        warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project_copy = _project_copy(tmp_path, monkeypatch)
    seed = project_copy / "seeds" / "onboarding_milestones.csv"
    seed.write_text(OTHER_MILESTONES)
    rebuilt = tmp_path / "retain.duckdb"
    load_raw(CS_FIXTURE, rebuilt)
    # Cautious: only the tests whose every parent is built here.
    outcome = run_dbt(dbt_arguments([*PRODUCTION_BUILD, "--select", "+fct_onboarding_milestones",
                                     "--indirect-selection", "cautious"], Settings(as_of=AS_OF)),
                      rebuilt, project_dir=project_copy)
    assert outcome.success, "\n".join(outcome.failures)
    sql = "select customer_id, milestone_id, achieved_at, status from fct_onboarding_milestones"
    rebuilt_rows = {(c, m): (a, s) for c, m, a, s in query(rebuilt, sql)}
    assert rebuilt_rows == independent_milestones(seed)
    assert {m for _, m in rebuilt_rows} == {"two_logins_first_week", "first_report"}
    assert rebuilt_rows != {(c, m): (a, s) for c, m, a, s in query(warehouse, sql)}


def test_customer_onboarding_status(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select customer_id, onboarding_status, onboarding_completed_at "
        "from fct_customer_onboarding order by customer_id",
    )
    assert rows == [
        ("c1", "completed", datetime(2024, 2, 20, 8)),
        ("c2", "missed", None),
        ("c3", "missed", None),
        ("c4", "in_progress", None),
    ]


def test_onboarding_cohorts_match_independent_calculation(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select cohort_month, customers, completed, missed, in_progress, "
        "onboarding_completion_rate from metrics_onboarding_cohorts",
    )
    built = {row[0]: tuple(row[1:]) for row in rows}
    expected = independent_onboarding_cohorts()
    assert built.keys() == expected.keys()
    for month, values in expected.items():
        assert built[month][:4] == values[:4]
        assert (
            built[month][4] == pytest.approx(values[4])
            if values[4] is not None
            else built[month][4] is None
        )
    assert built[date(2024, 1, 1)] == (2, 1, 1, 0, 0.5)
    assert built[date(2024, 5, 1)] == (1, 0, 0, 1, None)  # right-censored: no rate yet


# ---------------------------------------------------------------- NPS


def _nps_category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def independent_nps_monthly() -> dict[date, tuple[int, int, int, int, float]]:
    responses = _raw("nps_responses", ["responded_at"], "responded_at")
    responses["category"] = responses["score"].astype(int).map(_nps_category)
    responses["month"] = responses["responded_at"].map(_month)
    result = {}
    for month, group in responses.groupby("month"):
        counts = group["category"].value_counts()
        promoters, passives, detractors = (
            int(counts.get(name, 0)) for name in ("promoter", "passive", "detractor")
        )
        result[month] = (
            len(group),
            promoters,
            passives,
            detractors,
            100.0 * (promoters - detractors) / len(group),
        )
    return result


def test_nps_monthly_matches_independent_calculation(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select month, responses, promoters, passives, detractors, nps from metrics_nps_monthly",
    )
    built = {row[0]: row[1:] for row in rows}
    expected = independent_nps_monthly()
    assert built.keys() == expected.keys()
    for month, values in expected.items():
        assert built[month][:4] == values[:4]
        assert built[month][4] == pytest.approx(values[4])
    # February: 10 promoter, 6 detractor, 7 passive -> 0; March: 9, 9, 0 -> 33.3.
    assert built[date(2024, 2, 1)] == (3, 1, 1, 1, 0.0)
    assert built[date(2024, 3, 1)][4] == pytest.approx(100 / 3)
    assert date(2024, 6, 1) in built and built[date(2024, 6, 1)][0] == 2  # r11 after as_of


def test_customer_nps_trailing_90_days(warehouse: Path) -> None:
    responses = _raw("nps_responses", ["responded_at"], "responded_at")
    window_start = AS_OF_END - timedelta(hours=90 * 24)
    recent = responses[responses["responded_at"] >= window_start]
    expected = {}
    for customer_id in responses["customer_id"].unique():
        scores = recent.loc[recent["customer_id"] == customer_id, "score"].astype(int)
        categories = scores.map(_nps_category)
        expected[customer_id] = (
            100.0
            * ((categories == "promoter").sum() - (categories == "detractor").sum())
            / len(scores)
            if len(scores)
            else None
        )
    rows = query(warehouse, "select customer_id, nps_90d from fct_customer_nps")
    built = dict(rows)
    assert built.keys() == expected.keys()
    for customer_id, value in expected.items():
        assert built[customer_id] == (pytest.approx(value) if value is not None else None)
    assert built["c1"] == pytest.approx(0.0) and built["c4"] == pytest.approx(100.0)


# ---------------------------------------------------------------- support


def independent_tickets() -> pd.DataFrame:
    tickets = _raw(
        "support_tickets", ["opened_at", "first_response_at", "resolved_at"], "opened_at"
    )
    tickets["priority"] = tickets["priority"].str.lower()
    targets = pd.read_csv(SEEDS / "support_sla_targets.csv").set_index("priority")
    records = []
    for ticket in tickets.itertuples():
        first_response = (
            ticket.first_response_at if pd.notna(ticket.first_response_at) else ticket.resolved_at
        )
        minutes = (
            (first_response - ticket.opened_at).total_seconds() / 60
            if pd.notna(first_response)
            else None
        )
        hours = (
            (ticket.resolved_at - ticket.opened_at).total_seconds() / 3600
            if pd.notna(ticket.resolved_at)
            else None
        )
        sla_met = None
        if ticket.priority in targets.index:
            outcomes = []
            for done, target_hours in (
                (first_response, targets.loc[ticket.priority, "first_response_hours"]),
                (ticket.resolved_at, targets.loc[ticket.priority, "resolution_hours"]),
            ):
                due = ticket.opened_at + timedelta(hours=float(target_hours))
                if pd.notna(done):
                    outcomes.append(done <= due)
                else:
                    outcomes.append(False if due < AS_OF_END else None)
            sla_met = False if False in outcomes else (True if all(outcomes) else None)
        records.append(
            {
                "ticket_id": ticket.ticket_id,
                "month": _month(ticket.opened_at),
                "first_response_minutes": minutes,
                "resolution_hours": hours,
                "sla_met": sla_met,
                "csat": float(ticket.csat_score)
                if pd.notna(ticket.resolved_at) and ticket.csat_score
                else None,
                "opened_at": ticket.opened_at,
                "resolved_at": ticket.resolved_at,
            }
        )
    return pd.DataFrame.from_records(records)


def test_support_tickets_match_independent_calculation(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select ticket_id, first_response_minutes, resolution_hours, sla_met "
        "from fct_support_tickets",
    )
    built = {row[0]: row[1:] for row in rows}
    expected = independent_tickets()
    assert set(built) == set(expected["ticket_id"])
    for ticket in expected.itertuples():
        minutes, hours, sla_met = built[ticket.ticket_id]
        assert minutes == (
            pytest.approx(ticket.first_response_minutes)
            if _none_if_nan(ticket.first_response_minutes) is not None
            else None
        )
        assert hours == (
            pytest.approx(ticket.resolution_hours)
            if _none_if_nan(ticket.resolution_hours) is not None
            else None
        )
        assert sla_met == ticket.sla_met
    # Pins: 30 min 30 s exactly; resolved without response; unanswered before / after its target.
    assert built["t1"] == (30.5, 5.0, True)
    assert built["t3"] == (75.0, 1.25, True)
    assert built["t6"] == (None, None, None)
    assert built["t8"] == (None, None, False)
    assert built["t7"] == (
        30.0,
        None,
        False,
    )  # resolved after as_of: not yet resolved, target passed


def _percentile(values: list[float], fraction: float) -> float | None:
    return float(np.percentile(values, fraction * 100, method="linear")) if values else None


def test_support_monthly_matches_independent_calculation(warehouse: Path) -> None:
    tickets = independent_tickets()
    months = pd.period_range(min(tickets["month"]), AS_OF, freq="M")
    expected = {}
    for period in months:
        month = date(period.year, period.month, 1)
        month_end = datetime(period.year, period.month, 1) + pd.offsets.MonthBegin(1)
        snapshot_end = min(month_end, AS_OF_END)
        group = tickets[tickets["month"] == month]
        minutes = [
            value for value in group["first_response_minutes"] if _none_if_nan(value) is not None
        ]
        hours = [value for value in group["resolution_hours"] if _none_if_nan(value) is not None]
        outcomes = [value for value in group["sla_met"] if value is not None]
        scores = [value for value in group["csat"] if _none_if_nan(value) is not None]
        backlog = int(
            ((tickets["opened_at"] < snapshot_end) & ~(tickets["resolved_at"] < snapshot_end)).sum()
        )
        expected[month] = (
            len(group),
            _percentile(minutes, 0.5),
            _percentile(minutes, 0.9),
            _percentile(hours, 0.5),
            _percentile(hours, 0.9),
            sum(outcomes) / len(outcomes) if outcomes else None,
            sum(scores) / len(scores) if scores else None,
            backlog,
        )
    rows = query(
        warehouse,
        "select month, tickets, median_first_response_minutes, "
        "p90_first_response_minutes, median_resolution_hours, p90_resolution_hours, "
        "sla_met_rate, avg_csat, backlog from metrics_support_monthly",
    )
    built = {row[0]: row[1:] for row in rows}
    assert built.keys() == expected.keys()
    for month, values in expected.items():
        for got, want in zip(built[month], values, strict=True):
            assert got == (pytest.approx(want) if want is not None else None), month
    # February by hand: minutes 30.5, 75, 120 -> p90 = 75 + 0.8 x 45 = 111.
    assert built[date(2024, 2, 1)][2] == pytest.approx(111.0)
    assert built[date(2024, 5, 1)] == (0, None, None, None, None, None, None, 1)


# ---------------------------------------------------------------- engagement


def test_engagement_daily_matches_brute_force(warehouse: Path) -> None:
    """dau / wau / mau by brute force over days x users (fine for a fixture)."""
    events = _raw("usage_events", ["occurred_at"], "occurred_at")
    active = events[events["user_id"].notna()].copy()
    active["day"] = active["occurred_at"].dt.date
    user_days = set(zip(active["user_id"], active["day"], strict=True))
    first_day = min(day for _, day in user_days)
    expected = {}
    day = first_day
    while day <= AS_OF:

        def users_within(days_back: int, today: date = day) -> int:
            start = today - timedelta(days=days_back)
            return len({user for user, active_day in user_days if start <= active_day <= today})

        dau, wau, mau = users_within(0), users_within(6), users_within(29)
        expected[day] = (dau, wau, mau, dau / mau if mau else None)
        day += timedelta(days=1)
    rows = query(
        warehouse, "select date_day, dau, wau, mau, stickiness from metrics_engagement_daily"
    )
    built = {row[0]: row[1:] for row in rows}
    assert built.keys() == expected.keys()
    for day, values in expected.items():
        assert built[day][:3] == values[:3], day
        assert built[day][3] == (pytest.approx(values[3]) if values[3] is not None else None)


# ---------------------------------------------------------------- health


def _health_score(signal_values: dict[str, float | None]) -> tuple[float, str, str | None]:
    """Score, band and risk signals from signal values, with the seeds' weights."""
    weights = pd.read_csv(SEEDS / "health_signal_weights.csv").set_index("signal_name")
    bands = pd.read_csv(SEEDS / "health_risk_bands.csv").sort_values("min_score", ascending=False)
    scored = {}
    for name, value in signal_values.items():
        if value is None or weights.loc[name, "weight"] <= 0:
            continue
        good, bad = weights.loc[name, "good_value"], weights.loc[name, "bad_value"]
        scored[name] = (
            weights.loc[name, "weight"],
            min(max((value - bad) / (good - bad), 0.0), 1.0),
        )
    total = sum(weight for weight, _ in scored.values())
    score = round(100 * sum(weight * signal for weight, signal in scored.values()) / total, 2)
    band = next(row.risk_band for row in bands.itertuples() if score >= row.min_score)
    lost = sorted(
        (
            (100 * weight * (1 - signal) / total, name)
            for name, (weight, signal) in scored.items()
            if signal < 1
        ),
        key=lambda item: (-item[0], item[1]),
    )
    return score, band, ",".join(name for _, name in lost) or None


def test_customer_health_by_hand(warehouse: Path) -> None:
    """c1 in June 2024, each signal derived by hand from the fixture files."""
    expected = _health_score(
        {
            "mrr_trend": 30 / 40,  # 30 in June; 40 in March (two subscriptions)
            "seat_utilization": 2 / 3,  # u1, u2 active May 17..Jun 15; 3 seats
            "active_user_trend": None,  # nobody active Apr 17..May 16: no basis
            "onboarding_status": 1.0,  # completed
            "latest_nps_category": 1.0,  # r10, 9, Jun 15 23:00 (before the snapshot ends)
            "support_load": 2.0,  # t5 (Apr 30) and t7 (Jun 14) in the 90 days
            "overdue_invoices": 0.0,
            "days_since_last_activity": 0.0,  # e011, Jun 15 23:59:59
        }
    )
    rows = query(
        warehouse,
        "select health_score, risk_band, risk_signals from fct_customer_health "
        "where customer_id = 'c1' and month = date '2024-06-01'",
    )
    assert rows == [expected]
    # c3 in April: its April invoice is open, 22 days past due at the snapshot.
    rows = query(
        warehouse,
        "select max_days_overdue, onboarding_status from fct_customer_health "
        "where customer_id = 'c3' and month = date '2024-04-01'",
    )
    assert rows == [(22, "missed")]


def test_customer_success_profile_keeps_every_customer(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select customer_id, onboarding_status, open_tickets, health_score is null "
        "from int_customer_success_profile order by customer_id",
    )
    assert rows == [
        ("c1", "completed", 1, False),  # t7 is resolved only after as_of
        ("c2", "missed", 0, True),  # churned in April
        ("c3", "missed", 2, True),  # t4 and t8 open; not paying in June
        ("c4", "in_progress", 1, True),  # trial: not paying
        ("c5", None, 0, True),  # no subscription: no onboarding
    ]  # c6 exists only after as_of


@pytest.mark.parametrize("change", [
    lambda rows: [*rows, "mystery_signal,5,1,0,not computed by the health score"],
    lambda rows: [row for row in rows if not row.startswith("support_load,")],
], ids=["unknown signal", "missing signal"])
def test_health_weights_naming_other_signals_fail_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        change: Callable[[list[str]], list[str]]) -> None:
    """A weight for a signal the score does not compute, or a computed signal without a
    weight, stops the build before any health model is built: never a silent drop."""
    project_copy = _project_copy(tmp_path, monkeypatch)
    seed = project_copy / "seeds" / "health_signal_weights.csv"
    seed.write_text("\n".join(change(seed.read_text().splitlines())) + "\n")
    rebuilt = tmp_path / "retain.duckdb"
    load_raw(CS_FIXTURE, rebuilt)

    outcome = run_dbt(dbt_arguments([*PRODUCTION_BUILD, "--select", "+fct_customer_health"],
                                    Settings(as_of=AS_OF)), rebuilt, project_dir=project_copy)

    assert not outcome.success
    [failure] = [line for line in outcome.failures if "health_signal_weights_match_signals" in line]
    assert "1 result" in failure, failure
    built = {name for (name,) in query(rebuilt, "select table_name from information_schema.tables")}
    assert "int_customer_health_scores" not in built and "fct_customer_health" not in built
    rows = query(rebuilt, "select count(*) from int_customer_health_signals")
    assert rows[0][0] > 0, "the signals are built; only the score waits for a valid seed"
