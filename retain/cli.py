"""The `retain` command: generate sample data, load raw files, run the whole pipeline."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from retain.settings import (
    quiet_telemetry,
    raw_dir_from_environment,
    report_dir_from_environment,
    today_utc,
    warehouse_from_environment,
)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def _add_location_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", type=Path, default=None, metavar="DIR",
                        help="folder of raw files (env RETAIN_RAW_DIR; default data/raw)")
    parser.add_argument("--warehouse", type=Path, default=None, metavar="FILE",
                        help="published DuckDB file (env RETAIN_DUCKDB_PATH; "
                             "default warehouse/retain.duckdb)")


def _command_generate(args: argparse.Namespace) -> int:
    from retain.generate import generate_raw_data

    out = args.out or raw_dir_from_environment()
    started = time.perf_counter()
    rows = generate_raw_data(out, customers=args.customers, seed=args.seed,
                             end_date=args.end_date or today_utc(), years=args.years,
                             file_format=args.format, progress=_stderr)
    print(f"generated {sum(rows.values()):,} rows in {len(rows)} tables into {out} "
          f"in {time.perf_counter() - started:.1f}s")
    for table, count in rows.items():
        print(f"  {table:<20} {count:>12,}")
    return 0


def _command_load(args: argparse.Namespace) -> int:
    from retain.load import RawInputError, load_raw

    raw = args.raw or raw_dir_from_environment()
    warehouse = args.warehouse or warehouse_from_environment()
    try:
        load_raw(raw, warehouse, _stderr)
    except RawInputError as error:
        _stderr(f"error: input rejected: {error}")
        return 2
    return 0


def _command_validate(args: argparse.Namespace) -> int:
    """Load into a throwaway DuckDB file and validate: the published warehouse is never touched."""
    import tempfile

    from expectations.validate import absent_tables, validate_raw
    from retain.load import RawInputError, load_raw

    raw = args.raw or raw_dir_from_environment()
    with tempfile.TemporaryDirectory(prefix="retain-validate-") as scratch:
        loaded = Path(scratch) / "retain.duckdb"
        try:
            load_raw(raw, loaded, _stderr)
        except RawInputError as error:
            _stderr(f"error: input rejected: {error}")
            return 2
        result = validate_raw(loaded, args.report_dir or report_dir_from_environment(),
                              absent=absent_tables(raw), progress=_stderr)
    print(result.report_text(), file=sys.stdout if result.passed else sys.stderr)
    return 0 if result.passed else 2


def _command_run(args: argparse.Namespace) -> int:
    from retain.pipeline import ExitCode, run_pipeline
    from retain.summary import summary_text

    raw = args.raw or raw_dir_from_environment()
    warehouse = args.warehouse or warehouse_from_environment()
    as_of = args.as_of or today_utc()
    report = run_pipeline(raw, warehouse, as_of)
    if report.exit_code != ExitCode.OK:
        for error in report.errors:
            _stderr(f"error: {error}")
        _stderr(f"run failed (exit {int(report.exit_code)}); published warehouse unchanged: "
                f"{warehouse}")
        return int(report.exit_code)
    print(summary_text(report, warehouse, as_of))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retain",
        description="Retain: one shared set of SaaS revenue and customer-success metrics, "
                    "built with dbt on DuckDB.",
        epilog="exit codes: 0 ok, 2 input rejected (load or validation), 3 build or test failed, "
               "4 another run in progress")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="write realistic sample raw data",
                                   description="Write deterministic sample data in the raw "
                                               "contract (one file per table).")
    generate.add_argument("--customers", type=int, default=2000, help="number of customers "
                          "(default 2000)")
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument("--out", type=Path, default=None, metavar="DIR",
                          help="output folder (env RETAIN_RAW_DIR; default data/raw)")
    generate.add_argument("--end-date", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                          help="last day of data (default today, UTC)")
    generate.add_argument("--years", type=int, default=3, help="years of history (default 3)")
    generate.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto",
                          help="file format; auto = Parquet from 20,000 customers")
    generate.set_defaults(handler=_command_generate)

    load = commands.add_parser("load", help="type raw files into the raw schema of a DuckDB file",
                               description="Load every raw file into the `raw` schema; stop "
                                           "with file, column and a sample value on bad input.")
    _add_location_options(load)
    load.set_defaults(handler=_command_load)

    validate = commands.add_parser(
        "validate", help="check raw files against the input contract (Great Expectations)",
        description="Load raw files into a temporary DuckDB file and validate every table "
                    "against the raw contract; print each failed expectation with a few "
                    "sample values; write the JSON results and Data Docs to the report folder.")
    validate.add_argument("--raw", type=Path, default=None, metavar="DIR",
                          help="folder of raw files (env RETAIN_RAW_DIR; default data/raw)")
    validate.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                          help="results and Data Docs (env RETAIN_GX_OUTPUT; default gx_output)")
    validate.set_defaults(handler=_command_validate)

    run = commands.add_parser("run", help="load, build, test and publish the warehouse",
                              description="Load raw files, validate them, run dbt build into "
                                          "a new file and publish it atomically when every "
                                          "step passed.")
    _add_location_options(run)
    run.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                     help="compute the warehouse as of the end of this day (dbt var "
                          "as_of_date; default today, UTC)")
    run.set_defaults(handler=_command_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_telemetry()
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
