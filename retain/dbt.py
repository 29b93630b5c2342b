"""Run dbt against one warehouse file, showing progress, not logs.

dbt runs in a child process: DuckDB admits one process per file, and only
the end of the process guarantees that dbt's connection is closed before
the file is published. The child dies with the run, even with a run killed by
SIGKILL (on Linux), and holds the run's lock while it lives: no dbt is ever
left writing the build file outside the lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retain.incremental import RunPlan
from retain.publish import held_lock_fds
from retain.settings import (
    DBT_TARGETS,
    PROCESS_RESERVE,
    PROJECT_DIR,
    QUIET_ENVIRONMENT,
    Settings,
    duckdb_config,
)

# What a scheduled or `retain run` build executes: models, seeds and data
# tests. Unit tests check the SQL, not the data: `make test` runs them once.
PRODUCTION_BUILD = ("build", "--exclude-resource-type", "unit_test")


@dataclass
class DbtOutcome:
    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def dbt_arguments(command: Sequence[str], settings: Settings,
                  run_vars: Mapping[str, object] | None = None) -> list[str]:
    """A dbt command on the run's engine (profiles.yml target) with --vars: the as_of
    date, every metric setting of the run, and run_vars (an incremental run's
    processed_through)."""
    return [*command, "--target", settings.dbt_target,
            "--vars", json.dumps({**settings.dbt_vars(), **(run_vars or {})})]


# The vars of a DuckDB production build that change from day to day: the build file
# holds them instead (retain.engines.duckdb.define_run_dates, macros/as_of.sql), so
# that --vars stay the same and dbt parses only the files that changed.
DAILY_VARS = ("as_of_date", "processed_through")


def dated_by_build_file_arguments(command: Sequence[str], settings: Settings) -> list[str]:
    """A dbt command on DuckDB whose run dates are the build file's macros (written by
    define_run_dates first): --vars hold the metric settings only, the same every day."""
    constant = {name: value for name, value in settings.dbt_vars().items()
                if name not in DAILY_VARS}
    return [*command, "--target", settings.dbt_target,
            "--vars", json.dumps({**constant, "run_dates_in_build_file": True})]


def build_arguments(settings: Settings, plan: RunPlan) -> list[str]:
    """The production build of a run, as `retain run` and the Dagster assets start it. A
    full run replaces every table (a fresh DuckDB file has none; Spark's metastore
    keeps the last run's)."""
    command = PRODUCTION_BUILD if plan.incremental else (*PRODUCTION_BUILD, "--full-refresh")
    if settings.engine != "duckdb":
        return dbt_arguments(command, settings, plan.dbt_vars())
    return dated_by_build_file_arguments(command, settings)


# dbt's own debug log (logs/dbt.log, every statement of every node) costs about 1 s of
# a build's 10 s of fixed cost; the run shows progress and failures without it. Set
# DBT_LOG_LEVEL_FILE=debug to have it back.
DBT_FILE_LOG_OFF = {"DBT_LOG_LEVEL_FILE": "none"}


def dbt_environment(warehouse: Path, project_dir: Path = PROJECT_DIR,
                    in_its_folder: bool = False) -> dict[str, str]:
    """dbt's environment: the warehouse file, the DuckDB memory limit (less what dbt's
    own process holds, PROCESS_RESERVE) and spill folder every connection of the run
    uses, and the Spark session's folder beside the file (profiles.yml reads them).

    in_its_folder: for a dbt started in the file's folder (run_dbt on DuckDB),
    the file and its spill folder are named relative to it."""
    config = duckdb_config(warehouse.parent / "spill", PROCESS_RESERVE)
    path, spill = str(warehouse), config["temp_directory"]
    if in_its_folder:
        path = warehouse.name
        if Path(spill) == warehouse.parent / "spill":
            spill = "spill"
    return {**DBT_FILE_LOG_OFF, **os.environ, **QUIET_ENVIRONMENT,
            "RETAIN_DUCKDB_PATH": path,
            "RETAIN_SPARK_DIR": str(spark_dir(warehouse)),
            "DBT_PROFILES_DIR": str(project_dir),
            "RETAIN_DUCKDB_MEMORY_LIMIT": config["memory_limit"],
            "RETAIN_DUCKDB_TEMP_DIR": spill}


def spark_dir(build_file: Path) -> Path:
    """The local Spark session's metastore, warehouse and staged raw tables: beside the
    DuckDB build file whose validated raw tables it reads."""
    return build_file.parent / "spark"


# dbt's process runs this, then execs dbt: not a preexec_fn, because by the build a run has
# several threads (DuckDB's, GX's tqdm monitor) and Python code between fork and exec in a
# threaded process can deadlock. PR_SET_PDEATHSIG (1) has the kernel SIGKILL dbt when the
# thread that started it ends, which run_dbt's thread does only after dbt or when the whole
# run dies, kill -9 included; it survives exec. Had the run died before prctl, no signal
# would come: the parent's pid tells.
_DIE_WITH_PARENT = """\
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0:
    raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


def _dying_with_this_process(command: list[str]) -> list[str]:
    """command, started so that the kernel kills it when this process dies (Linux only:
    elsewhere the run lock dbt holds still keeps the next run away until dbt ends)."""
    if sys.platform != "linux":
        return command
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]


RESULT_EVENTS = {"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult",
                 "LogNodeResult"}


def _progress_line(event: dict[str, Any]) -> str | None:
    """One line per finished model or seed, per failing test, and per message a macro
    logs (retain's run-operations, macros/spark_io.sql); None for the rest."""
    name = event.get("info", {}).get("name")
    if name == "JinjaLogInfo":
        return f"  {event['info'].get('msg', '').strip()}"
    if name not in RESULT_EVENTS:
        return None
    data = event["data"]
    node = data.get("node_info", {})
    status = str(data.get("status", "")).lower()
    if node.get("resource_type") in {"test", "unit_test"} and status == "pass":
        return None  # hundreds of passing tests are not news; failures are
    seconds = float(data.get("execution_time") or 0)
    counter = f"[{data.get('index', '?'):>4}/{data.get('total', '?')}]"
    return (f"  {counter} {status:<7} {node.get('resource_type', ''):<10} "
            f"{node.get('node_name')} ({seconds:.1f}s)")


def _outcome_from_run_results(path: Path, outcome: DbtOutcome) -> None:
    if not path.exists():
        return
    for result in json.loads(path.read_text()).get("results", []):
        status = str(result.get("status")).lower()
        outcome.counts[status] = outcome.counts.get(status, 0) + 1
        if status in {"error", "fail"}:
            outcome.failures.append(f"{result.get('unique_id')}: {_gist(result, status)}")


def _gist(result: dict[str, Any], status: str) -> str:
    """A failed node's message in one line: dbt's first line ("Runtime Error in model
    x") says where, the database's line under it what (e.g. DuckDB's "Out of Memory
    Error: failed to allocate ..."), which the run's last line must name."""
    lines = [line.strip() for line in (result.get("message") or "").splitlines()
             if line.strip()]
    if not lines:
        return status
    if lines[0].startswith(("Runtime Error", "Database Error")) and len(lines) > 1:
        return f"{lines[0]}: {lines[1]}"
    return lines[0]


def _on_duckdb(arguments: Sequence[str]) -> bool:
    """Whether a dbt command (from dbt_arguments) runs on the DuckDB target."""
    return ("--target" in arguments
            and arguments[arguments.index("--target") + 1] == DBT_TARGETS["duckdb"])


def run_dbt(arguments: list[str], warehouse: Path,
            progress: Callable[[str], None] = lambda _: None,
            project_dir: Path = PROJECT_DIR) -> DbtOutcome:
    """Run one dbt command (from dbt_arguments) on warehouse.

    project_dir is this project unless a test builds a modified copy of it. dbt inherits
    the run locks this process holds: a dbt outliving a killed run keeps its lock until
    the kernel's signal (_DIE_WITH_PARENT) ends it.

    On the DuckDB target dbt starts in warehouse's folder and the profile names the
    file relative to it. dbt's partial parse holds only while the profile it renders is
    unchanged, and an absolute path changes it with every warehouse: the first build on
    another warehouse (a test's, a bench tier's) re-parsed the whole project (about 4 s
    more). Spark's session settings stay relative to the project folder.
    """
    in_build_folder = _on_duckdb(arguments)
    target = Path(os.environ.get("DBT_TARGET_PATH") or project_dir / "target")
    args = [str(Path(sys.executable).with_name("dbt")), *arguments, "--project-dir",
            str(project_dir), "--target-path", str(target),
            "--log-format", "json", "--log-level", "info"]
    started = time.perf_counter()
    errors: list[str] = []
    with subprocess.Popen(_dying_with_this_process(args),
                          cwd=warehouse.parent if in_build_folder else project_dir,
                          env=dbt_environment(warehouse, project_dir, in_build_folder),
                          stdout=subprocess.PIPE,
                          text=True, pass_fds=held_lock_fds()) as process:
        assert process.stdout is not None
        for raw_line in process.stdout:
            try:
                event = json.loads(raw_line)
            except json.JSONDecodeError:
                progress(raw_line.rstrip())
                continue
            if event.get("info", {}).get("level") == "error":
                errors.append(event["info"].get("msg", "").strip())
            line = _progress_line(event)
            if line:
                progress(line)
    outcome = DbtOutcome(success=process.returncode == 0,
                         seconds=time.perf_counter() - started)
    _outcome_from_run_results(target / "run_results.json", outcome)
    if not outcome.success and not outcome.failures:
        outcome.failures = [e for e in errors if e] or [f"dbt exited with {process.returncode}"]
    return outcome
