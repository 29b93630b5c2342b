"""`retain run`: load, build and publish one warehouse, with exit codes a scheduler can act on."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retain.dbt import PRODUCTION_BUILD, run_dbt
from retain.load import RawInputError, load_raw
from retain.publish import (
    PUBLISHED_STORAGE_VERSION,
    RunInProgressError,
    fresh_build_file,
    publish,
    run_lock,
)
from retain.settings import report_dir_from_environment

if TYPE_CHECKING:
    from expectations.validate import ValidationResult


class ExitCode(IntEnum):
    OK = 0
    INPUT_REJECTED = 2
    BUILD_FAILED = 3
    RUN_IN_PROGRESS = 4


@dataclass
class RunReport:
    exit_code: ExitCode
    raw_rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    dbt_counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    validation: ValidationResult | None = None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_pipeline(raw_dir: Path, warehouse: Path, as_of: date,
                 extra_vars: dict[str, Any] | None = None,
                 progress: Callable[[str], None] = _stderr,
                 report_dir: Path | None = None) -> RunReport:
    """Load raw_dir, validate it, build with dbt as of a date and publish to warehouse.

    Nothing is published unless every step passed. The validation report goes
    to report_dir (default: env RETAIN_GX_OUTPUT, else gx_output/).
    """
    try:
        with run_lock(warehouse):
            return _build_and_publish(raw_dir, warehouse, as_of, extra_vars, progress,
                                      report_dir or report_dir_from_environment())
    except RunInProgressError as error:
        return RunReport(ExitCode.RUN_IN_PROGRESS, errors=[str(error)])


def _validate(raw_dir: Path, built: Path, as_of: date, extra_vars: dict[str, Any] | None,
              report_dir: Path, progress: Callable[[str], None]) -> ValidationResult:
    """Validate the loaded raw tables; GX is imported only when a run gets here."""
    from expectations.aggregates import FxSettings
    from expectations.validate import absent_tables, validate_raw

    settings = extra_vars or {}
    fx = FxSettings(reporting_currency=str(settings.get("reporting_currency", "USD")),
                    rate_month=str(settings.get("fx_rate_month", "invoice")), as_of=as_of)
    return validate_raw(built, report_dir, absent=absent_tables(raw_dir), fx=fx,
                        progress=progress)


def _build_and_publish(raw_dir: Path, warehouse: Path, as_of: date,
                       extra_vars: dict[str, Any] | None,
                       progress: Callable[[str], None], report_dir: Path) -> RunReport:
    report = RunReport(ExitCode.OK)
    built = fresh_build_file(warehouse)

    progress(f"[1/4] load raw files from {raw_dir}")
    started = time.perf_counter()
    try:
        report.raw_rows = load_raw(raw_dir, built, progress)
    except RawInputError as error:
        report.exit_code, report.errors = ExitCode.INPUT_REJECTED, [f"input rejected: {error}"]
        return report
    report.timings["load"] = time.perf_counter() - started

    progress("[2/4] validate the raw tables against the contract")
    started = time.perf_counter()
    report.validation = _validate(raw_dir, built, as_of, extra_vars, report_dir, progress)
    report.timings["validate"] = time.perf_counter() - started  # GX import included
    for warning in report.validation.warnings:
        progress(warning.line())
    if not report.validation.passed:
        report.exit_code = ExitCode.INPUT_REJECTED
        report.errors = [f"input rejected: {report.validation.report_text()}"]
        return report

    progress(f"[3/4] dbt build as of {as_of.isoformat()}")
    outcome = run_dbt(list(PRODUCTION_BUILD), built, as_of, extra_vars, progress)
    report.timings["dbt build"] = outcome.seconds
    report.dbt_counts = outcome.counts
    if not outcome.success:
        report.exit_code, report.errors = ExitCode.BUILD_FAILED, outcome.failures or [
            "dbt build failed"]
        return report

    progress(f"[4/4] publish {warehouse} (storage version {PUBLISHED_STORAGE_VERSION})")
    started = time.perf_counter()
    publish(built, warehouse)
    report.timings["publish"] = time.perf_counter() - started
    return report
