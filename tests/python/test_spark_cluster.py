"""The local Spark cluster (`make spark-cluster`, retain/spark_cluster.py): a master, two
workers and a Thrift server as separate JVMs on 127.0.0.1 only, a query through the Thrift
port running on the workers' executors, and a stop that ends exactly what was started.

The cluster runs in a temporary folder on free ports, started and stopped through the
command line as `make` does (the JVMs outlive the command that starts them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retain.settings import PROJECT_DIR
from retain.spark_cluster import (
    EXECUTOR_CLASS,
    THRIFT_APP_NAME,
    WORKERS,
    ClusterConfig,
    command_line,
    executor_pids,
    is_alive,
    main_class,
    pid_file,
    port_is_free,
    process_names,
    stop_cluster,
)
from tests.python.conftest import free_ports

pytestmark = pytest.mark.spark

LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LOOPBACK_V6_MAPPED = "0000000000000000FFFF00000100007F"  # ::ffff:127.0.0.1


def _cluster_environment(config: ClusterConfig) -> dict[str, str]:
    return {**os.environ,
            "RETAIN_SPARK_CLUSTER_DIR": str(config.folder),
            "RETAIN_SPARK_MASTER_PORT": str(config.master_port),
            "RETAIN_SPARK_MASTER_WEBUI_PORT": str(config.master_webui_port),
            "RETAIN_SPARK_WORKER_WEBUI_PORTS": ",".join(map(str, config.worker_webui_ports)),
            "RETAIN_SPARK_THRIFT_PORT": str(config.thrift_port)}


def _cluster_command(config: ClusterConfig, command: str,
                     timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "retain.spark_cluster", command],
                          cwd=PROJECT_DIR, env=_cluster_environment(config), text=True,
                          capture_output=True, timeout=timeout, check=False)


def _json(port: int) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/json/", timeout=5) as response:
        return json.load(response)


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """The (address as /proc/net writes it, port) of every socket pid listens on."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add((address, int(port, 16)))
    return found


def _processes_in(folder: Path) -> list[int]:
    """Processes (of this user) whose working folder is inside folder: the JVMs and the
    executors run there."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def cluster_config(tmp_path: Path) -> Iterator[ClusterConfig]:
    master, master_webui, worker_1, worker_2, thrift = free_ports(5)
    config = ClusterConfig(folder=tmp_path / "cluster", master_port=master,
                           master_webui_port=master_webui,
                           worker_webui_ports=(worker_1, worker_2), thrift_port=thrift)
    yield config
    # Whatever the test did, nothing it started outlives it.
    stop_cluster(config.folder, progress=lambda _: None)


def test_the_cluster_runs_a_query_on_its_workers_and_stops_exactly_what_it_started(
        cluster_config: ClusterConfig) -> None:
    from pyhive import hive  # retain[spark]: a plain `pytest` collects without it

    config, folder = cluster_config, cluster_config.folder
    began = time.monotonic()
    started = _cluster_command(config, "start")
    start_seconds = time.monotonic() - began
    assert started.returncode == 0, started.stdout + started.stderr
    pids = {name: int(pid_file(folder, name).read_text()) for name in process_names()}
    assert len(set(pids.values())) == 4
    for name, pid in pids.items():
        arguments = command_line(pid)
        assert arguments is not None, f"{name} (pid {pid}) is not running"
        # A JVM of its own (the launch scripts exec'd java in the recorded pid), running the
        # process's class, detached from the command that started it.
        assert Path(arguments[0]).name == "java" and main_class(name) in arguments, arguments
        assert os.getsid(pid) == pid
        listening = _listening_addresses(pid)
        assert listening and {address for address, _ in listening} <= {
            LOOPBACK_V4, LOOPBACK_V6_MAPPED}, (name, listening)

    assert _cluster_command(config, "start").returncode == 0  # already running: no change
    assert {name: int(pid_file(folder, name).read_text()) for name in pids} == pids

    connection = hive.connect(host="127.0.0.1", port=config.thrift_port, username="retain")
    try:
        cursor = connection.cursor()
        cursor.execute("select count(*), count(distinct id % 1000) from range(1000000)")
        assert cursor.fetchall() == [(1_000_000, 1000)]
        # The Thrift server's metastore and tables are the cluster folder's; its SQL
        # settings are the `spark` target's.
        cursor.execute("create table cluster_check using parquet as select id from range(10)")
        assert (folder / "tables" / "cluster_check").is_dir()
        assert (folder / "metastore_db").is_dir()
        cursor.execute("select current_timezone()")
        assert cursor.fetchall() == [("UTC",)]
    finally:
        connection.close()

    master = _json(config.master_webui_port)
    assert master["status"] == "ALIVE"
    application = next(app for app in master["activeapps"] if app["name"] == THRIFT_APP_NAME)
    assert application["state"] == "RUNNING" and application["cores"] == 2
    workers = [worker for worker in master["workers"] if worker["state"] == "ALIVE"]
    assert sorted(worker["webuiaddress"] for worker in workers) == sorted(
        f"http://127.0.0.1:{port}" for port in config.worker_webui_ports)
    assert [worker["coresused"] for worker in workers] == [1, 1]
    executors = []
    for port, name in zip(config.worker_webui_ports, WORKERS, strict=True):
        worker = _json(port)
        assert [executor["appid"] for executor in worker["executors"]] == [application["id"]]
        # The executor is a JVM of its own that the worker started, in its work folder.
        found = executor_pids(pids[name], folder)
        assert len(found) == 1 and EXECUTOR_CLASS in (command_line(found[0]) or [])
        executors += found

    status = _cluster_command(config, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"Thrift address: 127.0.0.1:{config.thrift_port}" in status.stdout

    began = time.monotonic()
    stopped = _cluster_command(config, "stop", timeout=120)
    stop_seconds = time.monotonic() - began
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [pid for pid in [*pids.values(), *executors] if is_alive(pid)] == []
    assert [name for name in process_names() if pid_file(folder, name).exists()] == []
    assert _processes_in(folder) == []
    ports = [config.master_port, config.master_webui_port, *config.worker_webui_ports,
             config.thrift_port]
    assert [port for port in ports if not port_is_free(port)] == []
    print(f"start {start_seconds:.1f} s, stop {stop_seconds:.1f} s")


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
        result = _cluster_command(cluster_config, "start", timeout=60)
    assert result.returncode == 1
    assert f"port {cluster_config.thrift_port}" in result.stderr
    assert "RETAIN_SPARK_THRIFT_PORT" in result.stderr
    # Refused before any JVM started.
    assert [name for name in process_names()
            if pid_file(cluster_config.folder, name).exists()] == []
