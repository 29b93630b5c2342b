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

from retain.generate import generate_raw_data
from retain.incremental import run_plan
from retain.interface import PUBLISHED_RELATIONS
from retain.load import raw_files
from retain.meta import git_commit
from retain.pipeline import build_step, load_step, publish_step, validate_step
from retain.settings import (
    PROJECT_DIR,
    Settings,
    configured_memory_limit,
    memory_bytes,
    quiet_telemetry,
)
from retain.sql import sql_identifier, sql_literal
from tools.daily_check import write_daily_drop

DESCRIPTION = ("Time every pipeline stage at several sizes against the scan floor; write "
               "bench/results.md and bench/scaling.png.")
DEFAULT_TIERS = (10_000, 100_000)
DEFAULT_AS_OF = date(2026, 11, 30)
BENCH_DIR = PROJECT_DIR / "bench"
DATA_DIR = PROJECT_DIR / "data" / "bench"  # git-ignored, like data/
STAGES = ("load", "validate", "dbt build", "publish")
GIB = 1024 ** 3

# Targets of the performance issue, checked on the ratios of one run.
RUN_FLOOR_TARGET = 30
BUILD_FLOOR_TARGET = 15
GROWTH_TARGET = 10
INCREMENTAL_TARGET = 1 / 5  # the daily run against the full one (incremental issue)
MEMORY_HEADROOM = GIB


def _progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass
class Stage:
    name: str
    seconds: float
    peak_rss: int


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


@contextmanager
def peak_rss_sampler(interval: float = 0.1) -> Iterator[Callable[[], int]]:
    """Sample this process tree's RSS in a thread; yields a function returning the peak."""
    process, peak, stop = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(process))
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: peak[0]
    finally:
        stop.set()
        thread.join()


def raw_data(customers: int, seed: int, end_date: date) -> Path:
    """Generated Parquet raw data for a tier, reused while size, seed and end date match."""
    folder = DATA_DIR / f"{customers}_{seed}_{end_date.isoformat()}"
    marker = folder / ".complete"
    if marker.exists():
        _progress(f"raw data for {customers:,} customers: reusing {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    _progress(f"raw data for {customers:,} customers: generating into {folder}")
    generate_raw_data(folder, customers=customers, seed=seed, end_date=end_date,
                      file_format="parquet", progress=_progress)
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


def _interface_rows(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: int(con.execute(f"select count(*) from {sql_identifier(name)}").fetchone()[0])
                for name in PUBLISHED_RELATIONS}


def run_tier(customers: int, seed: int, as_of: date, work_dir: Path) -> TierResult:
    """Generate (or reuse) and measure the floor; then time every pipeline step of a full
    run as of the day before as_of, and of the daily incremental run of as_of that
    continues it (raw folders as known on each day, tools.daily_check)."""
    raw = raw_data(customers, seed, as_of)
    _progress(f"{customers:,} customers: floor (one pass over the raw files, best of 3)")
    result = TierResult(customers, floor_seconds(raw), raw_rows={})
    _progress(f"{customers:,} customers: floor {result.floor_seconds:.2f}s")
    warehouse = work_dir / f"{customers}" / "retain.duckdb"
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    drop = work_dir / f"{customers}_raw"
    settings = Settings(raw_dir=drop, warehouse=warehouse, as_of=as_of - timedelta(days=1))
    result.memory_limit = configured_memory_limit()
    write_daily_drop(raw, drop, settings.as_of)
    result.stages, rows, result.slowest_nodes = _timed_run(settings, "full")
    result.raw_rows = rows
    write_daily_drop(raw, drop, as_of)
    result.incremental_stages, _, result.incremental_slowest_nodes = _timed_run(
        replace(settings, as_of=as_of), "incremental")
    result.interface_rows = _interface_rows(warehouse)
    return result


def _timed_run(settings: Settings, label: str) -> tuple[list[Stage], dict[str, int],
                                                          list[tuple[str, float]]]:
    """Run every pipeline step, timing each and sampling peak memory; the stages, the raw
    rows and the slowest dbt nodes. The plan is made once, before the steps, as `retain
    run` makes it: a full run's load forgets the kept state, so a later plan would differ."""
    run_id = f"bench-{label}"
    plan = run_plan(settings)
    if label == "incremental" and not plan.incremental:
        raise SystemExit(f"bench: the daily run is not incremental: {plan.reason}")
    steps: dict[str, Callable[[], object]] = {
        "load": lambda: load_step(settings, run_id, lambda _: None, plan),
        "validate": lambda: validate_step(settings, run_id, lambda _: None, plan),
        "dbt build": lambda: build_step(settings, lambda _: None, plan),
        "publish": lambda: publish_step(settings, run_id, lambda _: None),
    }
    stages, rows, slowest = [], {}, []
    for name, step in steps.items():
        _progress(f"{settings.raw_dir.name}: {label} {name} as of {settings.as_of} ...")
        with peak_rss_sampler() as peak:
            started = time.perf_counter()
            outcome = step()
            seconds = time.perf_counter() - started
        _check(name, outcome)
        if name == "load":
            rows = dict(outcome)  # type: ignore[call-overload]
        stages.append(Stage(name, seconds, peak()))
        _progress(f"{settings.raw_dir.name}: {label} {name} {seconds:.1f}s, "
                  f"peak RSS {peak() / GIB:.2f} GiB")
        if name == "dbt build":
            slowest = _slowest_nodes()
    return stages, rows, slowest


def _check(stage: str, outcome: object) -> None:
    """A failed step ends the benchmark: timings of a failed run mean nothing."""
    passed = getattr(outcome, "passed", getattr(outcome, "success", True))
    if not passed:
        detail = getattr(outcome, "failures", "")
        raise SystemExit(f"bench: {stage} failed: {detail}")


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def targets_lines(results: list[TierResult]) -> list[str]:
    """The issue's targets, each with its measured ratio and met / missed."""
    by_size = {result.customers: result for result in results}
    lines = []
    if 100_000 in by_size:
        tier = by_size[100_000]
        run_ratio = tier.run_seconds / tier.floor_seconds
        build_ratio = tier.stage("dbt build").seconds / tier.floor_seconds
        lines.append(f"- run at 100,000 customers: {run_ratio:.1f}x the floor "
                     f"(target <= {RUN_FLOOR_TARGET}x): {_mark(run_ratio <= RUN_FLOOR_TARGET)}")
        lines.append(f"- dbt build at 100,000 customers: {build_ratio:.1f}x the floor "
                     f"(target <= {BUILD_FLOOR_TARGET}x): "
                     f"{_mark(build_ratio <= BUILD_FLOOR_TARGET)}")
    if 100_000 in by_size:
        ratio = by_size[100_000].incremental_ratio
        lines.append(f"- daily incremental run at 100,000 customers: {ratio:.2f} of the full "
                     f"run's time (target <= {INCREMENTAL_TARGET:.2f}): "
                     f"{_mark(ratio <= INCREMENTAL_TARGET)}")
    if {10_000, 100_000} <= by_size.keys():
        growth = by_size[100_000].run_seconds / by_size[10_000].run_seconds
        lines.append(f"- time from 10,000 to 100,000 customers grows {growth:.1f}x "
                     f"(target <= {GROWTH_TARGET}x): {_mark(growth <= GROWTH_TARGET)}")
    if 1_000_000 in by_size:
        tier = by_size[1_000_000]
        limit = memory_bytes(tier.memory_limit)
        lines.append(f"- 1,000,000 customers completed; peak RSS {tier.peak_rss / GIB:.2f} GiB "
                     f"(target < memory limit {tier.memory_limit} + 1 GiB): "
                     f"{_mark(limit is not None and tier.peak_rss < limit + MEMORY_HEADROOM)}")
    return lines


def results_section(results: list[TierResult], as_of: date, seed: int) -> str:
    """One markdown section for this benchmark run."""
    load1, load5, _ = os.getloadavg()
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {git_commit(short=True)}",
        "",
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"DuckDB {version('duckdb')}, dbt-core {version('dbt-core')}, "
        f"dbt-duckdb {version('dbt-duckdb')}; load average at the end {load1:.1f} / "
        f"{load5:.1f} (1 / 5 min). Raw data: Parquet, seed {seed}, as of {as_of}.",
        "",
        "Targets:",
        *targets_lines(results),
        "",
    ]
    for result in results:
        lines += [f"### {result.customers:,} customers", "",
                  f"Floor (one pass over every raw file, best of 3): "
                  f"{result.floor_seconds:.2f} s", "",
                  "| run | stage | seconds | x floor | peak RSS (GiB) |",
                  "|---|---|---:|---:|---:|"]
        for label, stages in (("full", result.stages),
                              ("incremental", result.incremental_stages)):
            for stage in stages:
                lines.append(f"| {label} | {stage.name} | {stage.seconds:.1f} | "
                             f"{stage.seconds / result.floor_seconds:.1f} | "
                             f"{stage.peak_rss / GIB:.2f} |")
            total = sum(stage.seconds for stage in stages)
            lines.append(f"| {label} | **total** | **{total:.1f}** | "
                         f"**{total / result.floor_seconds:.1f}** | "
                         f"{max(stage.peak_rss for stage in stages) / GIB:.2f} |")
        lines += ["", f"Daily incremental run / full run: **{result.incremental_ratio:.2f}** "
                      f"(full run as of the day before, from that day's raw folder; the "
                      f"incremental run continues it with the next day's)."]
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


def run(args: argparse.Namespace) -> int:
    """Run every tier, then write the results and the plot."""
    quiet_telemetry()
    work_dir = DATA_DIR / "warehouses"
    results = [run_tier(customers, args.seed, args.as_of, work_dir)
               for customers in tiers_from(args.tiers)]
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
