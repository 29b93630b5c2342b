"""Daily incremental runs: what the kept build file holds, and whether a run can continue it.

A run that publishes keeps its build file (raw tables; on DuckDB the
intermediate tables too, on Spark the tables of the Spark target) with a
state file beside it: the last processed as-of day, the dbt target and a
fingerprint of everything that shapes the numbers. The next run continues
that build when it can: it reloads the small raw tables whose files changed,
loads only the recent usage events, and dbt recomputes only the recent days
of the event-sized models (from `lookback_days` before the last processed
day, so late events are picked up). Anything that would make the kept tables
disagree with a full build (other settings, models or target, another raw
folder, an earlier as-of day) makes the run a full one instead, saying why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb

from retain.contract import RAW_SCHEMA, TABLES
from retain.load import absent_tables, file_digests
from retain.publish import build_path
from retain.settings import PROJECT_DIR, Settings
from retain.sql import sql_identifier
from retain.validation.aggregates import Increment

STATE_FILE = "state.json"
# What decides the numbers besides the metric settings: the dbt project and
# the loader's reading of the raw files, and the table checks an incremental run
# takes from the run it continues (retain.validation.aggregates.carried_over).
FINGERPRINTED = ("dbt_project.yml", "models", "macros", "seeds", "retain/contract.py",
                 "retain/load.py", "retain/validation/aggregates.py")


@dataclass(frozen=True)
class RunState:
    """What the kept build file holds: the last run that published from it."""

    processed_through: str  # as-of day, YYYY-MM-DD
    fingerprint: str
    raw_dir: str
    absent_tables: list[str]
    file_digests: dict[str, str]  # of the files reloaded whole (retain.load.file_digests)
    raw_rows: dict[str, int] = field(default_factory=dict)  # rows of every raw table
    dbt_target: str = "dev"  # profiles.yml target the tables were built on (DuckDB: dev)


# incremental_start_date() of a run that recomputes every day.
EVERY_DAY = date(1900, 1, 1)


@dataclass(frozen=True)
class RunPlan:
    """How a run builds: incrementally from a kept build file, or in full, and why."""

    incremental: bool
    reason: str
    processed_through: date | None = None
    first_day: date | None = None  # first day the incremental models recompute
    # Digests of the raw files the last run validated (RunState.file_digests).
    validated_digests: Mapping[str, str] = field(default_factory=dict)

    @property
    def appended_from(self) -> datetime | None:
        """From when an incremental run reloads the appended raw table (usage events)."""
        return datetime.combine(self.first_day, time()) if self.first_day else None

    def increment(self, raw_dir: Path) -> Increment | None:
        """What validation may leave out: the rows an incremental run did not load, and
        the tables whose files in raw_dir are as the last run validated them. Only
        validation asks: the files are hashed once a run."""
        if self.appended_from is None:
            return None
        unchanged = frozenset(table for table, digest in file_digests(raw_dir).items()
                              if self.validated_digests.get(table) == digest)
        return Increment(self.appended_from, unchanged)

    def first_recomputed_day(self, as_of: date) -> date:
        """The first day the incremental models recompute (macros/incremental.sql): a
        full run recomputes every day; never later than the day after as_of."""
        if self.first_day is None:
            return EVERY_DAY
        return min(self.first_day, as_of + timedelta(days=1))

    def dbt_vars(self) -> dict[str, str]:
        """The var that makes dbt's incremental models continue (macros/incremental.sql)."""
        return ({"processed_through": self.processed_through.isoformat()}
                if self.processed_through else {})

    def line(self) -> str:
        return ("incremental run: " if self.incremental else "full run: ") + self.reason


def state_path(warehouse: Path) -> Path:
    return build_path(warehouse).with_name(STATE_FILE)


def project_fingerprint(settings: Settings) -> str:
    """A hash of the metric settings and of every file that shapes the numbers."""
    digest = hashlib.sha256(json.dumps(settings.metrics(), sort_keys=True,
                                       default=str).encode())
    for name in FINGERPRINTED:
        root = PROJECT_DIR / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(PROJECT_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def read_state(warehouse: Path) -> RunState | None:
    """The state of the kept build file, if there is one it can be continued from."""
    path = state_path(warehouse)
    if not path.exists() or not build_path(warehouse).exists():
        return None
    try:
        return RunState(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None  # unreadable: a full run replaces it


def raw_row_counts(build_file: Path) -> dict[str, int]:
    """Rows of every raw table the build file holds: the next run compares its own."""
    with duckdb.connect(str(build_file), read_only=True) as con:
        counts = con.execute(" union all ".join(
            f"select '{table.name}', count(*) from {RAW_SCHEMA}.{sql_identifier(table.name)}"
            for table in TABLES)).fetchall()
    return {str(name): int(count) for name, count in counts}


def write_state(settings: Settings, raw_rows: Mapping[str, int] | None = None) -> None:
    """Record that the build file now holds settings.as_of (after it was published), with
    the rows of its raw tables (raw_row_counts) for the next run to compare."""
    state = RunState(settings.as_of.isoformat(), project_fingerprint(settings),
                     str(settings.raw_dir), sorted(absent_tables(settings.raw_dir)),
                     file_digests(settings.raw_dir), dict(raw_rows or {}), settings.dbt_target)
    path = state_path(settings.warehouse)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(asdict(state), indent=1))
    partial.replace(path)


def forget_state(warehouse: Path) -> None:
    """Before a full run rewrites the build file: a failed run leaves nothing to continue."""
    state_path(warehouse).unlink(missing_ok=True)


def run_plan(settings: Settings) -> RunPlan:
    """Whether this run continues the kept build file, and from which day."""
    if settings.full_refresh:
        return RunPlan(False, "--full-refresh asked for a full rebuild")
    state = read_state(settings.warehouse)
    if state is None:
        return RunPlan(False, "no earlier run's build file to continue")
    if state.dbt_target != settings.dbt_target:
        return RunPlan(False, f"the last run built on dbt target {state.dbt_target}, this "
                              f"one builds on {settings.dbt_target}")
    if state.raw_dir != str(settings.raw_dir):
        return RunPlan(False, f"the raw folder changed (was {state.raw_dir})")
    if state.absent_tables != sorted(absent_tables(settings.raw_dir)):
        return RunPlan(False, "the set of optional raw files present changed")
    if state.fingerprint != project_fingerprint(settings):
        return RunPlan(False, "metric settings, models, the loader or the raw checks "
                              "changed since the last run")
    processed = date.fromisoformat(state.processed_through)
    if settings.as_of < processed:
        return RunPlan(False, f"as-of day {settings.as_of} is before the last processed "
                              f"day {processed}")
    first_day = processed - timedelta(days=settings.lookback_days)
    return RunPlan(True, f"recomputes the days from {first_day} (last processed day "
                         f"{processed}, lookback {settings.lookback_days} days)",
                   processed, first_day, state.file_digests)
