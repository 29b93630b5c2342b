"""`retain run`: load, build and publish one warehouse, with exit codes a scheduler can act on."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from pathlib import Path
from typing import Any

from retain.dbt import run_dbt
from retain.load import RawInputError, load_raw
from retain.publish import RunInProgressError, fresh_build_file, publish, run_lock


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


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_pipeline(raw_dir: Path, warehouse: Path, as_of: date,
                 extra_vars: dict[str, Any] | None = None,
                 progress: Callable[[str], None] = _stderr) -> RunReport:
    """Load raw_dir, build with dbt as of a date and publish to warehouse.

    Nothing is published unless every step passed.
    """
    try:
        with run_lock(warehouse):
            return _build_and_publish(raw_dir, warehouse, as_of, extra_vars, progress)
    except RunInProgressError as error:
        return RunReport(ExitCode.RUN_IN_PROGRESS, errors=[str(error)])


def _build_and_publish(raw_dir: Path, warehouse: Path, as_of: date,
                       extra_vars: dict[str, Any] | None,
                       progress: Callable[[str], None]) -> RunReport:
    report = RunReport(ExitCode.OK)
    built = fresh_build_file(warehouse)

    progress(f"[1/3] load raw files from {raw_dir}")
    started = time.perf_counter()
    try:
        report.raw_rows = load_raw(raw_dir, built, progress)
    except RawInputError as error:
        report.exit_code, report.errors = ExitCode.INPUT_REJECTED, [f"input rejected: {error}"]
        return report
    report.timings["load"] = time.perf_counter() - started

    progress(f"[2/3] dbt build as of {as_of.isoformat()}")
    outcome = run_dbt(["build"], built, as_of, extra_vars, progress)
    report.timings["dbt build"] = outcome.seconds
    report.dbt_counts = outcome.counts
    if not outcome.success:
        report.exit_code, report.errors = ExitCode.BUILD_FAILED, outcome.failures or [
            "dbt build failed"]
        return report

    progress(f"[3/3] publish {warehouse}")
    started = time.perf_counter()
    publish(built, warehouse)
    report.timings["publish"] = time.perf_counter() - started
    return report
