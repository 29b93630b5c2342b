"""`make daily-check`: daily incremental runs equal full rebuilds on the generated sample.

Plays consecutive days on the generated sample (default 2,000 customers,
seed 42): each day's raw folder holds the events known by the end of that
day, a twentieth of each day's events arriving a day late (inside the
lookback). A first run builds the day before the first checked day in full;
then every day an incremental run publishes, a full rebuild of the same
folder is made beside it, and every interface table of the two must be
identical cell for cell. `make bench` uses the same daily folders to time
an incremental run against a full one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb

from retain.generate import generate_raw_data
from retain.interface import PUBLISHED_RELATIONS
from retain.load import raw_files
from retain.pipeline import ExitCode, run_pipeline
from retain.settings import PROJECT_DIR, Settings, quiet_telemetry
from retain.sql import sql_literal
from tools.compare import interface_differences

DEFAULT_DAY = date(2026, 12, 1)  # the three days cross a month end
WORK_DIR = PROJECT_DIR / "data" / "daily_check"  # git-ignored, like data/
LATE_SHARE = 20  # one event in LATE_SHARE reaches the raw folder a day late
EVENTS = "usage_events"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _reader(path: Path) -> str:
    if path.suffix == ".parquet":
        return f"read_parquet({sql_literal(path)})"
    return f"read_csv({sql_literal(path)}, header = true, all_varchar = true)"


def write_daily_drop(source: Path, drop: Path, known_on: date) -> None:
    """Replace drop with the raw folder as known at the end of known_on: every table of
    source as it is, usage events up to known_on except the late ones of that day."""
    shutil.rmtree(drop, ignore_errors=True)
    drop.mkdir(parents=True)
    for raw in raw_files(source):
        if raw.path is None:
            continue
        if raw.table.name != EVENTS:
            shutil.copy2(raw.path, drop / raw.path.name)
            continue
        day = "cast(timezone('UTC', cast(occurred_at as timestamptz)) as date)"
        late = f"hash(event_id) % {LATE_SHARE} = 0"
        known = f"{day} < date '{known_on}' or ({day} = date '{known_on}' and not {late})"
        options = "format parquet" if raw.path.suffix == ".parquet" else "format csv, header"
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute(f"copy (select * from {_reader(raw.path)} where {known}) "
                        f"to {sql_literal(drop / raw.path.name)} ({options})")


def sample(customers: int, seed: int, last_day: date, file_format: str = "auto") -> Path:
    """The generated sample ending on last_day, reused while it exists."""
    folder = WORK_DIR / f"raw_{customers}_{seed}_{last_day}_{file_format}"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        _progress(f"generating {customers:,} customers (seed {seed}) into {folder}")
        generate_raw_data(folder, customers=customers, seed=seed, end_date=last_day,
                          file_format=file_format)
        (folder / ".complete").write_text("")
    return folder


def check_days(customers: int, seed: int, last_day: date, days: int,
               file_format: str = "auto") -> int:
    """Play the days; the number of days whose incremental and full results differ."""
    source = sample(customers, seed, last_day, file_format)
    first = last_day - timedelta(days=days)
    daily = Settings(raw_dir=WORK_DIR / "drop_daily", as_of=first,
                     warehouse=WORK_DIR / "daily" / "retain.duckdb")
    full = Settings(raw_dir=WORK_DIR / "drop_full", as_of=first, full_refresh=True,
                    warehouse=WORK_DIR / "full" / "retain.duckdb")
    for settings in (daily, full):
        shutil.rmtree(settings.warehouse.parent, ignore_errors=True)
    write_daily_drop(source, daily.raw_dir, first)
    _progress(f"{first}: full run to start from")
    _checked_run(replace(daily, full_refresh=True))
    failed = 0
    for offset in range(1, days + 1):
        day = first + timedelta(days=offset)
        for settings in (daily, full):
            write_daily_drop(source, settings.raw_dir, day)
        incremental_seconds = _checked_run(replace(daily, as_of=day))
        full_seconds = _checked_run(replace(full, as_of=day))
        differences = interface_differences(full.warehouse, daily.warehouse)
        failed += bool(differences)
        print(f"{day}: incremental run {incremental_seconds:.1f}s, full run "
              f"{full_seconds:.1f}s; {len(PUBLISHED_RELATIONS) - len(differences)} of "
              f"{len(PUBLISHED_RELATIONS)} interface tables identical", flush=True)
        for difference in differences:
            print(f"  {difference.line()}", flush=True)
    return failed


def _checked_run(settings: Settings) -> float:
    started = time.perf_counter()
    report = run_pipeline(settings, progress=lambda _: None)
    if report.exit_code != ExitCode.OK:
        raise SystemExit(f"run as of {settings.as_of} failed: {report.errors}")
    assert report.plan is not None
    _progress(f"  {settings.as_of} {report.plan.line()}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.daily_check",
        description="Check that daily incremental runs equal full rebuilds, every interface "
                    "table cell for cell, over consecutive days of the generated sample.")
    parser.add_argument("--customers", type=int, default=2000, help="default 2000")
    parser.add_argument("--seed", type=int, default=42, help="default 42")
    parser.add_argument("--last-day", type=date.fromisoformat, default=DEFAULT_DAY,
                        metavar="YYYY-MM-DD", help=f"last day checked (default {DEFAULT_DAY})")
    parser.add_argument("--days", type=int, default=3, help="days checked (default 3)")
    parser.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto",
                        help="raw file format (default auto: CSV below 20,000 customers)")
    args = parser.parse_args(argv)
    quiet_telemetry()
    failed = check_days(args.customers, args.seed, args.last_day, args.days, args.format)
    print("every day identical" if not failed else f"{failed} day(s) differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
