"""The local Spark cluster's start and stop (retain/spark_cluster.py) where they refuse:
a port another program holds, a recorded pid another program took over. The cluster that
starts, runs the Spark stage's builds on its workers and stops exactly what it started
is checked in test_spark, which starts it through the command line as `make` does.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from retain.spark_cluster import ClusterConfig, pid_file, process_names, stop_cluster
from tests.python.conftest import free_ports
from tests.python.spark_cluster_helpers import cluster_command

pytestmark = pytest.mark.spark


@pytest.fixture
def cluster_config(tmp_path: Path) -> Iterator[ClusterConfig]:
    master, master_webui, worker_1, worker_2, thrift = free_ports(5)
    config = ClusterConfig(folder=tmp_path / "cluster", master_port=master,
                           master_webui_port=master_webui,
                           worker_webui_ports=(worker_1, worker_2), thrift_port=thrift)
    yield config
    # Whatever the test did, nothing it started outlives it.
    stop_cluster(config.folder, progress=lambda _: None)


def test_stop_leaves_alone_a_program_that_took_over_a_recorded_pid(
        cluster_config: ClusterConfig) -> None:
    folder = cluster_config.folder
    folder.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        for name in process_names():
            pid_file(folder, name).write_text(f"{sleeper.pid}\n")
        assert stop_cluster(folder, timeout=5, progress=lambda _: None) == {}
        assert sleeper.poll() is None
        assert [name for name in process_names() if pid_file(folder, name).exists()] == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_start_refuses_a_port_another_program_holds(cluster_config: ClusterConfig) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", cluster_config.thrift_port))
        holder.listen()
        result = cluster_command(cluster_config, "start", timeout=60)
    assert result.returncode == 1
    assert f"port {cluster_config.thrift_port}" in result.stderr
    assert "RETAIN_SPARK_THRIFT_PORT" in result.stderr
    # Refused before any JVM started.
    assert [name for name in process_names()
            if pid_file(cluster_config.folder, name).exists()] == []
