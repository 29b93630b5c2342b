"""Checks of the local Spark cluster's processes (test_spark, test_spark_cluster): the
command line `make spark-cluster` runs, the JSON status pages, and what a process listens
on or where it runs, read from /proc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from retain.settings import PROJECT_DIR
from retain.spark_cluster import ClusterConfig

LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LOOPBACK_V6_MAPPED = "0000000000000000FFFF00000100007F"  # ::ffff:127.0.0.1


def cluster_environment(config: ClusterConfig) -> dict[str, str]:
    return {**os.environ,
            "RETAIN_SPARK_CLUSTER_DIR": str(config.folder),
            "RETAIN_SPARK_MASTER_PORT": str(config.master_port),
            "RETAIN_SPARK_MASTER_WEBUI_PORT": str(config.master_webui_port),
            "RETAIN_SPARK_WORKER_WEBUI_PORTS": ",".join(map(str, config.worker_webui_ports)),
            "RETAIN_SPARK_THRIFT_PORT": str(config.thrift_port)}


def cluster_command(config: ClusterConfig, command: str,
                     timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "retain.spark_cluster", command],
                          cwd=PROJECT_DIR, env=cluster_environment(config), text=True,
                          capture_output=True, timeout=timeout, check=False)


def status_json(port: int) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/json/", timeout=5) as response:
        return json.load(response)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
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


def processes_in(folder: Path) -> list[int]:
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
