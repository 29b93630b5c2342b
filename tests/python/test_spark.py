"""The Spark stage of `make test` (make spark-test, `pytest -m spark`): a local Spark
cluster (`make spark-cluster`: a master, two workers, a Thrift server) started through
the command line as `make` does, checked, and at the end stopped with every process it
started; in between, daily runs of `retain run --engine spark` through its Thrift server:
a full run as of D-2 with a worker killed in the middle, then incremental runs D-1 and D
that continue its tables, with late events and a month that loses every row; their data
tests and the unit tests run there, and every interface table is compared with DuckDB's
full build of the same day cell for cell.

Needs retain[spark] and Java 17; `make spark-test` installs both when missing. One
fixture keeps the stage at about eight minutes: customer_success fills all 22 interface
tables (and the 3 supporting ones); the revenue rules (fx, proration, rounding) are
proven on Spark by their unit tests, and `make spark-parity` compares the 10,000-customer
sample.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from retain.dbt import dbt_arguments, run_dbt
from retain.engines.spark import SparkEngine
from retain.interface import PUBLISHED_RELATIONS, open_published
from retain.pipeline import ExitCode, RunReport, run_pipeline
from retain.publish import build_path
from retain.settings import Settings
from retain.spark_cluster import (
    EXECUTOR_CLASS,
    THRIFT_APP_NAME,
    WORKERS,
    ClusterConfig,
    command_line,
    executor_pids,
    is_alive,
    main_class,
    master_json,
    pid_file,
    process_names,
    recorded_pid,
    stop_cluster,
    thrift_application,
)
from retain.sql import sql_literal
from tests.python.conftest import FIXTURES, free_ports
from tests.python.daily_raw import raw_folder
from tests.python.spark_cluster_helpers import (
    LOOPBACK_V4,
    LOOPBACK_V6_MAPPED,
    cluster_command,
    listening_addresses,
    processes_in,
    status_json,
)
from tools.compare import TableDifference, interface_differences

pytestmark = pytest.mark.spark

# Unit tests Spark cannot run, each with its reason in the model's yml.
NOT_ON_SPARK = "tag:not_on_spark"


@dataclass
class StartedCluster:
    """The module's cluster, started through the command line as `make spark-cluster`
    does, and the processes the start left running."""
    config: ClusterConfig
    start: subprocess.CompletedProcess[str]
    start_seconds: float
    pids: dict[str, int] = field(default_factory=dict)
    executors: list[int] = field(default_factory=list)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartedCluster]:
    """The local cluster on free ports, dbt's spark_thrift target pointed at it; whatever
    the tests did, stopped (its recorded pids) after the module."""
    master, master_webui, worker_1, worker_2, thrift = free_ports(5)
    config = ClusterConfig(folder=tmp_path_factory.mktemp("spark_cluster"),
                           master_port=master, master_webui_port=master_webui,
                           worker_webui_ports=(worker_1, worker_2), thrift_port=thrift)
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("RETAIN_SPARK_THRIFT_PORT", str(thrift))
        # Fixture-sized data: Spark's work per query is the cost (profiles.yml).
        environment.setenv("RETAIN_SPARK_CODEGEN", "false")
        environment.setenv("RETAIN_SPARK_ADAPTIVE", "false")
        began = time.monotonic()
        start = cluster_command(config, "start")
        try:
            yield StartedCluster(config, start, time.monotonic() - began)
        finally:
            stop_cluster(config.folder, progress=lambda _: None)


@pytest.fixture(scope="module")
def cluster(started: StartedCluster) -> ClusterConfig:
    assert started.start.returncode == 0, started.start.stdout + started.start.stderr
    return started.config


def test_the_cluster_starts_its_jvms_on_loopback_with_executors_on_the_workers(
        started: StartedCluster, cluster: ClusterConfig) -> None:
    """First in the module, before any build: a master, two workers and a Thrift server,
    each a JVM of its own detached from the command that started it, listening on
    127.0.0.1 only; the Thrift server's application holds an executor in each worker;
    a second start changes nothing."""
    from pyhive import hive  # retain[spark]: a plain `pytest` collects without it

    folder = cluster.folder
    started.pids = {name: int(pid_file(folder, name).read_text()) for name in process_names()}
    assert len(set(started.pids.values())) == 4
    for name, pid in started.pids.items():
        arguments = command_line(pid)
        assert arguments is not None, f"{name} (pid {pid}) is not running"
        # The launch scripts exec'd java in the recorded pid, running the process's class.
        assert Path(arguments[0]).name == "java" and main_class(name) in arguments, arguments
        assert os.getsid(pid) == pid
        listening = listening_addresses(pid)
        assert listening and {address for address, _ in listening} <= {
            LOOPBACK_V4, LOOPBACK_V6_MAPPED}, (name, listening)
    assert cluster_command(cluster, "start").returncode == 0  # already running: no change
    assert {name: int(pid_file(folder, name).read_text()) for name in started.pids} == (
        started.pids)

    master = status_json(cluster.master_webui_port)
    assert master["status"] == "ALIVE"
    application = next(app for app in master["activeapps"] if app["name"] == THRIFT_APP_NAME)
    assert application["state"] == "RUNNING" and application["cores"] == 2
    workers = [worker for worker in master["workers"] if worker["state"] == "ALIVE"]
    assert sorted(worker["webuiaddress"] for worker in workers) == sorted(
        f"http://127.0.0.1:{port}" for port in cluster.worker_webui_ports)
    for port, name in zip(cluster.worker_webui_ports, WORKERS, strict=True):
        worker = status_json(port)
        assert [executor["appid"] for executor in worker["executors"]] == [application["id"]]
        # The executor is a JVM of its own that the worker started, in its work folder.
        found = executor_pids(started.pids[name], folder)
        assert len(found) == 1 and EXECUTOR_CLASS in (command_line(found[0]) or [])
        started.executors += found

    # The Thrift server's metastore and tables are the cluster folder's; its SQL settings
    # are the `spark` target's.
    connection = hive.connect(host="127.0.0.1", port=cluster.thrift_port, username="retain")
    try:
        cursor = connection.cursor()
        cursor.execute("create table cluster_check using parquet as select id from range(10)")
        assert (folder / "tables" / "cluster_check").is_dir()
        assert (folder / "metastore_db").is_dir()
        cursor.execute("select current_timezone()")
        assert cursor.fetchall() == [("UTC",)]
    finally:
        connection.close()
    status = cluster_command(cluster, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"Thrift address: 127.0.0.1:{cluster.thrift_port}" in status.stdout


# D of the daily runs: D-2 is June 30, the last day the fixture's renewals and churn-risk
# worklist have rows; D-1's folder holds the first events of July (the rhythms of
# tests/python/daily_raw.py skip July 1), which the source withdraws by D: the month
# loses every row it had.
DAY = date(2024, 7, 2)
DAYS = (DAY - timedelta(days=2), DAY - timedelta(days=1), DAY)
JULY_FIRST = [{"event_id": f"july{user}", "customer_id": customer, "user_id": user,
               "event_name": "login", "occurred_at": "2024-07-01T10:00:00Z"}
              for customer, user in (("c1", "u1"), ("c3", "u4"))]


@dataclass
class ClusterDays:
    """A full run on the cluster as of D-2, then incremental runs D-1 and D, each day's
    published tables compared with a full DuckDB build of the same raw files; and the
    cluster as it was when a worker was killed in the first build."""
    reports: dict[date, RunReport] = field(default_factory=dict)
    duckdb_reports: dict[date, RunReport] = field(default_factory=dict)
    differences: dict[date, list[TableDifference]] = field(default_factory=dict)
    july_events: dict[date, int] = field(default_factory=dict)
    published_rows: dict[date, dict[str, int]] = field(default_factory=dict)
    settings: Settings | None = None
    state_before_kill: dict[str, Any] = field(default_factory=dict)
    killed_worker_pid: int | None = None


# The models built on Spark before a worker is killed: the build is under way then.
MODELS_BEFORE_KILL = 12
# retain.dbt's progress line of a finished model: "[  12/250] ok      model      name (1.0s)".
FINISHED_MODEL = re.compile(r"\]\s+\S+\s+model\s")


def _july_events(location: Path) -> int:
    """Events of July in the published customer activity."""
    with open_published(location) as con:
        return int(con.execute("select coalesce(sum(events), 0) from fct_customer_activity_monthly"
                               " where month = date '2024-07-01'").fetchall()[0][0])


def _published_rows(location: Path) -> dict[str, int]:
    with open_published(location) as con:
        return {name: int(con.execute(f"select count(*) from {name}").fetchall()[0][0])
                for name in PUBLISHED_RELATIONS}


def _run_day(days: ClusterDays, day: date, progress: Callable[[str], None]) -> None:
    """One day's run on the cluster from the drop folder (the raw files as known that day),
    and DuckDB's full build of the same files, compared."""
    assert days.settings is not None
    root = days.settings.warehouse.parent.parent
    raw = raw_folder(root / "days", day, day=DAY,
                     extra_events=JULY_FIRST if day == DAYS[1] else None,
                     withdrawn_from=date(2024, 7, 1) if day == DAY else None)
    shutil.rmtree(days.settings.raw_dir, ignore_errors=True)
    shutil.copytree(raw, days.settings.raw_dir)
    days.settings = replace(days.settings, as_of=day)
    days.reports[day] = run_pipeline(days.settings, progress)
    assert days.reports[day].exit_code == ExitCode.OK, days.reports[day].errors
    published = SparkEngine().published_location(days.settings)
    days.july_events[day] = _july_events(published)
    days.published_rows[day] = _published_rows(published)
    duckdb_settings = Settings(raw_dir=raw, warehouse=root / f"duckdb_{day}" / "retain.duckdb",
                               as_of=day)
    days.duckdb_reports[day] = run_pipeline(duckdb_settings, lambda _: None)
    assert days.duckdb_reports[day].exit_code == ExitCode.OK
    days.differences[day] = interface_differences(duckdb_settings.warehouse, published,
                                                  across_engines=True)


@pytest.fixture(scope="module")
def full_run(cluster: ClusterConfig, tmp_path_factory: pytest.TempPathFactory) -> ClusterDays:
    """The full run as of D-2 through the Thrift server on the cluster, from one raw drop
    folder as production has it, with worker-2 killed (kill -9) in the middle of the
    build: Spark must finish the job on the other worker."""
    root = tmp_path_factory.mktemp("spark_days")
    days = ClusterDays(settings=Settings(
        raw_dir=root / "raw", warehouse=root / "spark" / "retain.duckdb", as_of=DAYS[0],
        engine="spark", spark_connection="thrift"))
    built: list[str] = []

    def progress(line: str) -> None:
        if days.killed_worker_pid or not FINISHED_MODEL.search(line):
            return
        built.append(line)
        if len(built) == MODELS_BEFORE_KILL:
            days.state_before_kill = master_json(cluster) or {}
            days.killed_worker_pid = recorded_pid(cluster.folder, "worker-2")
            assert days.killed_worker_pid is not None
            os.kill(days.killed_worker_pid, signal.SIGKILL)

    _run_day(days, DAYS[0], progress)
    return days


@pytest.fixture(scope="module")
def daily_runs(full_run: ClusterDays) -> ClusterDays:
    """The incremental runs D-1 and D that continue the full run (spark_daily: not in
    `make test`, whose length they would take past its limit; `make spark-test` runs
    them)."""
    for day in DAYS[1:]:
        _run_day(full_run, day, lambda _: None)
    return full_run


def test_every_interface_table_is_identical_on_spark(full_run: ClusterDays) -> None:
    """The full run as of D-2 equals DuckDB's full build cell for cell."""
    assert [difference.line() for difference in full_run.differences[DAYS[0]]] == []
    # Every data test ran on both engines and passed: 83 nodes since one column_facts
    # test per model or seed holds its not-null, accepted-values, unique, as-of-month and
    # key-combination facts (205, then 130 before;
    # test_every_fact_tested_before_column_facts_is_still_tested keeps every fact).
    duckdb_counts = full_run.duckdb_reports[DAYS[0]].dbt_counts
    spark_counts = full_run.reports[DAYS[0]].dbt_counts
    assert spark_counts.get("pass", 0) == duckdb_counts.get("pass", 0) >= 83
    assert not {"error", "fail", "warn"} & spark_counts.keys()


@pytest.mark.spark_daily
def test_daily_runs_on_spark_continue_the_last_build(daily_runs: ClusterDays) -> None:
    """D-1 and D continue the Spark tables of the run before (from the lookback), pick up
    the late events, and a month that lost every row it had (July, withdrawn by D) keeps
    none: each day's interface tables equal DuckDB's full build of the day."""
    assert {day: [difference.line() for difference in daily_runs.differences[day]]
            for day in DAYS} == dict.fromkeys(DAYS, [])
    for day in DAYS[1:]:
        spark_counts = daily_runs.reports[day].dbt_counts
        assert spark_counts.get("pass", 0) == (
            daily_runs.duckdb_reports[day].dbt_counts.get("pass", 0))
        assert not {"error", "fail", "warn"} & spark_counts.keys()
    plans = {day: report.plan for day, report in daily_runs.reports.items()}
    assert plans[DAYS[0]] is not None and not plans[DAYS[0]].incremental
    assert plans[DAYS[1]] is not None and plans[DAYS[1]].incremental
    assert plans[DAYS[1]].first_day == DAYS[0] - timedelta(days=3)
    assert plans[DAY] is not None and plans[DAY].incremental
    assert plans[DAY].first_day == DAYS[1] - timedelta(days=3)
    # D-1's two logins of July 1, withdrawn by D.
    assert daily_runs.july_events == {DAYS[0]: 0, DAYS[1]: 2, DAY: 0}


def test_spark_publishes_parquet_a_duckdb_reader_opens(full_run: ClusterDays) -> None:
    assert full_run.settings is not None
    published = SparkEngine().published_location(full_run.settings)
    assert published.is_symlink(), "the published folder is a link switched by one rename"
    names = sorted(path.stem for path in published.glob("*.parquet"))
    assert names == sorted([*PUBLISHED_RELATIONS, "meta"])
    with duckdb.connect() as con:
        meta_file = sql_literal(published / "meta.parquet")
        meta = dict(con.execute(f"select key, value from {meta_file}").fetchall())
        counts = {name: con.execute(f"select count(*) from "
                                    f"{sql_literal(published / f'{name}.parquet')}")
                  .fetchall()[0][0] for name in PUBLISHED_RELATIONS}
    latest = max(full_run.reports)  # D-2, or D after test_daily_runs_on_spark_...
    assert meta["run_id"] == full_run.reports[latest].run_id
    assert (meta["as_of_date"], meta["engine"]) == (latest.isoformat(), "spark")
    assert {name: int(meta[f"rows.{name}"]) for name in PUBLISHED_RELATIONS} == counts
    rows = full_run.published_rows[DAYS[0]]
    assert all(rows.values()), f"every interface table has rows on this fixture at D-2: {rows}"


def test_unit_tests_pass_on_spark(full_run: ClusterDays) -> None:
    """After the build: an incremental model's unit test reads its built relation."""
    settings = full_run.settings
    assert settings is not None
    outcome = run_dbt(dbt_arguments(("test", "--select", "test_type:unit", "--exclude",
                                     NOT_ON_SPARK), settings), build_path(settings.warehouse))
    assert outcome.success, "\n".join(outcome.failures)
    assert outcome.counts.get("pass", 0) >= 56


def test_the_build_ran_in_the_workers_and_outlived_one_killed(cluster: ClusterConfig,
                                                              full_run: ClusterDays) -> None:
    """Mid-build, the Thrift server's application held both workers' cores: its executors,
    which ran the build, were the workers' JVMs, not dbt's process. Then worker-2 was
    killed (kill -9) and the build finished on worker-1, equal to DuckDB's
    (test_every_interface_table_is_identical_on_spark), and the next runs continued it."""
    assert full_run.settings is not None
    assert full_run.settings.dbt_target == "spark_thrift"
    before = full_run.state_before_kill
    application = thrift_application(before)
    assert application is not None and application["cores"] == 2, application
    assert sorted(worker["coresused"] for worker in before["workers"]
                  if worker["state"] == "ALIVE") == [1, 1]
    assert full_run.killed_worker_pid is not None
    assert not is_alive(full_run.killed_worker_pid)
    assert full_run.reports[DAYS[0]].exit_code == ExitCode.OK
    after = master_json(cluster)
    assert after is not None
    assert thrift_application(after) is not None, "the Thrift server still serves"


def test_no_thrift_server_stops_the_run_with_where_and_how(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    [port] = free_ports(1)
    monkeypatch.setenv("RETAIN_SPARK_THRIFT_PORT", str(port))
    settings = Settings(raw_dir=FIXTURES / "valid_small", warehouse=tmp_path / "retain.duckdb",
                        as_of=date(2024, 6, 15), engine="spark", spark_connection="thrift")
    report = run_pipeline(settings, progress=lambda _: None)
    assert report.exit_code != ExitCode.OK
    message = " ".join(report.errors)
    assert f"127.0.0.1:{port}" in message and "make spark-cluster" in message, message
    assert not SparkEngine().published_location(settings).exists(), "nothing is published"


def test_an_incremental_run_continues_only_its_own_warehouses_spark_tables(
        full_run: ClusterDays, tmp_path: Path) -> None:
    """The cluster's metastore serves every warehouse pointed at it: when another
    warehouse built the models' schema since (or nobody did), an incremental run drops it
    and builds every model whole, instead of continuing someone else's tables. (Last in
    the module: it drops the schema the other tests read.)"""
    from pyhive import hive  # retain[spark]: a plain `pytest` collects without it

    settings = full_run.settings
    assert settings is not None
    connection = hive.connect(host="127.0.0.1", port=int(os.environ["RETAIN_SPARK_THRIFT_PORT"]),
                              username="retain")

    def tables() -> set[str]:
        cursor = connection.cursor()
        cursor.execute("show tables in main")
        return {row[1] for row in cursor.fetchall()}

    def claim(warehouse: Path, continue_build: bool) -> None:
        arguments = {"warehouse": str(warehouse), "continue_build": continue_build}
        outcome = run_dbt(dbt_arguments(("run-operation", "claim_build_schema", "--args",
                                         json.dumps(arguments)), settings),
                          build_path(settings.warehouse))
        assert outcome.success, outcome.failures

    try:
        assert {"fct_mrr", "int_user_month_usage", "retain_build_owner"} <= tables()
        claim(settings.warehouse.resolve(), continue_build=True)  # its own: kept
        assert {"fct_mrr", "int_user_month_usage"} <= tables()
        claim(tmp_path / "other" / "retain.duckdb", continue_build=True)
        assert tables() == {"retain_build_owner"}
    finally:
        connection.close()


def listening_ports(ports: list[int]) -> list[int]:
    """Those of ports a socket listens on, on any address and in any process. Not a bind
    probe: the cluster's ports are ephemeral numbers (free_ports), which an outgoing
    connection of a test running beside this one may hold for a moment as its own end
    without listening (seen once, on a worker's web UI port)."""
    return sorted({connection.laddr.port for connection in psutil.net_connections(kind="tcp")
                   if connection.status == psutil.CONN_LISTEN
                   and connection.laddr.port in ports})


def test_stop_ends_exactly_what_the_cluster_started(started: StartedCluster,
                                                    cluster: ClusterConfig) -> None:
    """Last in the module: `make spark-cluster-stop` ends every JVM the start left running
    (the executors with their workers) and frees every port; nothing runs in the
    cluster's folder any more."""
    assert started.pids and started.executors, "the first test recorded what started"
    began = time.monotonic()
    stopped = cluster_command(cluster, "stop", timeout=120)
    stop_seconds = time.monotonic() - began
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [pid for pid in [*started.pids.values(), *started.executors] if is_alive(pid)] == []
    assert [name for name in process_names() if pid_file(cluster.folder, name).exists()] == []
    assert processes_in(cluster.folder) == []
    ports = [cluster.master_port, cluster.master_webui_port, *cluster.worker_webui_ports,
             cluster.thrift_port]
    assert listening_ports(ports) == []
    print(f"start {started.start_seconds:.1f} s, stop {stop_seconds:.1f} s")
