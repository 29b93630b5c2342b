"""What a run reads, builds and publishes, and the retry rule for a locked DuckDB file.

Settings reach the assets through one resource, read when a run starts (not
when the code loads), with the same environment variables and defaults as
`retain run`. The resource also holds retain's run lock for the whole run, so
that load, validation, dbt and publish share one build file and no second run
(Dagster's or `retain run`'s) can touch it meanwhile, and the run's plan (full or
incremental), made once and handed to every step as `retain run` hands it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from pydantic import Field, PrivateAttr

from retain.incremental import RunPlan, run_plan
from retain.publish import run_lock
from retain.settings import Settings, resolved_settings

RESOURCE_KEY = "retain"

# DuckDB's message when another process holds the file (stack-notes.md).
LOCK_MESSAGE = "Could not set lock on file"
LOCK_RETRIES = 3
LOCK_RETRY_SECONDS = 10


class WarehouseLockedError(Exception):
    """Another process holds a DuckDB file this step opens: transient, worth a retry."""


@contextmanager
def retried_when_locked(path: Path) -> Iterator[None]:
    """Retry the step when DuckDB (in this process or in dbt's) cannot lock path.

    Only the lock is retried: bad input, failed expectations and failed dbt
    tests raise as they are, and Dagster does not retry them (there is no
    RetryPolicy anywhere, so a step is retried only through this).
    """
    try:
        yield
    except (duckdb.IOException, DagsterDbtCliRuntimeError) as error:
        if LOCK_MESSAGE not in str(error):
            raise
        locked = WarehouseLockedError(f"{path} is locked by another process: "
                                      f"{str(error).strip().splitlines()[0]}")
        raise dg.RetryRequested(max_retries=LOCK_RETRIES,
                                seconds_to_wait=LOCK_RETRY_SECONDS) from locked


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the child processes started inside the block. A whole
    environment (retain.dbt.dbt_environment's) changes only the variables it sets anew."""
    changed = {name: value for name, value in values.items() if os.environ.get(name) != value}
    previous = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def last_complete_day(moment: datetime) -> date:
    """The day before moment in UTC: the newest day whose data is complete."""
    return moment.astimezone(UTC).date() - timedelta(days=1)


PartitionedContext = dg.AssetExecutionContext | dg.AssetCheckExecutionContext


class RetainRun(dg.ConfigurableResource):
    """One pipeline run: where it reads and publishes, the day it computes, its settings.

    Unset fields take `retain run`'s defaults (environment, retain.toml) when
    the run starts, through the same `resolved_settings`. While the run
    executes (one process: the executor is in-process) it holds the run lock
    beside the warehouse, as `retain run` does.
    """

    raw_dir: str | None = Field(
        default=None, description="Folder of raw files (default: env RETAIN_RAW_DIR, "
                                  "retain.toml, else data/raw).")
    warehouse: str | None = Field(
        default=None, description="Published DuckDB file (default: env RETAIN_DUCKDB_PATH, "
                                  "retain.toml, else warehouse/retain.duckdb).")
    report_dir: str | None = Field(
        default=None, description="Validation results and Data Docs (default: env "
                                  "RETAIN_VALIDATION_DIR, else validation/ beside the "
                                  "warehouse).")
    as_of_date: str | None = Field(
        default=None, description="YYYY-MM-DD for a run without a partition: compute the "
                                  "warehouse as of the end of this day (default: today, UTC). "
                                  "A partitioned run uses its partition's day.")
    full_refresh: bool = Field(
        default=False, description="Rebuild everything from the raw files instead of "
                                   "continuing the last run's build file (as `retain run "
                                   "--full-refresh`).")
    engine: str | None = Field(
        default=None, description="duckdb or spark (default: env RETAIN_ENGINE, retain.toml, "
                                  "else duckdb), as `retain run --engine`.")
    settings: dict[str, str] = Field(
        default_factory=dict, description="Metric settings of metrics.md as text, e.g. "
                                          "{mrr_change_threshold: '0'}, checked as "
                                          "`retain run --var` checks them.")
    _plan: RunPlan | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[RetainRun]:
        with run_lock(resolved_settings(warehouse=self.warehouse).warehouse):
            yield self

    def run_settings(self, context: PartitionedContext) -> Settings:
        """The Settings every pipeline step of the run takes; a partitioned run computes
        the warehouse as of its partition's day."""
        as_of = (date.fromisoformat(context.partition_key) if context.has_partition_key
                 else date.fromisoformat(self.as_of_date) if self.as_of_date else None)
        return resolved_settings(raw_dir=self.raw_dir, warehouse=self.warehouse,
                                 report_dir=self.report_dir, as_of=as_of,
                                 overrides=self.settings, full_refresh=self.full_refresh,
                                 engine=self.engine)

    def plan(self, settings: Settings) -> RunPlan:
        """The run's plan, made by its first step that asks (under the run lock) and handed
        to every other: a full run's load forgets the kept state, so a plan made again
        later in the run would differ from the one its load followed."""
        if self._plan is None:
            self._plan = run_plan(settings)
        return self._plan


