"""`make spark-parity`: the same raw folder built on DuckDB and on Spark, every interface
table compared cell for cell.

Each engine runs the whole pipeline (`retain run` with --engine duckdb, then
--engine spark) into its own folder; the Spark build's published Parquet
files are then compared with the DuckDB warehouse (tools.compare, across
engines: money exact, DOUBLEs to their last 9 decimals, timestamps as
instants). The default raw folder is the benchmark's 10,000-customer sample
(generated once, reused); the times of both runs are added to
bench/results.md with --record.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

from retain.engines import engine_for
from retain.interface import PUBLISHED_RELATIONS
from retain.meta import git_commit
from retain.pipeline import ExitCode, RunReport, run_pipeline
from retain.settings import PROJECT_DIR, Settings, quiet_telemetry
from tools.bench import raw_data, write_results
from tools.compare import TableDifference, interface_differences

WORK_DIR = PROJECT_DIR / "data" / "spark_parity"  # git-ignored, like data/
DEFAULT_AS_OF = date(2026, 11, 30)  # the benchmark's as-of day
RESULTS_FILE = PROJECT_DIR / "bench" / "results.md"
SPARK_SETUPS = {"session": "local[2] session in dbt's process",
                "thrift": "Thrift server of a standalone cluster: master and two 1-core "
                          "workers on this machine, `make spark-cluster`"}


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class ParityResult:
    runs: dict[str, RunReport] = field(default_factory=dict)
    settings: dict[str, Settings] = field(default_factory=dict)
    differences: list[TableDifference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def engines_parity(raw_dir: Path, as_of: date, work_dir: Path,
                   progress: Callable[[str], None] = _progress,
                   spark_connection: str = "session") -> ParityResult:
    """Run the pipeline on both engines from raw_dir into work_dir/<engine>/ and compare
    their interface tables; raises when a run fails. spark_connection: a local session or
    a Thrift server (RETAIN_SPARK_THRIFT_HOST/PORT)."""
    result = ParityResult()
    for engine in ("duckdb", "spark"):
        folder = work_dir / engine
        shutil.rmtree(folder, ignore_errors=True)
        settings = Settings(raw_dir=raw_dir, warehouse=folder / "retain.duckdb", as_of=as_of,
                            engine=engine, spark_connection=spark_connection)
        progress(f"{engine}: retain run from {raw_dir} as of {as_of}")
        report = run_pipeline(settings, lambda line, engine=engine: progress(f"  {engine}: {line}"))
        if report.exit_code != ExitCode.OK:
            raise RuntimeError(f"{engine} run failed: " + "; ".join(report.errors))
        result.runs[engine], result.settings[engine] = report, settings
    published = {engine: engine_for(settings).published_location(settings)
                 for engine, settings in result.settings.items()}
    result.differences = interface_differences(published["duckdb"], published["spark"],
                                               across_engines=True)
    return result


def _seconds(report: RunReport) -> float:
    return sum(report.timings.values())


def results_section(result: ParityResult, raw_dir: Path, as_of: date,
                    spark_connection: str = "session") -> str:
    """A bench/results.md section with both engines' stage times and the comparison."""
    stages = list(result.runs["duckdb"].timings)
    lines = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {git_commit(short=True)}, "
             "DuckDB and Spark on the same raw folder (make spark-parity)", "",
             f"Machine: {os.cpu_count()} cores; DuckDB {version('duckdb')}, dbt-duckdb "
             f"{version('dbt-duckdb')}, dbt-spark {version('dbt-spark')}, pyspark "
             f"{version('pyspark')} ({SPARK_SETUPS[spark_connection]}). Raw data: "
             f"{raw_dir.name}, as of {as_of}.",
             "", "| stage | DuckDB s | Spark s |", "|---|---:|---:|"]
    for stage in stages:
        lines.append(f"| {stage} | {result.runs['duckdb'].timings.get(stage, 0):.1f} | "
                     f"{result.runs['spark'].timings.get(stage, 0):.1f} |")
    lines.append(f"| **total** | **{_seconds(result.runs['duckdb']):.1f}** | "
                 f"**{_seconds(result.runs['spark']):.1f}** |")
    rows = result.runs["duckdb"].raw_rows
    lines += ["", "Raw rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()), "",
              f"Interface tables identical: {len(PUBLISHED_RELATIONS) - len(result.differences)}"
              f" of {len(PUBLISHED_RELATIONS)}"
              + "".join(f"\n- {difference.line()}" for difference in result.differences), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.spark_parity",
        description="Build one raw folder on DuckDB and on Spark and compare every interface "
                    "table; exit 1 when any differs.")
    parser.add_argument("--raw", type=Path, default=None, metavar="DIR",
                        help="raw folder (default: the benchmark's generated sample of "
                             "--customers)")
    parser.add_argument("--customers", type=int, default=10_000,
                        help="size of the generated sample (default 10000)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF,
                        metavar="YYYY-MM-DD", help=f"as-of day (default {DEFAULT_AS_OF})")
    parser.add_argument("--spark-connection", choices=sorted(SPARK_SETUPS), default="session",
                        help="Spark through a local session (default) or the Thrift server "
                             "at RETAIN_SPARK_THRIFT_HOST/PORT (`make spark-cluster`)")
    parser.add_argument("--record", action="store_true",
                        help="add both engines' times to bench/results.md")
    args = parser.parse_args(argv)
    quiet_telemetry()
    if args.raw is None:
        raw = raw_data(args.customers, 42, args.as_of)
    else:
        raw = args.raw.resolve()
    result = engines_parity(raw, args.as_of, WORK_DIR, spark_connection=args.spark_connection)
    section = results_section(result, raw, args.as_of, args.spark_connection)
    print(section)
    if args.record:
        write_results(section, RESULTS_FILE)
    return 0 if result.identical else 1


if __name__ == "__main__":
    sys.exit(main())
