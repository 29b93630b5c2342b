"""When the pipeline runs: one job, a daily schedule and a sensor on the raw folder.

Both triggers compute the warehouse as of the last complete day, so that a
tick for a past day (a backfill, a missed tick caught up) computes that
day's view.
"""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.resources import last_complete_day, run_config
from retain.load import RawInputError, raw_files
from retain.settings import resolved_settings

DEFAULT_CRON = "0 6 * * *"  # 06:00 UTC

retain_pipeline = dg.define_asset_job(
    "retain_pipeline", selection=dg.AssetSelection.all(),
    tags={"retain/warehouse": "build"},  # queued one at a time (orchestration/dagster.yaml)
    description="`retain run` as assets: load the raw files, check them against the "
                "contract, dbt build as of a day, publish the warehouse.")


def _tags(as_of: str) -> dict[str, str]:
    return {"retain/as_of_date": as_of}


def daily_schedule(cron: str = DEFAULT_CRON) -> dg.ScheduleDefinition:
    """The pipeline every day at cron (UTC), as of the day before the scheduled time."""

    @dg.schedule(name="retain_daily", job=retain_pipeline, cron_schedule=cron,
                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING)
    def retain_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time or datetime.now(UTC)
        as_of = last_complete_day(scheduled)
        return dg.RunRequest(run_key=f"as_of_{as_of.isoformat()}", run_config=run_config(as_of),
                             tags=_tags(as_of.isoformat()))

    return retain_daily


def _fingerprint(paths: list[Path]) -> str:
    """Names, sizes and modification times of the raw files: changes when a file lands."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


@dg.sensor(name="retain_raw_files", job=retain_pipeline, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.STOPPED)
def retain_raw_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """A run when the files in RETAIN_RAW_DIR change, once every required table is there."""
    raw_dir = resolved_settings().raw_dir
    try:
        paths = [raw.path for raw in raw_files(raw_dir) if raw.path is not None]
    except RawInputError as error:
        return dg.SkipReason(f"waiting for raw files: {error}")
    fingerprint = _fingerprint(paths)
    if fingerprint == context.cursor:
        return dg.SkipReason(f"no new raw files in {raw_dir}")
    as_of = last_complete_day(datetime.now(UTC))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint, run_config=run_config(as_of),
                                    tags=_tags(as_of.isoformat()))],
        cursor=fingerprint)
