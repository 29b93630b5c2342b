"""The `retain` command: generate sample data, load raw files, run the whole pipeline."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from retain.engines import engine_for
from retain.export import ExportError, export_relations
from retain.failures import (
    ExitCode,
    refused_by_others,
    unexpected_line,
)
from retain.generate import generate_raw_data
from retain.load import RawInputError, load_raw
from retain.pipeline import load_step, run_pipeline, validate_step
from retain.publish import (
    ProtectedOutputError,
    check_output_target,
)
from retain.settings import (
    DBT_TARGETS,
    SETTINGS_FILE,
    SettingError,
    Settings,
    parsed_assignment,
    quiet_telemetry,
    resolved_settings,
    today_utc,
)
from retain.summary import summary_text


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def _count(minimum: int, maximum: int) -> Any:
    """An argparse type: a whole number within [minimum, maximum]."""
    def parsed(text: str) -> int:
        try:
            number = int(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from error
        if not minimum <= number <= maximum:
            raise argparse.ArgumentTypeError(f"expected {minimum} to {maximum:,}, got {number}")
        return number
    return parsed


def _events_scale(text: str) -> float:
    """An argparse type: the generator's events_scale, 1 to 100."""
    try:
        scale = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from error
    if not 1 <= scale <= 100:
        raise argparse.ArgumentTypeError(f"expected 1 to 100, got {text}")
    return scale


def _assignment(text: str) -> tuple[str, Any]:
    try:
        return parsed_assignment(text)
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _resolved(path: Path | None) -> Path | None:
    """A path given on the command line is relative to the working directory."""
    return path.resolve() if path else None


def _settings(args: argparse.Namespace) -> Settings:
    """The run's settings: command line, then environment, then retain.toml, then defaults."""
    return resolved_settings(
        raw_dir=_resolved(args.raw), warehouse=_resolved(getattr(args, "warehouse", None)),
        as_of=getattr(args, "as_of", None), report_dir=_resolved(args.report_dir),
        overrides=dict(getattr(args, "var", None) or []), settings_file=_resolved(args.settings),
        full_refresh=getattr(args, "full_refresh", False),
        lookback_days=getattr(args, "lookback_days", None), engine=getattr(args, "engine", None),
        allow_future_as_of=getattr(args, "allow_future_as_of", False))


def _add_location_options(parser: argparse.ArgumentParser, warehouse: bool = True) -> None:
    parser.add_argument("--raw", type=Path, default=None, metavar="DIR",
                        help="folder of raw files (env RETAIN_RAW_DIR; default data/raw)")
    if warehouse:
        parser.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                            help="published DuckDB file (env RETAIN_DUCKDB_PATH; "
                                 "default warehouse/retain.duckdb)")
    parser.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                        help="validation results and Data Docs (env RETAIN_VALIDATION_DIR; "
                             "default: a validation/ folder beside the warehouse)")
    parser.add_argument("--settings", type=Path, default=None, metavar="FILE",
                        help=f"settings file (default {SETTINGS_FILE} in the project, "
                             "if present)")


def _command_generate(args: argparse.Namespace) -> int:
    out = args.out or resolved_settings().raw_dir
    started = time.perf_counter()
    rows = generate_raw_data(out, customers=args.customers, seed=args.seed,
                             end_date=args.end_date or today_utc(), years=args.years,
                             file_format=args.format, progress=_stderr,
                             events_scale=args.events_scale)
    print(f"generated {sum(rows.values()):,} rows in {len(rows)} tables into {out} "
          f"in {time.perf_counter() - started:.1f}s")
    for table, count in rows.items():
        print(f"  {table:<20} {count:>12,}")
    return 0


def _command_load(args: argparse.Namespace) -> int:
    settings = _settings(args)
    out = args.out.resolve()
    check_output_target(out, settings.warehouse, into_duckdb=True)
    try:
        load_raw(settings.raw_dir, out, _stderr)
    except RawInputError as error:
        _stderr(f"error: input rejected: {error}")
        return ExitCode.INPUT_REJECTED
    print(f"loaded the raw tables of {settings.raw_dir} into {out}")
    return ExitCode.OK


def _command_validate(args: argparse.Namespace) -> int:
    """Load into a throwaway DuckDB file and validate: the published warehouse is never touched."""
    settings = _settings(args)
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="retain-validate-") as scratch:
        scratch_settings = replace(settings, warehouse=Path(scratch) / "retain.duckdb",
                                   report_dir=settings.validation_dir())
        try:
            load_step(scratch_settings, run_id, _stderr)
        except RawInputError as error:
            _stderr(f"error: input rejected: {error}")
            return 2
        result = validate_step(scratch_settings, run_id, _stderr)
    print(result.report_text(), file=sys.stdout if result.passed else sys.stderr)
    return 0 if result.passed else 2


def _command_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    report = run_pipeline(settings)
    if report.exit_code != ExitCode.OK:
        for error in report.errors:
            _stderr(f"error: {error}")
        _stderr(f"run failed (exit {int(report.exit_code)}); published warehouse unchanged: "
                f"{engine_for(settings).published_location(settings)}")
        return int(report.exit_code)
    print(summary_text(report, settings))
    return 0


def _command_export(args: argparse.Namespace) -> int:
    warehouse = _resolved(args.warehouse) or resolved_settings().warehouse
    check_output_target(args.out, warehouse)
    try:
        rows = export_relations(warehouse, args.out.resolve(), args.format, _stderr)
    except ExportError as error:
        _stderr(f"error: {error}")
        return 2
    print(f"exported {len(rows)} relations ({sum(rows.values()):,} rows) from {warehouse} "
          f"to {args.out} as {args.format}")
    return 0


def _command_report(args: argparse.Namespace) -> int:
    # Imported here: altair and vl-convert load only for this command.
    from retain.dashboard.data import WarehouseError
    from retain.dashboard.report import write_report

    warehouse = _resolved(args.warehouse) or resolved_settings().warehouse
    check_output_target(args.out, warehouse)
    try:
        out = write_report(warehouse, args.out.resolve())
    except WarehouseError as error:
        _stderr(f"error: {error}")
        return 2
    print(f"wrote {out} from {warehouse}")
    return 0


def _add_metric_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                        help="compute the warehouse as of the end of this day (dbt var "
                             "as_of_date; default today, UTC)")
    parser.add_argument("--allow-future-as-of", action="store_true",
                        help="accept an --as-of day after tomorrow (UTC); without it such a "
                             "day is refused as a likely typo")
    parser.add_argument("--var", type=_assignment, action="append", metavar="NAME=VALUE",
                        help="a metric setting of metrics.md, e.g. mrr_change_threshold=0 or "
                             "active_event_names=login,report_created (repeatable; wins over "
                             f"{SETTINGS_FILE})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retain",
        description="Retain: one shared set of SaaS revenue and customer-success metrics, "
                    "built with dbt on DuckDB.",
        epilog="exit codes: 0 ok; 1 unexpected error (a bug: the line names a traceback "
               "file); 2 input rejected (raw files, settings or arguments); 3 dbt build or "
               "test failed; 4 another run in progress, or the published file is held open "
               "for writing; 5 the machine refused (disk full, read-only or missing folder, "
               "permission, out of memory)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="write realistic sample raw data",
                                   description="Write deterministic sample data in the raw "
                                               "contract (one file per table).")
    generate.add_argument("--customers", type=_count(1, 100_000_000), default=2000,
                          help="number of customers (default 2000)")
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument("--out", type=Path, default=None, metavar="DIR",
                          help="output folder (env RETAIN_RAW_DIR; default data/raw)")
    generate.add_argument("--end-date", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                          help="last day of data (default today, UTC)")
    generate.add_argument("--years", type=_count(1, 50), default=3,
                          help="years of history (default 3)")
    generate.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto",
                          help="file format; auto = Parquet from 20,000 customers")
    generate.add_argument("--events-scale", type=_events_scale, default=1.0, metavar="X",
                          help="usage events per customer, as a multiple of the default's "
                               "(1 to 100; e.g. 2 for twice as many active user-days)")
    generate.set_defaults(handler=_command_generate)

    load = commands.add_parser("load", help="type raw files into the raw schema of a DuckDB file",
                               description="Load every raw file into the `raw` schema of a "
                                           "DuckDB file of your own (never the published "
                                           "warehouse, which only `retain run` writes); stop "
                                           "with file, column and a sample value on bad input.")
    _add_location_options(load)
    load.add_argument("--out", type=Path, required=True, metavar="FILE",
                      help="DuckDB file to load into (created if missing)")
    load.set_defaults(handler=_command_load)

    validate = commands.add_parser(
        "validate", help="check raw files against the input contract (Great Expectations)",
        description="Load raw files into a temporary DuckDB file and validate every table "
                    "against the raw contract; print each failed expectation with a few "
                    "sample values; write the JSON results and Data Docs to the report folder.")
    _add_location_options(validate)
    _add_metric_options(validate)
    validate.set_defaults(handler=_command_validate)

    run = commands.add_parser("run", help="load, build, test and publish the warehouse",
                              description="Load raw files, validate them, run dbt build and "
                                          "publish atomically when every step passed. A run "
                                          "continues the last one when it can: it loads the "
                                          "recent usage events only and recomputes the recent "
                                          "days of the event-sized models.")
    _add_location_options(run)
    _add_metric_options(run)
    run.add_argument("--full-refresh", action="store_true",
                     help="rebuild every table from the raw files instead of continuing the "
                          "last run (needed after a change to rows older than the lookback)")
    run.add_argument("--lookback-days", type=_count(0, 3650), default=None, metavar="N",
                     help="an incremental run recomputes from N days before the last processed "
                          "day, for late events (env RETAIN_LOOKBACK_DAYS, retain.toml; "
                          "default 3)")
    run.add_argument("--engine", choices=sorted(DBT_TARGETS), default=None,
                     help="build on DuckDB (default; publishes the --warehouse file) or on "
                          "Spark (needs retain[spark] and Java 17; publishes a folder of "
                          "Parquet files named like the warehouse without its suffix, e.g. "
                          "warehouse/retain/; env RETAIN_ENGINE, retain.toml)")
    run.set_defaults(handler=_command_run)
    export = commands.add_parser(
        "export", help="write the interface tables of the published warehouse as files",
        description="Write every interface table and the meta relation of the published "
                    "snapshot to a folder, one Parquet or CSV file per table, for BI tools "
                    "that cannot read DuckDB.")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                        help="file format (default parquet)")
    export.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder to write into (created if missing)")
    export.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                        help="published DuckDB file (env RETAIN_DUCKDB_PATH; "
                             "default warehouse/retain.duckdb)")
    export.set_defaults(handler=_command_export)

    report = commands.add_parser(
        "report", help="write the dashboard's headline pages as one static HTML file",
        description="Write revenue, cohorts, customer success and the churn-risk worklist of "
                    "the published snapshot as one self-contained HTML file (charts inlined "
                    "as SVG, no network), for email or readers without the dashboard.")
    report.add_argument("--out", type=Path, default=Path("retain-report.html"), metavar="FILE",
                        help="HTML file to write (default retain-report.html)")
    report.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                        help="published DuckDB file (env RETAIN_DUCKDB_PATH; "
                             "default warehouse/retain.duckdb)")
    report.set_defaults(handler=_command_report)

    from retain.dashboard import serve  # imports no Streamlit: app.py runs in its own process
    dashboard = commands.add_parser(
        "dashboard", help="serve the dashboard on 127.0.0.1 only, usage statistics off",
        description=serve.DESCRIPTION)
    serve.add_arguments(dashboard)
    dashboard.set_defaults(handler=serve.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure ends in one line on stderr and a documented exit
    code (build_parser's epilog, README "Exit codes"), never a traceback."""
    quiet_telemetry()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (SettingError, ProtectedOutputError, RawInputError) as error:
        _stderr(f"error: {error}")
        return ExitCode.INPUT_REJECTED
    except KeyboardInterrupt:
        _stderr("interrupted; nothing was published")
        return 130
    except Exception as error:
        refused = refused_by_others(error)
        if refused is None:
            _stderr(f"error: {unexpected_line(error, f'running retain {args.command}')}")
            return ExitCode.UNEXPECTED
        exit_code, line = refused
        _stderr(f"error: {args.command}: {line}")
        return exit_code


if __name__ == "__main__":
    sys.exit(main())
