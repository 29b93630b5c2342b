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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from retain.dbt import DbtOutcome, build_arguments, dbt_environment, run_dbt
from retain.engines import StageError, engine_for
from retain.failures import (
    OUT_OF_MEMORY_REMEDY,
    ExitCode,
    machine_refusal,
    refused_by_others,
)
from retain.incremental import (
    RunPlan,
    forget_state,
    raw_row_counts,
    read_state,
    run_plan,
    write_state,
)
from retain.load import RawInputError, absent_tables, load_raw
from retain.publish import (
    RunInProgressError,
    build_path,
    check_not_held,
    fresh_build_file,
    run_duckdb_config,
    run_lock,
)
from retain.reports import keep_latest, run_report_dir, write_load_rejection, write_report_text
from retain.settings import PROCESS_RESERVE, Settings
from retain.validation.aggregates import FxSettings
from retain.validation.validate import ValidationResult, validate_raw

Progress = Callable[[str], None]


# What validation holds outside DuckDB besides PROCESS_RESERVE: Great Expectations
# (0.2 GiB imported), and the frames of the rows that may break a rule with GX's
# results on them (small unless much of a large file is bad).
VALIDATION_RESERVE = PROCESS_RESERVE + 512 * 1024 ** 2


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
    # What a person must not miss, repeated at the end of the summary.
    notices: list[str] = field(default_factory=list)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_step(settings: Settings, run_id: str, progress: Progress = _stderr,
              plan: RunPlan | None = None) -> dict[str, int]:
    """Load the raw files: into a fresh build file for a full run, into the kept one
    (recent usage events only) for an incremental run; rows per table.

    Raises RawInputError, after writing it to the run's validation report.
    """
    plan = plan or run_plan(settings)
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


def validate_step(settings: Settings, run_id: str, progress: Progress = _stderr,
                  plan: RunPlan | None = None) -> ValidationResult:
    """Validate the loaded raw tables of the build file against the contract; the
    results go to the run's own report folder."""
    report_dir = run_report_dir(settings, run_id)
    result = validate_raw(build_path(settings.warehouse), report_dir,
                          absent=absent_tables(settings.raw_dir), fx=fx_settings(settings),
                          progress=progress,
                          config=run_duckdb_config(settings, VALIDATION_RESERVE),
                          increment=(plan or run_plan(settings)).increment(settings.raw_dir))
    write_report_text(report_dir, result.report_text())
    keep_latest(report_dir, settings.kept_validation_runs)
    return result


def build_step(settings: Settings, progress: Progress = _stderr,
               plan: RunPlan | None = None) -> DbtOutcome:
    """`dbt build` (models, seeds, data tests) as of settings.as_of on the engine's target,
    after staging the validated raw tables for it; an incremental run's event-sized
    models recompute only their recent days."""
    started = time.perf_counter()
    plan = plan or run_plan(settings)
    try:
        stage_step(settings, plan, progress)
    except StageError as error:
        return DbtOutcome(False, failures=[str(error)], seconds=time.perf_counter() - started)
    outcome = run_dbt(build_arguments(settings, plan),
                      build_path(settings.warehouse), progress)
    outcome.seconds = time.perf_counter() - started
    return outcome


def stage_step(settings: Settings, plan: RunPlan, progress: Progress = _stderr) -> None:
    """Make the validated raw tables and the run's dates readable by the engine's dbt
    target."""
    engine_for(settings).stage_raw(settings, plan, progress)


def publish_step(settings: Settings, run_id: str, progress: Progress = _stderr,
                 plan: RunPlan | None = None) -> str | None:
    """Replace what readers see by this run's tables with one atomic step (a rename);
    the build (DuckDB's build file, Spark's tables) is kept, and its state recorded, for
    the next incremental run. A notice when readers keep seeing another day."""
    notice = engine_for(settings).publish(settings, run_id, plan or run_plan(settings),
                                          progress)
    write_state(settings, raw_row_counts(build_path(settings.warehouse)))
    return notice


def run_pipeline(settings: Settings, progress: Progress = _stderr) -> RunReport:
    """Load, validate, build and publish under the run lock; the report says how it went."""
    try:
        with run_lock(settings.warehouse):
            return _build_and_publish(settings, progress)
    except RunInProgressError as error:
        return RunReport(ExitCode.RUN_IN_PROGRESS, errors=[str(error)])
    except OSError as error:  # the lock beside the warehouse cannot be written
        refusal = machine_refusal(error)
        if refusal is None:
            raise
        return RunReport(ExitCode.MACHINE_REFUSED, errors=[f"lock: {refusal}"])


class StepFailed(Exception):
    """A step stopped for a reason with an exit code of its own; the line says what to do."""

    def __init__(self, exit_code: ExitCode, line: str) -> None:
        super().__init__(line)
        self.exit_code = exit_code


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Turn what the machine or another process refused during a step into StepFailed."""
    try:
        yield
    except Exception as error:
        refused = refused_by_others(error)
        if refused is None:
            raise
        exit_code, line = refused
        raise StepFailed(exit_code, f"{name}: {line}") from error


def _timed(report: RunReport, stage: str, started: float) -> None:
    report.timings[stage] = time.perf_counter() - started


# A raw table with fewer than this share of the rows the last published run loaded
# is named in a warning: a feed cut short or emptied by accident looks like this.
SHRUNK_TABLE_SHARE = 0.5


def shrunk_tables(previous: Mapping[str, int], now: Mapping[str, int]) -> list[str]:
    """A warning per raw table that lost most of its rows since the last published run."""
    return [f"[warning] {table}: {now[table]:,} rows, the last published run loaded "
            f"{previous[table]:,}; check that its file is complete"
            for table in sorted(now.keys() & previous.keys())
            if now[table] < SHRUNK_TABLE_SHARE * previous[table]]


def _build_and_publish(settings: Settings, progress: Progress) -> RunReport:
    plan = run_plan(settings)
    report = RunReport(ExitCode.OK, plan=plan)
    try:
        _run_steps(settings, plan, report, progress)
    except StepFailed as failure:
        report.exit_code, report.errors = failure.exit_code, [str(failure)]
    return report


def _run_steps(settings: Settings, plan: RunPlan, report: RunReport,
               progress: Progress) -> None:
    with _step("publish check"):
        # Before any work: a holder of the published file would make the publish wait.
        check_not_held(engine_for(settings).published_location(settings))
    last_run = read_state(settings.warehouse)

    progress(f"[1/4] load raw files from {settings.raw_dir}")
    started = time.perf_counter()
    try:
        with _step("load"):
            report.raw_rows = load_step(settings, report.run_id, progress, plan)
    except RawInputError as error:
        raise StepFailed(ExitCode.INPUT_REJECTED, f"input rejected: {error}") from error
    _timed(report, "load", started)
    if last_run is not None:
        report.notices += shrunk_tables(last_run.raw_rows, report.raw_rows)

    progress("[2/4] validate the raw tables against the contract")
    started = time.perf_counter()
    with _step("validate"):
        report.validation = validate_step(settings, report.run_id, progress, plan)
    _timed(report, "validate", started)  # GX import included
    report.notices += [warning.line() for warning in report.validation.warnings]
    for notice in report.notices:
        progress(notice)
    if not report.validation.passed:
        raise StepFailed(ExitCode.INPUT_REJECTED,
                         f"input rejected: {report.validation.report_text()}")

    progress(f"[3/4] dbt build as of {settings.as_of.isoformat()} on {settings.engine}")
    with _step("dbt build"):
        outcome = build_step(settings, progress, plan)
    report.timings["dbt build"] = outcome.seconds
    report.dbt_counts = outcome.counts
    if not outcome.success:
        report.exit_code, report.errors = _build_failure(settings, outcome)
        return

    started = time.perf_counter()
    with _step("publish"):
        notice = publish_step(settings, report.run_id, lambda line: progress(f"[4/4] {line}"),
                              plan)
    report.notices += [notice] if notice else []
    _timed(report, "publish", started)


def _build_failure(settings: Settings, outcome: DbtOutcome) -> tuple[ExitCode, list[str]]:
    """The exit code and lines of a failed build: the machine's refusal (memory, disk)
    with what to do, or the failing models and tests."""
    failures = outcome.failures or ["dbt build failed"]
    for failure in failures:
        if "out of memory" in failure.lower():
            limit = dbt_environment(build_path(settings.warehouse))["RETAIN_DUCKDB_MEMORY_LIMIT"]
            return ExitCode.MACHINE_REFUSED, [
                f"dbt build ran out of memory under DuckDB's limit of {limit} (the run's "
                f"limit less what dbt's own process needs): {failure}; "
                f"{OUT_OF_MEMORY_REMEDY}"]
        if "no space left on device" in failure.lower():
            return ExitCode.MACHINE_REFUSED, [
                f"dbt build: no space left on device: {failure}; free disk space (the build "
                f"and its spill folder are in {build_path(settings.warehouse).parent}) and "
                "run again"]
    return ExitCode.BUILD_FAILED, failures
