"""When the pipeline runs: a job over daily as-of partitions (incremental when it can,
and its full-rebuild twin), a daily schedule and a sensor on the raw folder.

A partition is an as-of day: its run computes the warehouse as of the end
of that day. Both triggers ask for the last complete day, and a range of
past days is a backfill of partitions (UI or `dagster job backfill`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.resources import RESOURCE_KEY, last_complete_day
from retain.load import RawInputError, raw_files
from retain.settings import resolved_settings

if TYPE_CHECKING:  # the type define_asset_job returns; dagster does not export its name
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

DEFAULT_CRON = "0 6 * * *"  # 06:00 UTC
DEFAULT_PARTITIONS_START = "2024-01-01"


def as_of_partitions(start: str = DEFAULT_PARTITIONS_START) -> dg.DailyPartitionsDefinition:
    """One partition per as-of day in UTC; a day becomes a partition once it has ended."""
    return dg.DailyPartitionsDefinition(start_date=start, timezone="UTC")


def pipeline_job(partitions: dg.PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    """The daily job: incremental when the last run's build file can be continued."""
    return dg.define_asset_job(
        "retain_pipeline", selection=dg.AssetSelection.all(), partitions_def=partitions,
        tags={"retain/warehouse": "build"},  # queued one at a time (orchestration/dagster.yaml)
        description="`retain run` as assets for one as-of day (the partition): load the raw "
                    "files, check them against the contract, dbt build, publish. Continues "
                    "the last run's build file when it can (recent days only).")


def full_rebuild_job(partitions: dg.PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    """The same assets with full_refresh set: everything rebuilt from the raw files."""
    return dg.define_asset_job(
        "retain_full_rebuild", selection=dg.AssetSelection.all(), partitions_def=partitions,
        tags={"retain/warehouse": "build"},
        config={"resources": {RESOURCE_KEY: {"config": {"full_refresh": True}}}},
        description="`retain run --full-refresh` as assets: rebuild every table from the raw "
                    "files (after a change to past rows outside the lookback).")


def _tags(as_of: str) -> dict[str, str]:
    return {"retain/as_of_date": as_of}


def daily_schedule(job: UnresolvedAssetJobDefinition,
                   cron: str = DEFAULT_CRON) -> dg.ScheduleDefinition:
    """The pipeline every day at cron (UTC), for the partition of the day before."""

    @dg.schedule(name="retain_daily", job=job, cron_schedule=cron,
                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING)
    def retain_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time or datetime.now(UTC)
        as_of = last_complete_day(scheduled).isoformat()
        return dg.RunRequest(run_key=f"as_of_{as_of}", partition_key=as_of, tags=_tags(as_of))

    return retain_daily


def _fingerprint(paths: list[Path]) -> str:
    """Names, sizes and modification times of the raw files: changes when a file lands."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def raw_files_sensor(job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(name="retain_raw_files", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.STOPPED)
    def retain_raw_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        """A run for the last complete day when the files in the raw folder change, once
        every required table is there."""
        raw_dir = resolved_settings().raw_dir
        try:
            paths = [raw.path for raw in raw_files(raw_dir) if raw.path is not None]
        except RawInputError as error:
            return dg.SkipReason(f"waiting for raw files: {error}")
        fingerprint = _fingerprint(paths)
        if fingerprint == context.cursor:
            return dg.SkipReason(f"no new raw files in {raw_dir}")
        as_of = last_complete_day(datetime.now(UTC)).isoformat()
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=fingerprint, partition_key=as_of,
                                        tags=_tags(as_of))],
            cursor=fingerprint)

    return retain_raw_files
