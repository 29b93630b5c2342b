"""What differs between the engines a run builds on, behind one small interface.

Both engines share the start of a run: retain.load types and normalises the
raw files into the DuckDB build file, and validation's set-based queries read
them there, so a file is accepted or rejected the same way whatever builds
on it. After that an engine makes the validated tables readable by its dbt
target (`stage_raw`), dbt builds and tests on that target, and the engine
publishes what readers need (`publish`) and opens it for the run summary
(`open_published`). retain/pipeline.py and the Dagster assets call these
and never ask which engine runs; `Settings.engine` picks one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import duckdb

from retain.incremental import RunPlan
from retain.settings import Settings

Progress = Callable[[str], None]


class StageError(RuntimeError):
    """The raw tables could not be made readable by the engine's dbt target."""


class Engine(Protocol):
    # What readers find at published_location, e.g. "Parquet files".
    published_format: str

    def stage_raw(self, settings: Settings, plan: RunPlan, progress: Progress) -> None:
        """Make the validated raw tables of the build file, and the run's dates, readable
        by dbt's target."""

    def publish(self, settings: Settings, run_id: str, plan: RunPlan,
                progress: Progress) -> str | None:
        """Replace what readers see by this run's interface tables (built as plan says),
        atomically; a notice for the end of the run when readers keep seeing something
        else."""

    def published_location(self, settings: Settings) -> Path:
        """Where readers find the published tables."""

    def open_published(self, settings: Settings) -> AbstractContextManager[
            duckdb.DuckDBPyConnection]:
        """A read-only DuckDB connection on the tables this run published (the run
        summary)."""


def engine_for(settings: Settings) -> Engine:
    """The engine settings.engine names; Spark's module is imported only when chosen."""
    if settings.engine == "spark":
        from retain.engines.spark import SparkEngine
        return SparkEngine()
    from retain.engines.duckdb import DuckDBEngine
    return DuckDBEngine()
