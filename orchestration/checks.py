"""The Great Expectations suites of the raw contract as blocking asset checks.

One validation (retain.pipeline.validate_step, the same call `retain run`
makes) covers every raw table; its result becomes one check per table, so
the UI shows on each raw asset the expectations it failed, with sample
values. A failed check blocks every dbt asset downstream: nothing is built
or published from input that breaks the contract. Failed expectations are
data, not bad luck: they are never retried.
"""

from collections.abc import Iterator

import dagster as dg

from orchestration.assets import raw_key
from orchestration.resources import RetainRun, retried_when_locked
from retain.contract import TABLES
from retain.load import absent_tables
from retain.pipeline import validate_step
from retain.publish import build_path
from retain.validation.validate import DATA_DOCS_FOLDER

CHECK_NAME = "raw_contract"


def _failures_table(lines: list[tuple[str, str, str, str]]) -> dg.MetadataValue:
    """Markdown: one row per failed expectation, the way a person fixes the file."""
    rows = ["| column | expected | observed | sample values |", "|---|---|---|---|"]
    rows += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"
             for line in lines]
    return dg.MetadataValue.md("\n".join(rows))


@dg.multi_asset_check(
    name="raw_contract_checks",
    specs=[dg.AssetCheckSpec(CHECK_NAME, asset=raw_key(table.name), blocking=True,
                             description=f"Great Expectations suites {table.name}.rows and "
                                         f"{table.name}.table: the raw contract")
           for table in TABLES],
)
def raw_contract_checks(context: dg.AssetCheckExecutionContext,
                        retain: RetainRun) -> Iterator[dg.AssetCheckResult]:
    """Validate the loaded raw schema of the build file; one result per raw table."""
    settings = retain.run_settings(context)
    absent = absent_tables(settings.raw_dir)
    with retried_when_locked(build_path(settings.warehouse)):
        result = validate_step(settings, context.run.run_id, context.log.info,
                               retain.plan(settings))
    report = result.report_dir / DATA_DOCS_FOLDER / "index.html"
    for table in TABLES:
        failures = [failure for failure in result.failures if failure.table == table.name]
        blocking = [failure for failure in failures if failure.blocking]
        metadata: dict[str, object] = {
            "rows": result.rows.get(table.name, 0),
            "blocking_failures": len(blocking),
            "warnings": len(failures) - len(blocking),
        }
        if result.data_docs:
            metadata["data_docs"] = dg.MetadataValue.path(str(report))
        if table.name in absent:
            metadata["absent"] = "optional table without a file: nothing to check"
        if failures:
            metadata["failed_expectations"] = _failures_table([
                (failure.column or "(table)",
                 ("" if failure.blocking else "[warning] ") + failure.expected,
                 failure.observed, "; ".join(failure.samples))
                for failure in failures])
            metadata["details"] = dg.MetadataValue.json([failure.line() for failure in failures])
        yield dg.AssetCheckResult(asset_key=raw_key(table.name), check_name=CHECK_NAME,
                                  passed=not blocking, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata=metadata)
