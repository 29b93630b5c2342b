"""DuckDB: dbt builds in the build file that holds the raw tables; publishing swaps in a
copy of the readable relations with one rename, and keeps the build file for the next
incremental run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from retain.engines import Progress
from retain.incremental import write_state
from retain.meta import write_meta
from retain.publish import (
    PUBLISHED_STORAGE_VERSION,
    build_path,
    prune_snapshots,
    publish,
    run_duckdb_config,
)
from retain.settings import Settings


class DuckDBEngine:
    published_format = f"DuckDB file (storage version {PUBLISHED_STORAGE_VERSION})"

    def stage_raw(self, settings: Settings, progress: Progress) -> None:
        """Nothing to do: dbt reads the raw schema of the build file retain.load wrote."""

    def publish(self, settings: Settings, run_id: str, progress: Progress) -> None:
        """Describe the run in the meta relation, then replace the published warehouse by
        the build file's readable relations with one atomic rename."""
        progress(f"publish {settings.warehouse} (storage version {PUBLISHED_STORAGE_VERSION})")
        write_meta(build_path(settings.warehouse), settings, run_id)
        published = publish(build_path(settings.warehouse), settings.warehouse, settings.as_of,
                            run_duckdb_config(settings))
        write_state(settings)
        removed = prune_snapshots(settings.warehouse, settings.kept_daily_snapshots)
        progress(f"published {len(published.tables)} relations; snapshot of {settings.as_of}: "
                 f"{published.dated_snapshot}" + ("" if published.replaced_warehouse else
                                                   f"; {settings.warehouse} keeps a later day")
                 + (f"; removed {len(removed)} old snapshot(s)" if removed else ""))

    def published_location(self, settings: Settings) -> Path:
        return settings.warehouse

    @contextmanager
    def open_published(self, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            yield con
