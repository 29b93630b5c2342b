"""DuckDB: dbt builds in the build file that holds the raw tables; publishing swaps in a
copy of the readable relations with one rename, and keeps the build file for the next
incremental run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from retain.engines import Progress
from retain.incremental import RunPlan
from retain.interface import open_published
from retain.meta import write_meta
from retain.publish import (
    PUBLISHED_STORAGE_VERSION,
    build_path,
    dated_snapshot_path,
    prune_snapshots,
    publish,
    run_duckdb_config,
)
from retain.settings import Settings
from retain.sql import sql_literal


def define_run_dates(build_file: Path, settings: Settings, plan: RunPlan) -> None:
    """The run's as-of day and first recomputed day as DuckDB macros of the build file,
    which the models call when retain runs dbt (macros/as_of.sql, retain.dbt.DAILY_VARS):
    a date that changes every day stays out of dbt's --vars."""
    first_day = plan.first_recomputed_day(settings.as_of)
    with duckdb.connect(str(build_file), config=run_duckdb_config(settings)) as con:
        con.execute("create or replace macro main.retain_as_of_date() as "
                    f"date {sql_literal(settings.as_of.isoformat())}")
        con.execute("create or replace macro main.retain_incremental_start_date() as "
                    f"date {sql_literal(first_day.isoformat())}")


class DuckDBEngine:
    published_format = f"DuckDB file (storage version {PUBLISHED_STORAGE_VERSION})"

    def stage_raw(self, settings: Settings, plan: RunPlan, progress: Progress) -> None:
        """dbt reads the raw schema of the build file retain.load wrote; the run's dates
        go into the file beside it."""
        define_run_dates(build_path(settings.warehouse), settings, plan)

    def publish(self, settings: Settings, run_id: str, plan: RunPlan,
                progress: Progress) -> str | None:
        """Describe the run in the meta relation, then replace the published warehouse by
        the build file's readable relations with one atomic rename (unless it shows a
        later day and the run is not a --full-refresh); the dated snapshot either way."""
        progress(f"publish {settings.warehouse} (storage version {PUBLISHED_STORAGE_VERSION})")
        write_meta(build_path(settings.warehouse), settings, run_id)
        published = publish(build_path(settings.warehouse), settings.warehouse, settings.as_of,
                            run_duckdb_config(settings), replace_later=settings.full_refresh)
        removed = prune_snapshots(settings.warehouse, settings.kept_daily_snapshots,
                                  settings.as_of)
        notice = None if published.replaced_warehouse else (
            f"{settings.warehouse} keeps the later day it shows ({published.current_day}); "
            f"this run's day is in {published.dated_snapshot}; to publish {settings.as_of} "
            "in its place, run again with --full-refresh")
        progress(f"published {len(published.tables)} relations; snapshot of {settings.as_of}: "
                 f"{published.dated_snapshot}"
                 + (f"; removed {len(removed)} old snapshot(s)" if removed else ""))
        return notice

    def published_location(self, settings: Settings) -> Path:
        return settings.warehouse

    @contextmanager
    def open_published(self, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
        """The run's dated snapshot: the published file's copy, or the run's own day when
        the published file keeps a later one."""
        with open_published(dated_snapshot_path(settings.warehouse, settings.as_of)) as con:
            yield con
