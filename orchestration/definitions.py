"""The Dagster code location: `dagster dev -m orchestration.definitions`.

The definitions are built when Dagster loads the code location, not when
the module is imported: that is when the dbt manifest is looked up (and
parsed if missing) and the schedule's cron is read.
"""

import os
from pathlib import Path

import dagster as dg

from orchestration.assets import (
    build_dbt_assets,
    build_publish_asset,
    build_raw_tables,
    mart_keys,
)
from orchestration.checks import raw_contract_checks
from orchestration.project import dbt_cli, dbt_target_path_from_environment, retain_dbt_project
from orchestration.resources import RESOURCE_KEY, RetainRun
from orchestration.schedules import (
    DEFAULT_CRON,
    DEFAULT_PARTITIONS_START,
    as_of_partitions,
    daily_schedule,
    full_rebuild_job,
    pipeline_job,
    raw_files_sensor,
)


def build_definitions(dbt_target_path: Path, cron: str = DEFAULT_CRON,
                      partitions_start: str = DEFAULT_PARTITIONS_START) -> dg.Definitions:
    """Assets, checks, job, schedule and sensor over the dbt manifest in dbt_target_path,
    partitioned by as-of day from partitions_start.

    The executor is in-process: DuckDB admits one process per file, so the
    steps that open it must not run in parallel processes.
    """
    project = retain_dbt_project(dbt_target_path)
    partitions = as_of_partitions(partitions_start)
    dbt_models = build_dbt_assets(project, partitions)
    job = pipeline_job(partitions)
    return dg.Definitions(
        assets=[build_raw_tables(partitions), dbt_models,
                build_publish_asset(mart_keys(dbt_models), partitions)],
        asset_checks=[raw_contract_checks],
        jobs=[job, full_rebuild_job(partitions)],
        schedules=[daily_schedule(job, cron)],
        sensors=[raw_files_sensor(job)],
        resources={RESOURCE_KEY: RetainRun(), "dbt": dbt_cli(project)},
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions `dagster` loads; the cron comes from RETAIN_SCHEDULE_CRON and the
    first as-of partition from RETAIN_PARTITIONS_START, if set."""
    return build_definitions(dbt_target_path_from_environment(),
                             os.environ.get("RETAIN_SCHEDULE_CRON") or DEFAULT_CRON,
                             os.environ.get("RETAIN_PARTITIONS_START")
                             or DEFAULT_PARTITIONS_START)
