"""Incremental daily runs equal full rebuilds, cell for cell, in every interface table.

The raw folder grows as it would in production: each day's file holds the
events known by then. Some events arrive late (inside the lookback), a day's
file once holds an unreadable event (the run is rejected, nothing changes),
and a week passes with no run at all. After each incremental run the
published warehouse is compared with a full rebuild from the same files.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from retain.incremental import read_state, run_plan, write_state
from retain.pipeline import ExitCode, RunReport, run_pipeline
from retain.publish import build_path
from retain.settings import Settings
from tests.python.conftest import query
from tests.python.daily_raw import DAY, raw_folder
from tools.compare import interface_differences


def _run(raw: Path, warehouse: Path, as_of: date, **changes: object) -> RunReport:
    """`retain run` on one raw folder; the state records the raw folder, so every day's
    folder is moved into one place, as a daily drop would be."""
    drop = warehouse.parent.parent / "raw"
    shutil.rmtree(drop, ignore_errors=True)
    shutil.copytree(raw, drop)
    settings = replace(Settings(raw_dir=drop, warehouse=warehouse, as_of=as_of), **changes)
    return run_pipeline(settings, progress=lambda _: None)


def _assert_identical(incremental: Path, full: Path) -> None:
    differences = interface_differences(full, incremental)
    assert not differences, "\n".join(difference.line() for difference in differences)


@pytest.fixture(scope="module")
def raw_days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("raw_days")
    days = {str(day): raw_folder(root, day) for day in
            (DAY - timedelta(days=2), DAY - timedelta(days=1), DAY, DAY + timedelta(days=7))}
    days["bad"] = raw_folder(root, DAY, bad_event=True)
    return days


def test_daily_runs_equal_full_rebuilds(raw_days: dict[str, Path], tmp_path: Path) -> None:
    daily = tmp_path / "daily" / "warehouse" / "retain.duckdb"
    full = tmp_path / "full" / "warehouse" / "retain.duckdb"

    first = _run(raw_days[str(DAY - timedelta(days=2))], daily, DAY - timedelta(days=2))
    assert first.exit_code == ExitCode.OK, first.errors
    assert first.plan is not None and not first.plan.incremental

    second = _run(raw_days[str(DAY - timedelta(days=1))], daily, DAY - timedelta(days=1))
    assert second.exit_code == ExitCode.OK, second.errors
    assert second.plan is not None and second.plan.incremental
    assert second.plan.first_day == date(2024, 5, 28)  # last processed May 31, minus 3 days

    published_before = daily.read_bytes()
    rejected = _run(raw_days["bad"], daily, DAY)
    assert rejected.exit_code == ExitCode.INPUT_REJECTED
    assert "usage_events.csv" in rejected.errors[0] and "occurred_at" in rejected.errors[0]
    assert daily.read_bytes() == published_before, "a rejected run publishes nothing"

    third = _run(raw_days[str(DAY)], daily, DAY)
    assert third.exit_code == ExitCode.OK, third.errors
    assert third.plan is not None and third.plan.first_day == date(2024, 5, 29)
    increment = third.plan.increment(daily.parent.parent / "raw")
    assert increment is not None
    assert "nps_responses" not in increment.unchanged and "users" in increment.unchanged
    assert _run(raw_days[str(DAY)], full, DAY, full_refresh=True).exit_code == ExitCode.OK
    _assert_identical(daily, full)
    # The late event is in: c2's May events are 8 daily ones (every 4th day from
    # May 1) and the login of May 30 that arrived on June 1.
    assert query(daily, "select events from fct_customer_activity_monthly "
                        "where customer_id = 'c2' and month = '2024-05-01'") == [(9,)]

    # A week without runs: the next run catches up every missed day.
    week_later = DAY + timedelta(days=7)
    caught_up = _run(raw_days[str(week_later)], daily, week_later)
    assert caught_up.exit_code == ExitCode.OK, caught_up.errors
    assert caught_up.plan is not None and caught_up.plan.incremental
    assert _run(raw_days[str(week_later)], full, week_later,
                full_refresh=True).exit_code == ExitCode.OK
    _assert_identical(daily, full)
    assert query(daily, "select max(date_day) from metrics_engagement_daily") == [(week_later,)]


def test_a_run_continues_only_a_build_file_it_matches(raw_days: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """Full instead of incremental, with the reason, whenever continuing could differ."""
    warehouse = tmp_path / "warehouse" / "retain.duckdb"
    raw = raw_days[str(DAY)]
    settings = Settings(raw_dir=raw, warehouse=warehouse, as_of=DAY)
    assert run_plan(settings).reason == "no earlier run's build file to continue"

    build_path(warehouse).parent.mkdir(parents=True)
    build_path(warehouse).write_bytes(b"")  # stands for the build file a run kept
    write_state(settings)
    state = read_state(warehouse)
    assert state is not None and state.processed_through == "2024-06-02"
    assert state.absent_tables == ["fx_rates"]
    plan = run_plan(replace(settings, as_of=DAY + timedelta(days=1)))
    assert plan.incremental and plan.first_day == date(2024, 5, 30)
    increment = plan.increment(raw)
    assert increment is not None and increment.unchanged == {
        "customers", "plans", "subscriptions", "invoices", "invoice_line_items", "users",
        "support_tickets", "nps_responses"}, "files as the last run validated them"
    assert plan.appended_from == datetime(2024, 5, 30)
    assert plan.dbt_vars() == {"processed_through": "2024-06-02"}
    assert run_plan(replace(settings, lookback_days=0)).first_day == DAY

    reasons = {
        "earlier day": replace(settings, as_of=DAY - timedelta(days=1)),
        "other settings": settings.with_overrides(mrr_change_threshold=0),
        "other raw folder": replace(settings, raw_dir=raw_days["bad"]),
        "asked": replace(settings, full_refresh=True),
        "other engine": replace(settings, engine="spark", spark_connection="thrift"),
    }
    plans = {name: run_plan(changed) for name, changed in reasons.items()}
    assert not any(plan.incremental for plan in plans.values())
    assert "before the last processed day 2024-06-02" in plans["earlier day"].reason
    assert ("settings, models, the loader or the raw checks changed"
            in plans["other settings"].reason)
    assert "raw folder changed" in plans["other raw folder"].reason
    assert "--full-refresh" in plans["asked"].reason
    assert plans["other engine"].reason == ("the last run built on dbt target dev, this "
                                            "one builds on spark_thrift")
