"""Validate the loaded raw tables against the contract with Great Expectations.

Runs on the `raw` schema of a DuckDB file that retain.load filled, before
anything is built: each present table's row suite over the rows that may
break a rule (retain.validation.frames.suspect_rows), in chunks, then its table
suite over the counts DuckDB computed. Writes the full GX
results (JSON) and the Data Docs site to a report folder, and returns what a
person needs to act: per failed expectation the table, column, rule, how many
rows broke it and a few samples. Contract rules block; the rest warn.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from retain.contract import TABLES, Table, appended_rows
from retain.validation.aggregates import (
    FxSettings,
    Increment,
    TableCheck,
    carried_over,
    relation,
    table_checks,
)
from retain.validation.frames import SAMPLE_SIZE, check_frame, row_chunks, suspect_rows
from retain.validation.rules import row_checks

DEFAULT_CHUNK_ROWS = 1_000_000
RESULTS_FILE = "validation.json"
DATA_DOCS_FOLDER = "data_docs"


@dataclass(frozen=True)
class Failure:
    table: str
    column: str | None
    expected: str
    observed: str
    rows: int | None
    samples: list[str]
    blocking: bool

    def line(self) -> str:
        where = self.table + (f".{self.column}" if self.column else "")
        samples = f"; e.g. {'; '.join(self.samples)}" if self.samples else ""
        severity = "blocking" if self.blocking else "warning"
        return f"[{severity}] {where}: expected {self.expected}; {self.observed}{samples}"


@dataclass
class ValidationResult:
    failures: list[Failure]
    report_dir: Path
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    data_docs: bool = True  # GX ran and wrote Data Docs (only when a rule had rows to decide)

    @property
    def blocking_failures(self) -> list[Failure]:
        return [failure for failure in self.failures if failure.blocking]

    @property
    def warnings(self) -> list[Failure]:
        return [failure for failure in self.failures if not failure.blocking]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def report_text(self) -> str:
        verdict = ("passed" if self.passed
                   else f"failed: {len(self.blocking_failures)} blocking expectation(s)")
        lines = [f"raw validation {verdict}, {len(self.warnings)} warning(s), "
                 f"{sum(self.rows.values()):,} rows in {self.seconds:.1f}s"]
        lines += [failure.line() for failure in self.failures]
        docs = (f"data docs: {self.report_dir / DATA_DOCS_FOLDER / 'index.html'}"
                if self.data_docs else "no data docs: no row could break a rule and every "
                "table check passed, so Great Expectations had nothing to decide")
        lines.append(f"full results: {self.report_dir / RESULTS_FILE}; {docs}")
        return "\n".join(lines)


def _gx_context(report_dir: Path) -> Any:
    """An ephemeral GX context: no project files, no analytics, no progress bars,
    one Data Docs site under report_dir."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # read when GX is imported
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every frame under 1 GB with a hash of all its rows: 70%
    # of its time on a chunk of a million events, for a marker nothing reads.
    pandas_execution_engine.HASH_THRESHOLD = 0
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.get_site_names()):
        context.delete_data_docs_site(site)
    context.add_data_docs_site("retain", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(report_dir / DATA_DOCS_FOLDER)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return context


def _checkpoint(context: Any, suite: Any, index_columns: list[str]) -> Any:
    """A checkpoint validating one suite against whichever frame it is given."""
    import great_expectations as gx

    batch = (context.data_sources.all()["raw"].add_dataframe_asset(suite.name)
             .add_batch_definition_whole_dataframe(suite.name))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=context.suites.add(suite)))
    return context.checkpoints.add(gx.Checkpoint(
        name=suite.name, validation_definitions=[definition],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE,
                       "unexpected_index_column_names": index_columns}))


def _raised(info: Any) -> str | None:
    """The message of an exception GX caught while evaluating, if any."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "an error").splitlines()[0]
    return next((found for value in info.values() if (found := _raised(value))), None)


def _text(value: Any) -> str:
    """A sample value as a person writes it: null, a date, a timestamp, a number."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    text = str(value)
    return "null" if text in {"NaT", "nan", "None", "<NA>"} else text


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'} broke it"


def _row_samples(result: dict[str, Any], index_columns: list[str]) -> list[str]:
    """Offending values, each with the key of its row when GX reports it."""
    indexed = result.get("partial_unexpected_index_list") or []
    if indexed and isinstance(indexed[0], dict):
        return [" ".join(f"{name}={_text(value)}" for name, value in
                         sorted(row.items(), key=lambda item: item[0] not in index_columns))
                for row in indexed]
    return [_text(value) for value in result.get("partial_unexpected_list") or []]


def _row_failure(outcome: Any, index_columns: list[str]) -> Failure:
    """One failed row expectation on one chunk."""
    config, result = outcome.expectation_config, outcome.result or {}
    error = _raised(outcome.exception_info)
    count = result.get("unexpected_count")
    observed = (f"could not be evaluated: {error}" if error
                else _rows(count) if count is not None
                else f"observed {result.get('observed_value')}")
    return Failure(config.meta["table"], config.meta["column"], config.meta["rule"], observed,
                   count, _row_samples(result, index_columns), config.severity == "critical")


def _summed(earlier: Failure, later: Failure) -> Failure:
    """The same expectation failing on two chunks: rows added, first samples kept."""
    if earlier.rows is None or later.rows is None:
        return earlier
    total = earlier.rows + later.rows
    return replace(earlier, observed=_rows(total), rows=total,
                   samples=(earlier.samples + later.samples)[:SAMPLE_SIZE])


def _table_failures(validation: Any, table: Table, checks: list[TableCheck],
                    samples: dict[str, list[str]]) -> list[Failure]:
    by_name = {check.name: check for check in checks}
    failures = []
    for outcome in validation.results:
        if outcome.success:
            continue
        check = by_name[outcome.expectation_config.kwargs["column"]]
        error = _raised(outcome.exception_info)
        [count] = (outcome.result or {}).get("partial_unexpected_list") or [None]
        observed = (f"could not be evaluated: {error}" if error or count is None
                    else f"{count:,} {check.counting}")
        failures.append(Failure(table.name, check.column, check.rule, observed, count,
                                samples[check.name], check.blocking))
    return failures


def _index_columns(table: Table) -> list[str]:
    return [table.primary_key] if table.primary_key else list(table.unique_together)


def _counts(con: duckdb.DuckDBPyConnection, table: Table, where: str | None) -> tuple[int, int]:
    """The rows a validation reads (matching where, when given) and how many of them may
    break a row rule (frames.suspect_rows), in one pass."""
    query = (f"select count(*), count(*) filter (where {suspect_rows(table)}) "
             f"from {relation(table.name)}" + (f" where {where}" if where else ""))
    [(rows, suspects)] = con.execute(query).fetchall()
    return int(rows), int(suspects)


@dataclass
class _TableScan:
    """What DuckDB found in one table before GX: its rows, the rows that may break a row
    rule, and the frame of table-check counts with samples."""

    table: Table
    unchanged: bool  # an incremental run's table whose file did not change
    rows: int
    suspects: int
    where: str | None
    checks: list[TableCheck]
    frame: pd.DataFrame
    samples: dict[str, list[str]]
    carried: list[TableCheck]  # passed in the run continued, on the same rows

    @property
    def clean(self) -> bool:
        """No row may break a row rule and every table check is within its bounds: every
        expectation would pass, so GX has nothing to decide."""
        counts = self.frame.iloc[0] if len(self.frame.columns) else {}
        return self.suspects == 0 and all(
            check.min_rows <= counts[check.name]
            and (check.max_rows is None or counts[check.name] <= check.max_rows)
            for check in self.checks)


def _scan_table(con: duckdb.DuckDBPyConnection, table: Table, absent: frozenset[str],
                fx: FxSettings, increment: Increment | None) -> _TableScan:
    # An incremental run checks only the rows it loaded (rows of earlier runs
    # passed then); a table whose file did not change gets no row checks, and the
    # table checks of unchanged tables only that found nothing are not run again.
    unchanged = increment is not None and table.name in increment.unchanged
    appended = appended_rows(table, increment.appended_from if increment else None)
    rows, suspects = (0, 0) if unchanged else _counts(con, table, appended)
    every_check = table_checks(table, absent, fx, increment)
    carried = [check for check in every_check if carried_over(check, increment)]
    checks = [check for check in every_check if check not in carried]
    frame, samples = check_frame(con, checks)
    return _TableScan(table, unchanged, rows, suspects, appended, checks, frame, samples,
                      carried)


def _validate_table(context: Any, con: duckdb.DuckDBPyConnection, scan: _TableScan,
                    chunk_rows: int, gx_results: list[dict[str, Any]]) -> list[Failure]:
    """GX's verdict on one table: its row suite on the rows that may break a rule, its
    table suite on the frame of check counts."""
    table = scan.table
    index_columns = _index_columns(table)
    # Imported here: Great Expectations takes seconds to import, which only a
    # validation with something to decide should pay.
    from retain.validation.suites import row_suite, table_suite

    rows_checkpoint = _checkpoint(context, row_suite(table), index_columns)
    row_failures: dict[int, Failure] = {}  # by position in the suite
    # GX sees only the rows that may break a rule; the others pass every expectation.
    suspects = (suspect_rows(table) if scan.where is None
                else f"{scan.where} and {suspect_rows(table)}")
    for chunk in [] if scan.unchanged else row_chunks(con, table, chunk_rows, suspects):
        for validation in rows_checkpoint.run(
                batch_parameters={"dataframe": chunk}).run_results.values():
            for position, outcome in enumerate(validation.results):
                if not outcome.success:
                    failure = _row_failure(outcome, index_columns)
                    row_failures[position] = (_summed(row_failures[position], failure)
                                              if position in row_failures else failure)
            gx_results.append(validation.to_json_dict())

    failures = list(row_failures.values())
    for validation in _checkpoint(context, table_suite(table, scan.checks), []).run(
            batch_parameters={"dataframe": scan.frame}).run_results.values():
        failures += _table_failures(validation, table, scan.checks, scan.samples)
        gx_results.append(validation.to_json_dict())
    return failures


def _passed_in_duckdb(scans: list[_TableScan]) -> dict[str, Any]:
    """What validation.json says of a validation every rule passed without GX: per table,
    the rows read, the row rules none of them may break, and each table check's count."""
    return {scan.table.name: {
        "rows": scan.rows,
        "row_rules": len(row_checks(scan.table)),
        "rows_that_may_break_a_row_rule": scan.suspects,
        "table_checks": [{"column": check.column, "rule": check.rule,
                          "observed": int(scan.frame.iloc[0][check.name])}
                         for check in scan.checks],
    } for scan in scans}


def validate_raw(warehouse: Path, report_dir: Path, *,
                 absent: frozenset[str] = frozenset(), fx: FxSettings | None = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 progress: Callable[[str], None] = lambda _: None,
                 config: dict[str, str] | None = None,
                 increment: Increment | None = None) -> ValidationResult:
    """Validate every present raw table of warehouse; write results to report_dir.

    DuckDB first selects, in every table, the rows that may break a row rule and
    computes the table checks. When none may and every check passes, Great
    Expectations (seconds to import) has nothing to decide and is not started: the
    results say which rules ran and passed. Otherwise GX validates every table and
    writes Data Docs.

    increment: what an incremental run loaded; row checks then read only the
    rows it loaded, and keys and relationships of an appended table only
    those rows'.

    The DuckDB connection is read-only and closed before returning, so that
    dbt can open the file next.
    """
    started = time.perf_counter()
    fx = fx or FxSettings()
    scans: list[_TableScan] = []
    failures: list[Failure] = []
    gx_results: list[dict[str, Any]] = []
    context = None
    with duckdb.connect(str(warehouse), read_only=True, config=config or {}) as con:
        con.execute("set enable_progress_bar = false")
        for table in TABLES:
            if table.name in absent:
                progress(f"validated {table.name:<20} absent (optional): nothing to check")
                continue
            table_started = time.perf_counter()
            scans.append(scan := _scan_table(con, table, absent, fx, increment))
            carried = (f", {len(scan.carried)} table check(s) carried over (tables unchanged)"
                       if scan.carried else "")
            progress(f"checked   {table.name:<20} {scan.rows:>12,}{_scope(table, increment)}"
                     f"{carried}, {scan.suspects:,} may break a row rule, "
                     f"{'every rule passed' if scan.clean else 'for GX to decide'} "
                     f"in {time.perf_counter() - table_started:.1f}s")
        if not all(scan.clean for scan in scans):
            context = _gx_context(report_dir)
            context.data_sources.add_pandas("raw")
            for scan in scans:
                table_started = time.perf_counter()
                found = _validate_table(context, con, scan, chunk_rows, gx_results)
                failures += found
                progress(f"validated {scan.table.name:<20} {sum(f.blocking for f in found)} "
                         f"blocking, {sum(not f.blocking for f in found)} warning(s) "
                         f"in {time.perf_counter() - table_started:.1f}s")
    result = ValidationResult(failures, report_dir, 0.0,
                              {scan.table.name: scan.rows for scan in scans},
                              data_docs=context is not None)
    _write_report(context, result, gx_results,
                  None if context is not None else _passed_in_duckdb(scans),
                  _carried_over(scans))
    result.seconds = time.perf_counter() - started
    return result


def _scope(table: Table, increment: Increment | None) -> str:
    if increment and table.name in increment.unchanged:
        return " rows (file unchanged: table checks only)"
    return " new rows" if increment and table.appended_on else " rows"


def _carried_over(scans: list[_TableScan]) -> dict[str, list[dict[str, str | None]]]:
    """Per table, the table checks an incremental run took from the run it continues."""
    return {scan.table.name: [{"column": check.column, "rule": check.rule}
                              for check in scan.carried]
            for scan in scans if scan.carried}


def _write_report(context: Any, result: ValidationResult, gx_results: list[dict[str, Any]],
                  passed_in_duckdb: dict[str, Any] | None,
                  carried_over: dict[str, list[dict[str, str | None]]]) -> None:
    """validation.json (ours, and GX's full results when GX ran) and a fresh Data Docs
    site when GX ran (a stale one would show another run)."""
    result.report_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(result.report_dir / DATA_DOCS_FOLDER, ignore_errors=True)
    if context is not None:
        context.build_data_docs(site_names=["retain"])
    (result.report_dir / RESULTS_FILE).write_text(json.dumps({
        "passed": result.passed,
        "blocking_failures": [asdict(failure) for failure in result.blocking_failures],
        "warnings": [asdict(failure) for failure in result.warnings],
        "rows": result.rows,
        # Passed in the run this one continues, on the same rows: not run again.
        "carried_over_from_the_last_run": carried_over,
        **({"gx_validation_results": gx_results} if passed_in_duckdb is None else
           {"passed_without_great_expectations": passed_in_duckdb}),
    }, indent=1, default=str))
