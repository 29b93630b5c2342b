"""`make bench` (`python -m tools.bench`): the pipeline's cost at several sizes, against
the scan floor.

For each tier (number of customers) it generates raw data once (Parquet, cached
by size and seed), measures the *floor* (one pass reading every raw file, best
of 3, in this process), then runs the pipeline's own steps one by one on a
fresh warehouse (a full run as of the day before the as-of date), then the
daily incremental run of the as-of date that continues it, and records each
stage's wall time and the peak memory (RSS) of this process and its children
(dbt runs as a child). Results go to
bench/results.md (newest run on top) and bench/scaling.png.
Targets are ratios within one run, because these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import duckdb
import psutil

from retain.engines import engine_for
from retain.generate import generate_raw_data
from retain.incremental import read_state, run_plan
from retain.interface import PUBLISHED_RELATIONS, open_published
from retain.load import raw_files
from retain.meta import git_commit
from retain.pipeline import build_step, load_step, publish_step, validate_step
from retain.publish import build_path
from retain.settings import (
    PROJECT_DIR,
    Settings,
    configured_memory_limit,
    memory_bytes,
    quiet_telemetry,
)
from retain.spark_cluster import ClusterConfig, running_pids, start_cluster, stop_cluster
from retain.sql import sql_identifier, sql_literal
from tools.compare import interface_differences
from tools.daily_check import write_daily_drop

DESCRIPTION = ("Time every pipeline stage at several sizes against the scan floor; write "
               "bench/results.md and bench/scaling.png.")
DEFAULT_TIERS = (10_000, 100_000)
DEFAULT_AS_OF = date(2026, 11, 30)
BENCH_DIR = PROJECT_DIR / "bench"
DATA_DIR = PROJECT_DIR / "data" / "bench"  # git-ignored, like data/
STAGES = ("load", "validate", "dbt build", "publish")
GIB = 1024 ** 3

# Targets of the performance issue (25), each a ratio measured in one run: at
# customers, the full run, its dbt build and the daily incremental run against the
# floor; the growth of the full run's time from the tier before.
@dataclass(frozen=True)
class Targets:
    customers: int
    run: float
    daily: float
    build: float | None = None
    growth_from: int | None = None
    growth: float | None = None
    memory: bool = False  # peak RSS within the memory limit + MEMORY_HEADROOM


TARGETS = (Targets(100_000, run=30, daily=12, build=15),
           Targets(1_000_000, run=50, daily=10, growth_from=100_000, growth=12, memory=True))
MEMORY_HEADROOM = GIB


def _progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass
class Stage:
    name: str
    seconds: float
    peak_rss: int
    peak_spill: int = 0  # bytes DuckDB spilled to its temp folder at most


@dataclass
class TierResult:
    customers: int
    floor_seconds: float
    raw_rows: dict[str, int]
    stages: list[Stage] = field(default_factory=list)
    incremental_stages: list[Stage] = field(default_factory=list)
    interface_rows: dict[str, int] = field(default_factory=dict)
    slowest_nodes: list[tuple[str, float]] = field(default_factory=list)
    incremental_slowest_nodes: list[tuple[str, float]] = field(default_factory=list)
    memory_limit: str = ""
    events_scale: float = 1.0
    engine: str = "duckdb"
    # Spark: a full rebuild as of the daily run's day, and how the daily run's tables
    # compare with it and with DuckDB's daily run of the same tier.
    rebuild_stages: list[Stage] = field(default_factory=list)
    comparisons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        scale = "" if self.events_scale == 1 else f", {self.events_scale:g}x the events"
        engine = ", Spark (Thrift server of the local cluster)" if self.engine == "spark" else ""
        return f"{self.customers:,} customers{scale}{engine}"

    @property
    def run_seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)

    @property
    def incremental_seconds(self) -> float:
        return sum(stage.seconds for stage in self.incremental_stages)

    @property
    def incremental_ratio(self) -> float:
        """The daily incremental run's time as a share of the full run's."""
        return self.incremental_seconds / self.run_seconds

    @property
    def peak_rss(self) -> int:
        """The highest peak of any stage, of the full run and of the daily run."""
        return max((stage.peak_rss for stage in [*self.stages, *self.incremental_stages]),
                   default=0)

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)


def _tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its children, in bytes."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # a child that just ended
            continue
    return total


def _folder_bytes(folder: Path | None) -> int:
    """Bytes of the files in a folder (DuckDB's spill files), 0 when there is none."""
    if folder is None:
        return 0
    total = 0
    for path in folder.glob("*"):
        try:
            total += path.stat().st_size
        except OSError:  # a spill file just removed
            continue
    return total


@contextmanager
def peak_sampler(spill_dir: Path | None = None,
                 interval: float = 0.1) -> Iterator[Callable[[], tuple[int, int]]]:
    """Sample this process tree's RSS and the size of spill_dir in a thread; yields a
    function returning both peaks."""
    process, peak, stop = psutil.Process(), [0, 0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(process))
            peak[1] = max(peak[1], _folder_bytes(spill_dir))
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: (peak[0], peak[1])
    finally:
        stop.set()
        thread.join()


def raw_data(customers: int, seed: int, end_date: date, events_scale: float = 1.0) -> Path:
    """Generated Parquet raw data for a tier, reused while size, seed, end date and events
    scale match."""
    scale = "" if events_scale == 1 else f"x{events_scale:g}"
    folder = DATA_DIR / f"{customers}{scale}_{seed}_{end_date.isoformat()}"
    marker = folder / ".complete"
    if marker.exists():
        _progress(f"raw data for {customers:,} customers: reusing {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    _progress(f"raw data for {customers:,} customers: generating into {folder}")
    generate_raw_data(folder, customers=customers, seed=seed, end_date=end_date,
                      file_format="parquet", progress=_progress, events_scale=events_scale)
    marker.write_text(datetime.now(UTC).isoformat())
    return folder


def floor_seconds(raw_dir: Path, runs: int = 3) -> float:
    """One pass over every raw file (count and a hash of every column), best of runs."""
    paths = [raw.path for raw in raw_files(raw_dir) if raw.path is not None]
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        with duckdb.connect() as con:
            for path in paths:
                reader = (f"read_parquet({sql_literal(path)})" if path.suffix == ".parquet"
                          else f"read_csv({sql_literal(path)}, all_varchar = true)")
                con.execute(f"select count(*), sum(hash(*columns(*))) from {reader}").fetchall()
        best = min(best, time.perf_counter() - started)
    return best


def _slowest_nodes(count: int = 10) -> list[tuple[str, float]]:
    target = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")
    results = json.loads((target / "run_results.json").read_text())["results"]
    timed = [(str(result["unique_id"]), float(result.get("execution_time") or 0))
             for result in results]
    return sorted(timed, key=lambda item: -item[1])[:count]


def _interface_rows(settings: Settings) -> dict[str, int]:
    with open_published(published_location(settings)) as con:
        return {name: int(con.execute(f"select count(*) from {sql_identifier(name)}").fetchone()[0])
                for name in PUBLISHED_RELATIONS}


def run_tier(customers: int, seed: int, as_of: date, work_dir: Path,
             events_scale: float = 1.0, daily: bool = True,
             engine: str = "duckdb") -> TierResult:
    """Generate (or reuse) and measure the floor; then time every pipeline step of a full
    run as of the day before as_of, and (with daily) of the daily incremental run of
    as_of that continues it (raw folders as known on each day, tools.daily_check). On
    Spark (through the Thrift server of the local cluster), also a full rebuild as of
    as_of, which the daily run's tables must equal."""
    raw = raw_data(customers, seed, as_of, events_scale)
    result = TierResult(customers, 0.0, raw_rows={}, events_scale=events_scale, engine=engine)
    _progress(f"{result.label}: floor (one pass over the raw files, best of 3)")
    result.floor_seconds = floor_seconds(raw)
    _progress(f"{result.label}: floor {result.floor_seconds:.2f}s")
    name = raw.name.split("_")[0] + ("" if engine == "duckdb" else f"_{engine}")
    warehouse = work_dir / name / "retain.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    drop = work_dir / f"{name}_raw"
    settings = Settings(raw_dir=drop, warehouse=warehouse, as_of=as_of - timedelta(days=1),
                        engine=engine, spark_connection="thrift")
    result.memory_limit = configured_memory_limit()
    write_daily_drop(raw, drop, settings.as_of)
    result.stages, rows, result.slowest_nodes = _timed_run(settings, "full")
    result.raw_rows = rows
    result.interface_rows = _interface_rows(settings)
    if not daily:
        return result
    write_daily_drop(raw, drop, as_of)
    daily_settings = replace(settings, as_of=as_of)
    result.incremental_stages, _, result.incremental_slowest_nodes = _timed_run(
        daily_settings, "incremental")
    result.interface_rows = _interface_rows(daily_settings)
    if engine != "duckdb":
        rebuilt = replace(daily_settings, warehouse=work_dir / f"{name}_rebuild" / "retain.duckdb")
        shutil.rmtree(rebuilt.warehouse.parent, ignore_errors=True)
        result.rebuild_stages, _, _ = _timed_run(rebuilt, "full rebuild")
        result.comparisons.append(_comparison(
            "a full rebuild on the same engine", published_location(rebuilt),
            published_location(daily_settings), across_engines=False))
        duckdb_daily = replace(daily_settings, engine="duckdb",
                               warehouse=work_dir / raw.name.split("_")[0] / "retain.duckdb")
        duckdb_state = read_state(duckdb_daily.warehouse)
        if duckdb_state is not None and duckdb_state.processed_through == as_of.isoformat():
            result.comparisons.append(_comparison(
                "DuckDB's daily run of this bench", published_location(duckdb_daily),
                published_location(daily_settings), across_engines=True))
    return result


def published_location(settings: Settings) -> Path:
    return engine_for(settings).published_location(settings)


def _comparison(what: str, expected: Path, found: Path, across_engines: bool) -> str:
    """A line saying how many interface tables of found equal expected's, cell for cell."""
    differences = interface_differences(expected, found, across_engines=across_engines)
    return (f"Daily run's interface tables identical to {what}: "
            f"{len(PUBLISHED_RELATIONS) - len(differences)} of {len(PUBLISHED_RELATIONS)}"
            + "".join(f"\n  - {difference.line()}" for difference in differences))


def _timed_run(settings: Settings, label: str) -> tuple[list[Stage], dict[str, int],
                                                          list[tuple[str, float]]]:
    """Run every pipeline step, timing each and sampling peak memory; the stages, the raw
    rows and the slowest dbt nodes. The plan is made once, before the steps, as `retain
    run` makes it: a full run's load forgets the kept state, so a later plan would differ."""
    run_id = f"bench-{label.replace(' ', '-')}"
    plan = run_plan(settings)
    if label == "incremental" and not plan.incremental:
        raise SystemExit(f"bench: the daily run is not incremental: {plan.reason}")
    steps: dict[str, Callable[[], object]] = {
        "load": lambda: load_step(settings, run_id, lambda _: None, plan),
        "validate": lambda: validate_step(settings, run_id, lambda _: None, plan),
        "dbt build": lambda: build_step(settings, lambda _: None, plan),
        "publish": lambda: publish_step(settings, run_id, lambda _: None, plan),
    }
    stages, rows, slowest = [], {}, []
    for name, step in steps.items():
        _progress(f"{settings.raw_dir.name}: {label} {name} as of {settings.as_of} ...")
        with peak_sampler(build_path(settings.warehouse).parent / "spill") as peaks:
            started = time.perf_counter()
            outcome = step()
            seconds = time.perf_counter() - started
        _check(name, outcome)
        if name == "load":
            rows = dict(outcome)  # type: ignore[call-overload]
        stages.append(Stage(name, seconds, *peaks()))
        _progress(f"{settings.raw_dir.name}: {label} {name} {seconds:.1f}s, "
                  f"peak RSS {peaks()[0] / GIB:.2f} GiB, spilled {peaks()[1] / GIB:.1f} GiB")
        if name == "dbt build":
            slowest = _slowest_nodes()
    return stages, rows, slowest


@contextmanager
def local_cluster() -> Iterator[None]:
    """The local Spark cluster (retain.spark_cluster, settings from the environment) for
    the Spark tiers: started unless it runs, and then stopped again."""
    config = ClusterConfig.from_environment()
    running = running_pids(config.folder)
    start_cluster(config, progress=_progress)
    try:
        yield
    finally:
        if not running:
            stop_cluster(config.folder, progress=_progress)


def _check(stage: str, outcome: object) -> None:
    """A failed step ends the benchmark: timings of a failed run mean nothing."""
    passed = getattr(outcome, "passed", getattr(outcome, "success", True))
    if not passed:
        detail = getattr(outcome, "failures", "")
        raise SystemExit(f"bench: {stage} failed: {detail}")


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def targets_lines(results: list[TierResult]) -> list[str]:
    """The issue's targets, each with its ratio measured in this run and met / missed."""
    by_size = {result.customers: result for result in results
               if result.events_scale == 1 and result.engine == "duckdb"}
    lines = []
    for target in TARGETS:
        tier = by_size.get(target.customers)
        if tier is None:
            continue
        name = f"{target.customers:,} customers"
        ratios = [("full run", tier.run_seconds, target.run)]
        if target.build is not None:
            ratios.append(("dbt build", tier.stage("dbt build").seconds, target.build))
        if tier.incremental_stages:
            ratios.append(("daily incremental run", tier.incremental_seconds, target.daily))
        for what, seconds, most in ratios:
            ratio = seconds / tier.floor_seconds
            lines.append(f"- {what} at {name}: {ratio:.1f}x the floor (target <= {most:g}x): "
                         f"{_mark(ratio <= most)}")
        earlier = by_size.get(target.growth_from or 0)
        if earlier is not None and target.growth is not None:
            growth = tier.run_seconds / earlier.run_seconds
            lines.append(f"- full run from {earlier.customers:,} to {name}: {growth:.1f}x the "
                         f"time (target <= {target.growth:g}x): {_mark(growth <= target.growth)}")
        if target.memory:
            lines.append(memory_line(tier))
    lines += [memory_line(result) for result in results
              if result.events_scale != 1 and result.engine == "duckdb"]
    return lines


def memory_line(tier: TierResult) -> str:
    """Whether a tier's peak RSS (of both runs) stayed within the limit plus 1 GiB."""
    limit = memory_bytes(tier.memory_limit)
    return (f"- {tier.label} completed; peak RSS {tier.peak_rss / GIB:.2f} GiB "
            f"(target < memory limit {tier.memory_limit} + 1 GiB), most spilled "
            f"{max(stage.peak_spill for stage in tier.stages) / GIB:.1f} GiB: "
            f"{_mark(limit is not None and tier.peak_rss < limit + MEMORY_HEADROOM)}")


def results_section(results: list[TierResult], as_of: date, seed: int) -> str:
    """One markdown section for this benchmark run."""
    load1, load5, _ = os.getloadavg()
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {git_commit(short=True)}",
        "",
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"DuckDB {version('duckdb')}, dbt-core {version('dbt-core')}, "
        f"dbt-duckdb {version('dbt-duckdb')}"
        + ("".join(f", {package} {version(package)}" for package in ("dbt-spark", "pyspark"))
           if any(result.engine == "spark" for result in results) else "")
        + f"; load average at the end {load1:.1f} / "
        f"{load5:.1f} (1 / 5 min). Raw data: Parquet, seed {seed}, as of {as_of}.",
        "",
        "Targets:",
        *targets_lines(results),
        "",
    ]
    for result in results:
        lines += [f"### {result.label}", "",
                  f"Floor (one pass over every raw file, best of 3): "
                  f"{result.floor_seconds:.2f} s", "",
                  "| run | stage | seconds | x floor | peak RSS (GiB) | most spilled (GiB) |",
                  "|---|---|---:|---:|---:|---:|"]
        for label, stages in (("full", result.stages),
                              ("incremental", result.incremental_stages)):
            for stage in stages:
                lines.append(f"| {label} | {stage.name} | {stage.seconds:.1f} | "
                             f"{stage.seconds / result.floor_seconds:.1f} | "
                             f"{stage.peak_rss / GIB:.2f} | {stage.peak_spill / GIB:.1f} |")
            if stages:
                total = sum(stage.seconds for stage in stages)
                lines.append(f"| {label} | **total** | **{total:.1f}** | "
                             f"**{total / result.floor_seconds:.1f}** | "
                             f"{max(stage.peak_rss for stage in stages) / GIB:.2f} | "
                             f"{max(stage.peak_spill for stage in stages) / GIB:.1f} |")
        if result.rebuild_stages:
            total = sum(stage.seconds for stage in result.rebuild_stages)
            lines += ["", "Full rebuild as of the daily run's day: " + ", ".join(
                f"{stage.name} {stage.seconds:.1f} s" for stage in result.rebuild_stages)
                + f"; total {total:.1f} s ({total / result.floor_seconds:.1f}x the floor)."]
        if result.comparisons:
            lines += ["", *(f"- {line}" for line in result.comparisons)]
        if result.incremental_stages:
            lines += ["", f"Daily incremental run / full run: "
                          f"**{result.incremental_ratio:.2f}** (full run as of the day before, "
                          f"from that day's raw folder; the incremental run continues it with "
                          f"the next day's)."]
        lines += ["", "Raw rows: " + ", ".join(f"{name} {rows:,}"
                                                for name, rows in result.raw_rows.items()),
                  "", "Interface rows: " + ", ".join(f"{name} {rows:,}" for name, rows
                                                    in result.interface_rows.items()),
                  "", "Ten slowest dbt nodes (full): " + _nodes(result.slowest_nodes),
                  "", "Ten slowest dbt nodes (incremental): "
                  + _nodes(result.incremental_slowest_nodes), ""]
    return "\n".join(lines)


def _nodes(timed: list[tuple[str, float]]) -> str:
    return ", ".join(f"{node.split('.')[-1]} {seconds:.1f}s" for node, seconds in timed)


def write_results(section: str, results_file: Path) -> None:
    """Prepend the run's section below the file's title: newest on top."""
    title = "# Benchmark results\n\nWritten by `make bench` (tools/bench.py); newest first.\n\n"
    previous = results_file.read_text() if results_file.exists() else title
    body = previous[len(title):] if previous.startswith(title) else previous
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(title + section + "\n" + body)


def write_scaling_plot(results: list[TierResult], path: Path) -> None:
    """Time against customers, one line per stage plus total and floor, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    results = [result for result in results if result.events_scale == 1
               and result.engine == "duckdb" and result.incremental_stages]
    if not results:
        return
    customers = [result.customers for result in results]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for stage in STAGES:
        axes.plot(customers, [result.stage(stage).seconds for result in results], marker="o",
                  label=stage)
    axes.plot(customers, [result.run_seconds for result in results], marker="o",
              linewidth=2.5, label="run (total)")
    axes.plot(customers, [result.incremental_seconds for result in results], marker="o",
              linewidth=2.5, label="daily incremental run (total)")
    axes.plot(customers, [result.floor_seconds for result in results], marker="o",
              linestyle="--", color="black", label="floor (one scan)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("customers")
    axes.set_ylabel("seconds")
    axes.set_title("retain run by stage against the scan floor")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def tiers_from(text: str | None) -> tuple[int, ...]:
    """Tiers from --tiers or BENCH_TIERS (comma separated), else 10,000 and 100,000."""
    source = text or os.environ.get("BENCH_TIERS")
    if not source:
        return DEFAULT_TIERS
    return tuple(sorted(int(part.replace("_", "")) for part in source.split(",") if part.strip()))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tiers", default=None, metavar="N,N",
                        help="customers per tier (env BENCH_TIERS; default 10000,100000)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF,
                        metavar="YYYY-MM-DD", help="end of the data and as-of date")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, metavar="DIR",
                        help="where results.md and scaling.png go (default bench/)")
    parser.add_argument("--events-scale", type=float, default=1.0, metavar="X",
                        help="usage events per customer as a multiple of the generator's "
                             "default (e.g. 2: the memory check at 500,000 customers)")
    parser.add_argument("--full-only", action="store_true",
                        help="time the full run only, not the daily incremental run")
    parser.add_argument("--spark-tiers", default=os.environ.get("BENCH_SPARK_TIERS", ""),
                        metavar="N,N",
                        help="customers per Spark tier, after the DuckDB tiers: full, daily "
                             "and full rebuild through the Thrift server of the local "
                             "cluster, started (and stopped) unless running (env "
                             "BENCH_SPARK_TIERS; default none; make bench: 10000)")


def run(args: argparse.Namespace) -> int:
    """Run every tier, then write the results and the plot."""
    quiet_telemetry()
    work_dir = DATA_DIR / "warehouses"
    results = [run_tier(customers, args.seed, args.as_of, work_dir, args.events_scale,
                        daily=not args.full_only)
               for customers in tiers_from(args.tiers)]
    spark_tiers = tiers_from(args.spark_tiers) if args.spark_tiers else ()
    if spark_tiers:
        with local_cluster():
            results += [run_tier(customers, args.seed, args.as_of, work_dir,
                                 args.events_scale, daily=not args.full_only, engine="spark")
                        for customers in spark_tiers]
    section = results_section(results, args.as_of, args.seed)
    write_results(section, args.out / "results.md")
    write_scaling_plot(results, args.out / "scaling.png")
    print(section)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
