"""The Dagster code location: it loads, runs `retain run` as assets, blocks on bad input,
schedules the right day and serves the UI.

Runs go through the real job on the in-process executor against fixture
data; the dbt manifest is parsed once into a temporary target folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions
from orchestration.resources import RESOURCE_KEY, RetainRun, retried_when_locked
from orchestration.schedules import DEFAULT_CRON, daily_schedule
from retain.contract import TABLES
from retain.incremental import RunPlan, read_state, run_plan
from retain.pipeline import ExitCode, run_pipeline
from retain.publish import build_path
from retain.settings import PROJECT_DIR, Settings
from tests.python.conftest import FIXTURES, query

AS_OF = date(2024, 6, 15)
BIN = Path(sys.executable).parent
DBT = str(BIN / "dbt")
DAGSTER_YAML = PROJECT_DIR / "orchestration" / "dagster.yaml"


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dagster") / "target"


@pytest.fixture(scope="module")
def definitions(dbt_target: Path) -> dg.Definitions:
    """Built as `dagster` loads them; the manifest is missing, so it is parsed here."""
    return build_definitions(dbt_target)


@pytest.fixture(scope="module")
def dagster_env(dbt_target: Path, definitions: dg.Definitions,
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of the dagster subprocesses: telemetry off, the parsed manifest."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    return {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1",
            "DBT_TARGET_PATH": str(dbt_target)}


def run_job(definitions: dg.Definitions, raw_dir: Path, warehouse: Path,
            as_of: date = AS_OF) -> dg.ExecuteInProcessResult:
    """One run of the job for the partition (as-of day) as_of."""
    config = {"raw_dir": str(raw_dir), "warehouse": str(warehouse),
              "report_dir": str(warehouse.parent / "validation")}
    return definitions.resolve_job_def("retain_pipeline").execute_in_process(
        run_config={"resources": {RESOURCE_KEY: {"config": config}}},
        partition_key=as_of.isoformat(), instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False)


def materialised(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()}


def _dbt_build_environments(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The environments every `dbt build` started from now on gets, in order (retain.dbt
    and dagster-dbt both start dbt with subprocess.Popen), with the file and spill
    folder as dbt finds them from its working folder (`retain run` names them relative
    to the build folder it starts dbt in)."""
    started: list[dict[str, str]] = []

    class Recorded(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: list[str], *more: Any, **options: Any) -> None:
            if DBT in args and "build" in args:
                environment, folder = dict(options["env"]), Path(options["cwd"])
                for name in ("RETAIN_DUCKDB_PATH", "RETAIN_DUCKDB_TEMP_DIR"):
                    environment[name] = str(folder / environment[name])
                started.append(environment)
            super().__init__(args, *more, **options)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    return started


@dataclass
class FirstRuns:
    """The job's run as of AS_OF on the revenue fixture, then `retain run` on the same
    warehouse, with the plans each made and the environment each dbt build got."""
    result: dg.ExecuteInProcessResult
    warehouse: Path
    plans_after_job: int
    plans: list[RunPlan]
    builds: list[dict[str, str]]
    memory_limit_after_job: str | None
    retain_run: ExitCode
    retain_run_errors: list[str]


@pytest.fixture(scope="module")
def first_runs(definitions: dg.Definitions,
               tmp_path_factory: pytest.TempPathFactory) -> FirstRuns:
    """One Dagster run and one `retain run` that several tests read (each run costs a
    whole dbt build), under a memory limit of 3GiB and without a spill folder set."""
    warehouse = tmp_path_factory.mktemp("first_runs") / "retain.duckdb"
    plans: list[RunPlan] = []

    def counted(settings: Settings) -> RunPlan:
        plans.append(run_plan(settings))
        return plans[-1]

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("RETAIN_DUCKDB_MEMORY_LIMIT", "3GiB")
        monkeypatch.delenv("RETAIN_DUCKDB_TEMP_DIR", raising=False)
        builds = _dbt_build_environments(monkeypatch)
        # The Dagster resource makes the plan; a step would make its own without one.
        monkeypatch.setattr("orchestration.resources.run_plan", counted)
        monkeypatch.setattr("retain.pipeline.run_plan", counted)
        result = run_job(definitions, FIXTURES / "revenue", warehouse)
        plans_after_job = len(plans)
        memory_limit_after_job = os.environ.get("RETAIN_DUCKDB_MEMORY_LIMIT")
        report = run_pipeline(Settings(raw_dir=FIXTURES / "revenue", warehouse=warehouse,
                                       as_of=AS_OF,
                                       report_dir=warehouse.parent / "validation_retain_run"),
                              progress=lambda _: None)
    return FirstRuns(result, warehouse, plans_after_job, plans, builds,
                     memory_limit_after_job, report.exit_code, report.errors)


def test_whole_graph_materialises_and_publishes(first_runs: FirstRuns) -> None:
    result, warehouse = first_runs.result, first_runs.warehouse

    assert result.success
    done = materialised(result)
    assert {f"raw/{table.name}" for table in TABLES} <= done
    assert {"stg_invoices", "int_customer_mrr_monthly", "fct_mrr", "metrics_revenue_monthly",
            "published_warehouse"} <= done
    checks = result.get_asset_check_evaluations()
    assert {check.check_name for check in checks if check.asset_key.path[0] == "raw"} == {
        "raw_contract"}
    assert len([check for check in checks if check.check_name != "raw_contract"]) > 50, \
        "dbt tests surface as asset checks"
    assert all(check.passed for check in checks)
    assert read_state(warehouse) is not None, "the build file is kept for the next run"
    [(customers,)] = query(warehouse, "select cast(value as int) from meta "
                                      "where key = 'rows.raw.customers'")
    [(mrr_rows,)] = query(warehouse, "select count(*) from fct_mrr")
    assert customers == 14 and mrr_rows > 0


def test_a_run_plans_once_and_dbt_gets_the_memory_and_spill_of_retain_run(
        first_runs: FirstRuns) -> None:
    """Dagster's dbt step is `retain run`'s: the same memory limit (the run's, less dbt's
    process reserve, not profiles.yml's 6GB) and spill folder, and one plan per run."""
    assert first_runs.result.success
    assert first_runs.plans_after_job == 1, "load, checks and dbt of a Dagster run follow one plan"
    assert first_runs.memory_limit_after_job == "3GiB", "restored after dbt started"
    assert first_runs.retain_run == ExitCode.OK, first_runs.retain_run_errors
    assert len(first_runs.plans) == 2

    dagster, retain_run = ({name: environment.get(name) for name in (
        "RETAIN_DUCKDB_MEMORY_LIMIT", "RETAIN_DUCKDB_TEMP_DIR", "RETAIN_DUCKDB_PATH",
        "RETAIN_SPARK_DIR", "DBT_PROFILES_DIR")} for environment in first_runs.builds)
    assert dagster == retain_run
    assert retain_run["RETAIN_DUCKDB_MEMORY_LIMIT"] == "2560MiB"
    assert retain_run["RETAIN_DUCKDB_TEMP_DIR"] == str(
        build_path(first_runs.warehouse).parent / "spill")


def test_backfilling_a_past_day_keeps_its_snapshot_and_the_newest_day_published(
        definitions: dg.Definitions, first_runs: FirstRuns, tmp_path: Path) -> None:
    """A backfill runs one partition per day; each leaves a snapshot readable as of its
    day, and the published warehouse stays at the newest day. Today's run is the first
    runs' (copied: other tests read them)."""
    partitions = definitions.resolve_job_def("retain_pipeline").partitions_def
    assert partitions is not None
    keys = partitions.get_partition_keys(current_time=datetime(2024, 6, 16, 6, tzinfo=UTC))
    assert keys[0] == "2024-01-01" and keys[-1] == AS_OF.isoformat()
    assert first_runs.result.success
    home = shutil.copytree(first_runs.warehouse.parent, tmp_path / "home", symlinks=True)
    warehouse = home / first_runs.warehouse.name

    assert run_job(definitions, FIXTURES / "revenue", warehouse, date(2024, 5, 31)).success

    def as_of_of(path: Path) -> str:
        [(value,)] = query(path, "select value from meta where key = 'as_of_date'")
        return str(value)

    assert as_of_of(warehouse) == AS_OF.isoformat()
    snapshots = home / "snapshots"
    assert as_of_of(snapshots / "retain_2024-05-31.duckdb") == "2024-05-31"
    assert as_of_of(snapshots / f"retain_{AS_OF}.duckdb") == AS_OF.isoformat()
    [(may_months,)] = query(snapshots / "retain_2024-05-31.duckdb",
                            "select max(month) from metrics_revenue_monthly")
    assert may_months == date(2024, 5, 1), "the backfilled snapshot stops at its own day"


def test_failing_blocking_check_stops_dbt_and_publish(definitions: dg.Definitions,
                                                      tmp_path: Path) -> None:
    raw = shutil.copytree(FIXTURES / "revenue", tmp_path / "raw")
    customers = raw / "customers.csv"
    header, first, *_ = customers.read_text().splitlines()
    with customers.open("a") as handle:
        handle.write(first + "\n")  # the first customer twice: a duplicate primary key
    warehouse = tmp_path / "retain.duckdb"
    warehouse.write_bytes(b"the snapshot readers have now")

    result = run_job(definitions, raw, warehouse)

    assert not result.success
    assert materialised(result) == {f"raw/{table.name}" for table in TABLES}
    [failed] = [check for check in result.get_asset_check_evaluations() if not check.passed]
    assert failed.asset_key == dg.AssetKey(["raw", "customers"])
    assert failed.blocking and failed.severity == dg.AssetCheckSeverity.ERROR
    table = failed.metadata["failed_expectations"].value
    assert "unique" in table and first.split(",")[0] in table, table
    assert "retain_dbt" not in {event.step_key for event in result.all_events
                                if event.event_type_value == "STEP_START"}
    assert warehouse.read_bytes() == b"the snapshot readers have now"


def test_schedule_computes_the_last_complete_day(definitions: dg.Definitions) -> None:
    schedule = definitions.resolve_schedule_def("retain_daily")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (DEFAULT_CRON, "UTC")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 6, 16, 6, 0, tzinfo=UTC),
        repository_def=definitions.get_repository_def())
    [request] = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key == "2024-06-15"
    assert request.tags["retain/as_of_date"] == "2024-06-15"
    job = definitions.resolve_job_def("retain_pipeline")
    assert daily_schedule(job, "30 4 * * *").cron_schedule == "30 4 * * *"


def test_the_schedule_runs_incrementally_and_a_full_rebuild_is_one_job_away(
        definitions: dg.Definitions) -> None:
    """The daily schedule starts the job that continues the last run; its twin sets
    full_refresh on the retain resource, as `retain run --full-refresh` does."""
    assert definitions.resolve_schedule_def("retain_daily").job_name == "retain_pipeline"
    full = definitions.resolve_job_def("retain_full_rebuild")
    assert full.partitions_def == definitions.resolve_job_def("retain_pipeline").partitions_def
    assert full.partitioned_config is not None
    run_config = full.partitioned_config.get_run_config_for_partition_key(AS_OF.isoformat())
    resource = RetainRun(**run_config["resources"][RESOURCE_KEY]["config"])
    context = dg.build_asset_context(partition_key=AS_OF.isoformat())
    assert resource.run_settings(context).full_refresh
    assert not RetainRun().run_settings(context).full_refresh


def test_sensor_requests_a_run_when_raw_files_change(definitions: dg.Definitions,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    raw = shutil.copytree(FIXTURES / "revenue", tmp_path / "raw")
    monkeypatch.setenv("RETAIN_RAW_DIR", str(raw))
    sensor = definitions.resolve_sensor_def("retain_raw_files")

    repository = definitions.get_repository_def()
    first = sensor.evaluate_tick(dg.build_sensor_context(repository_def=repository))
    assert len(first.run_requests or []) == 1 and first.cursor
    unchanged = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor,
                                                             repository_def=repository))
    assert not unchanged.run_requests
    (raw / "plans.csv").write_text((raw / "plans.csv").read_text() + "\n")
    landed = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor,
                                                          repository_def=repository))
    assert len(landed.run_requests or []) == 1


def test_only_a_locked_file_is_retried(tmp_path: Path) -> None:
    with pytest.raises(dg.RetryRequested), retried_when_locked(tmp_path / "retain.duckdb"):
        raise duckdb.IOException('IO Error: Could not set lock on file "retain.duckdb"')
    with pytest.raises(duckdb.IOException), retried_when_locked(tmp_path / "retain.duckdb"):
        raise duckdb.IOException("IO Error: No space left on device")


def test_plain_definitions_validate_finds_the_code_location(
        dagster_env: dict[str, str]) -> None:
    """No -m: pyproject.toml's [tool.dagster] names the module, as Dagster users expect."""
    completed = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate"],
        cwd=PROJECT_DIR, env=dagster_env, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def webserver(dagster_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Plain `dagster dev` (no -m) on a free localhost port, stopped again after the test."""
    port = _free_port()
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_DIR, env=dagster_env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # dagster dev runs the webserver and the daemon as children: stop the group.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_ui_answers_on_localhost(webserver: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{webserver}/server_info", timeout=5) as response:
                assert response.status == 200
                assert "dagster_webserver_version" in response.read().decode()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
