"""The Spark stage of `make test` (make spark-test, `pytest -m spark`): a fixture raw folder
built by `retain run --engine spark` on a local Spark cluster (`make spark-cluster`: a
master, two workers, a Thrift server) through its Thrift server, its data tests and unit
tests run there, and every interface table compared with the DuckDB build cell for cell.

Needs retain[spark] and Java 17; `make spark-test` installs both when missing. One
fixture keeps the stage at about six minutes: customer_success fills all 22 interface
tables (and the 3 supporting ones); the revenue rules (fx, proration, rounding) are
proven on Spark by their unit tests, and `make spark-parity` compares the 10,000-customer
sample.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retain.dbt import dbt_arguments, run_dbt
from retain.engines.spark import SparkEngine
from retain.interface import PUBLISHED_RELATIONS
from retain.pipeline import ExitCode, run_pipeline
from retain.publish import build_path
from retain.settings import Settings
from retain.spark_cluster import (
    ClusterConfig,
    is_alive,
    master_json,
    recorded_pid,
    start_cluster,
    stop_cluster,
    thrift_application,
)
from retain.sql import sql_literal
from tests.python.conftest import FIXTURES, free_ports
from tools.spark_parity import ParityResult, engines_parity

pytestmark = pytest.mark.spark

FIXTURE, AS_OF = "customer_success", date(2024, 6, 30)
# Unit tests Spark cannot run, each with its reason in the model's yml.
NOT_ON_SPARK = "tag:not_on_spark"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterConfig]:
    """The local cluster on free ports, dbt's spark_thrift target pointed at it; stopped
    (its recorded pids) after the module."""
    master, master_webui, worker_1, worker_2, thrift = free_ports(5)
    config = ClusterConfig(folder=tmp_path_factory.mktemp("spark_cluster"),
                           master_port=master, master_webui_port=master_webui,
                           worker_webui_ports=(worker_1, worker_2), thrift_port=thrift)
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("RETAIN_SPARK_THRIFT_PORT", str(thrift))
        start_cluster(config, progress=lambda _: None)
        try:
            yield config
        finally:
            stop_cluster(config.folder, progress=lambda _: None)


@dataclass
class ClusterRun:
    """The parity run on the cluster, and the cluster as it was when a worker was killed."""
    parity: ParityResult
    state_before_kill: dict[str, Any] = field(default_factory=dict)
    killed_worker_pid: int | None = None


# The models built on Spark before a worker is killed: the build is under way then.
MODELS_BEFORE_KILL = 12
# retain.dbt's progress line of a finished model: "[  12/250] ok      model      name (1.0s)".
FINISHED_MODEL = re.compile(r"\]\s+\S+\s+model\s")


@pytest.fixture(scope="module")
def cluster_run(cluster: ClusterConfig, tmp_path_factory: pytest.TempPathFactory) -> ClusterRun:
    """The fixture built on DuckDB and, through the Thrift server, on the cluster, with
    worker-2 killed (kill -9) in the middle of the Spark build: Spark must finish the job
    on the other worker, and the tables must still equal DuckDB's."""
    run = ClusterRun(ParityResult())
    built: list[str] = []

    def progress(line: str) -> None:
        if not line.startswith("  spark:") or not FINISHED_MODEL.search(line):
            return
        built.append(line)
        if len(built) == MODELS_BEFORE_KILL:
            run.state_before_kill = master_json(cluster) or {}
            run.killed_worker_pid = recorded_pid(cluster.folder, "worker-2")
            assert run.killed_worker_pid is not None
            os.kill(run.killed_worker_pid, signal.SIGKILL)

    run.parity = engines_parity(FIXTURES / FIXTURE, AS_OF,
                                tmp_path_factory.mktemp("spark_parity"), progress,
                                spark_connection="thrift")
    return run


@pytest.fixture(scope="module")
def parity(cluster_run: ClusterRun) -> ParityResult:
    return cluster_run.parity


def test_every_interface_table_is_identical_on_spark(parity: ParityResult) -> None:
    assert [difference.line() for difference in parity.differences] == []
    # Every data test ran on both engines and passed: 117 nodes since one column_facts
    # test per model holds its not-null, accepted-values and unique facts (205 before;
    # test_every_fact_tested_before_column_facts_is_still_tested keeps every fact).
    duckdb_counts, spark_counts = (parity.runs[engine].dbt_counts for engine in
                                   ("duckdb", "spark"))
    assert spark_counts.get("pass", 0) == duckdb_counts.get("pass", 0) >= 117
    assert not {"error", "fail", "warn"} & spark_counts.keys()


def test_spark_publishes_parquet_a_duckdb_reader_opens(parity: ParityResult) -> None:
    published = SparkEngine().published_location(parity.settings["spark"])
    assert published.is_symlink(), "the published folder is a link switched by one rename"
    names = sorted(path.stem for path in published.glob("*.parquet"))
    assert names == sorted([*PUBLISHED_RELATIONS, "meta"])
    with duckdb.connect() as con:
        meta_file = sql_literal(published / "meta.parquet")
        meta = dict(con.execute(f"select key, value from {meta_file}").fetchall())
        counts = {name: con.execute(f"select count(*) from "
                                    f"{sql_literal(published / f'{name}.parquet')}")
                  .fetchall()[0][0] for name in PUBLISHED_RELATIONS}
    assert meta["run_id"] == parity.runs["spark"].run_id
    assert (meta["as_of_date"], meta["engine"]) == (AS_OF.isoformat(), "spark")
    assert {name: int(meta[f"rows.{name}"]) for name in PUBLISHED_RELATIONS} == counts
    assert all(counts.values()), f"every interface table has rows on this fixture: {counts}"


def test_unit_tests_pass_on_spark(parity: ParityResult) -> None:
    """After the build: an incremental model's unit test reads its built relation."""
    settings = parity.settings["spark"]
    outcome = run_dbt(dbt_arguments(("test", "--select", "test_type:unit", "--exclude",
                                     NOT_ON_SPARK), settings), build_path(settings.warehouse))
    assert outcome.success, "\n".join(outcome.failures)
    assert outcome.counts.get("pass", 0) >= 56


def test_the_build_ran_in_the_workers_and_outlived_one_killed(cluster: ClusterConfig,
                                                              cluster_run: ClusterRun) -> None:
    """Mid-build, the Thrift server's application held both workers' cores: its executors,
    which ran the build, were the workers' JVMs, not dbt's process. Then worker-2 was
    killed (kill -9) and the build finished on worker-1, equal to DuckDB's
    (test_every_interface_table_is_identical_on_spark)."""
    assert cluster_run.parity.settings["spark"].dbt_target == "spark_thrift"
    before = cluster_run.state_before_kill
    application = thrift_application(before)
    assert application is not None and application["cores"] == 2, application
    assert sorted(worker["coresused"] for worker in before["workers"]
                  if worker["state"] == "ALIVE") == [1, 1]
    assert cluster_run.killed_worker_pid is not None
    assert not is_alive(cluster_run.killed_worker_pid)
    assert cluster_run.parity.runs["spark"].exit_code == ExitCode.OK
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
