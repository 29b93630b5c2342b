"""The steps of a run, one function each, shared by `retain run` and the Dagster assets.

Every step takes the run's `Settings` and works on the build file beside
the published warehouse: load the raw files, validate them, `dbt build`,
publish. `run_pipeline` chains them under the run lock with exit codes a
scheduler can act on; nothing is published unless every step passed.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from expectations.aggregates import FxSettings
from expectations.validate import ValidationResult, validate_raw
from retain.dbt import DbtOutcome, build_arguments, run_dbt
from retain.engines import StageError, engine_for
from retain.incremental import RunPlan, forget_state, run_plan
from retain.load import RawInputError, absent_tables, load_raw
from retain.publish import (
    RunInProgressError,
    build_path,
    fresh_build_file,
    run_duckdb_config,
    run_lock,
)
from retain.reports import keep_latest, run_report_dir, write_load_rejection, write_report_text
from retain.settings import PROCESS_RESERVE, Settings

Progress = Callable[[str], None]


# What validation holds outside DuckDB besides PROCESS_RESERVE: Great Expectations
# (0.2 GiB imported), and the frames of the rows that may break a rule with GX's
# results on them (small unless much of a large file is bad).
VALIDATION_RESERVE = PROCESS_RESERVE + 512 * 1024 ** 2


class ExitCode(IntEnum):
    OK = 0
    INPUT_REJECTED = 2
    BUILD_FAILED = 3
    RUN_IN_PROGRESS = 4


@dataclass
class RunReport:
    exit_code: ExitCode
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    raw_rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    dbt_counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    validation: ValidationResult | None = None
    plan: RunPlan | None = None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_step(settings: Settings, run_id: str, progress: Progress = _stderr) -> dict[str, int]:
    """Load the raw files: into a fresh build file for a full run, into the kept one
    (recent usage events only) for an incremental run; rows per table.

    Raises RawInputError, after writing it to the run's validation report.
    """
    plan = run_plan(settings)
    progress(plan.line())
    if not plan.incremental:
        forget_state(settings.warehouse)
    built = build_path(settings.warehouse) if plan.incremental else fresh_build_file(
        settings.warehouse)
    try:
        return load_raw(settings.raw_dir, built, progress,
                        run_duckdb_config(settings, PROCESS_RESERVE),
                        plan.appended_from)
    except RawInputError as error:
        report_dir = run_report_dir(settings, run_id)
        write_load_rejection(report_dir, error)
        keep_latest(report_dir, settings.kept_validation_runs)
        raise


def fx_settings(settings: Settings) -> FxSettings:
    """The settings that decide which fx rates a conversion needs, as dbt reads them."""
    return FxSettings(reporting_currency=settings.metric("reporting_currency"),
                      rate_month=settings.metric("fx_rate_month"), as_of=settings.as_of)


def validate_step(settings: Settings, run_id: str,
                  progress: Progress = _stderr) -> ValidationResult:
    """Validate the loaded raw tables of the build file against the contract; the
    results go to the run's own report folder."""
    report_dir = run_report_dir(settings, run_id)
    result = validate_raw(build_path(settings.warehouse), report_dir,
                          absent=absent_tables(settings.raw_dir), fx=fx_settings(settings),
                          progress=progress,
                          config=run_duckdb_config(settings, VALIDATION_RESERVE),
                          increment=run_plan(settings).increment(settings.raw_dir))
    write_report_text(report_dir, result.report_text())
    keep_latest(report_dir, settings.kept_validation_runs)
    return result


def build_step(settings: Settings, progress: Progress = _stderr) -> DbtOutcome:
    """`dbt build` (models, seeds, data tests) as of settings.as_of on the engine's target,
    after staging the validated raw tables for it; an incremental run's event-sized
    models recompute only their recent days."""
    started = time.perf_counter()
    try:
        stage_step(settings, progress)
    except StageError as error:
        return DbtOutcome(False, failures=[str(error)], seconds=time.perf_counter() - started)
    outcome = run_dbt(build_arguments(settings, run_plan(settings)),
                      build_path(settings.warehouse), progress)
    outcome.seconds = time.perf_counter() - started
    return outcome


def stage_step(settings: Settings, progress: Progress = _stderr) -> None:
    """Make the validated raw tables readable by the engine's dbt target."""
    engine_for(settings).stage_raw(settings, progress)


def publish_step(settings: Settings, run_id: str, progress: Progress = _stderr) -> None:
    """Replace what readers see by this run's tables with one atomic step (a rename);
    DuckDB's build file is kept for the next incremental run."""
    engine_for(settings).publish(settings, run_id, progress)


def run_pipeline(settings: Settings, progress: Progress = _stderr) -> RunReport:
    """Load, validate, build and publish under the run lock; the report says how it went."""
    try:
        with run_lock(settings.warehouse):
            return _build_and_publish(settings, progress)
    except RunInProgressError as error:
        return RunReport(ExitCode.RUN_IN_PROGRESS, errors=[str(error)])


def _timed(report: RunReport, stage: str, started: float) -> None:
    report.timings[stage] = time.perf_counter() - started


def _build_and_publish(settings: Settings, progress: Progress) -> RunReport:
    report = RunReport(ExitCode.OK, plan=run_plan(settings))

    progress(f"[1/4] load raw files from {settings.raw_dir}")
    started = time.perf_counter()
    try:
        report.raw_rows = load_step(settings, report.run_id, progress)
    except RawInputError as error:
        report.exit_code, report.errors = ExitCode.INPUT_REJECTED, [f"input rejected: {error}"]
        return report
    _timed(report, "load", started)

    progress("[2/4] validate the raw tables against the contract")
    started = time.perf_counter()
    report.validation = validate_step(settings, report.run_id, progress)
    _timed(report, "validate", started)  # GX import included
    for warning in report.validation.warnings:
        progress(warning.line())
    if not report.validation.passed:
        report.exit_code = ExitCode.INPUT_REJECTED
        report.errors = [f"input rejected: {report.validation.report_text()}"]
        return report

    progress(f"[3/4] dbt build as of {settings.as_of.isoformat()} on {settings.engine}")
    outcome = build_step(settings, progress)
    report.timings["dbt build"] = outcome.seconds
    report.dbt_counts = outcome.counts
    if not outcome.success:
        report.exit_code = ExitCode.BUILD_FAILED
        report.errors = outcome.failures or ["dbt build failed"]
        return report

    started = time.perf_counter()
    publish_step(settings, report.run_id, lambda line: progress(f"[4/4] {line}"))
    _timed(report, "publish", started)
    return report
