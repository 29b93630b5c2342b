"""A local Spark standalone cluster: a master, two workers and a Thrift server, each its
own JVM, listening on 127.0.0.1 only, with a folder of its own.

    make spark-cluster                               # python -m retain.spark_cluster start
    make spark-cluster-stop                          # python -m retain.spark_cluster stop
    .venv/bin/python -m retain.spark_cluster status

The Thrift server's application runs on the master, its executors on the two workers
(1 core each), so a dbt target `type: spark, method: thrift, host: 127.0.0.1,
port: 10000` builds on a real cluster. The folder (RETAIN_SPARK_CLUSTER_DIR, default
warehouse/.spark-cluster) holds the Derby metastore (metastore_db), the tables (tables/),
each JVM's log (logs/), the workers' work folders (work/), Spark's scratch space
(scratch/), the JVMs' properties files (conf/), the settings it was started with
(cluster.json) and one pid file per JVM (<name>.pid).

`start` returns once the master is ALIVE, both workers are registered ALIVE, the Thrift
port accepts connections and the Thrift application holds its executors' cores; it does
nothing when this folder's cluster already runs, and refuses a port that something else
holds. `stop` signals exactly the pids in the pid files, and only while each pid still is
that JVM (its command line names the JVM's class and its properties file in this folder):
a pid reused by another program is left alone.

Environment (defaults in brackets):
  RETAIN_SPARK_CLUSTER_DIR           the cluster's folder [warehouse/.spark-cluster]
  RETAIN_SPARK_MASTER_PORT           the master's RPC port [7077]
  RETAIN_SPARK_MASTER_WEBUI_PORT     the master's web UI, JSON at /json/ [8080]
  RETAIN_SPARK_WORKER_WEBUI_PORTS    the two workers' web UIs [8081,8082]
  RETAIN_SPARK_THRIFT_PORT           the Thrift server (dbt-spark method: thrift) [10000]
  RETAIN_SPARK_WORKER_MEMORY         memory each worker offers its executor [3g]
  RETAIN_SPARK_EXECUTOR_MEMORY       each executor's heap, at most the worker's [2g]
  RETAIN_SPARK_THRIFT_DRIVER_MEMORY  the Thrift server's (the driver's) heap [2g]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from retain.settings import PROJECT_DIR, SettingError, port_setting

HOST = "127.0.0.1"
DEFAULT_FOLDER = PROJECT_DIR / "warehouse" / ".spark-cluster"
LOG4J_CONFIG = PROJECT_DIR / "spark" / "log4j2.properties"

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"
# The name the master lists the Thrift server's application under (activeapps).
THRIFT_APP_NAME = "retain Thrift server"
WORKERS = ("worker-1", "worker-2")
WORKER_CORES = 1
# The SQL session settings of the `spark` target in profiles.yml: the same results as a
# local `retain run --engine spark`.
SQL_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
# A JVM's first start on 2 busy cores, and the metastore's creation, take tens of seconds.
DEFAULT_START_TIMEOUT = 240.0
DEFAULT_STOP_TIMEOUT = 30.0
POLL_SECONDS = 0.5
# Popen objects of the JVMs this Python process started: kept so that Python does not warn
# about them when they are collected, and so that stop() reaps them (no zombies in a
# long-lived process such as pytest).
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


class ClusterError(RuntimeError):
    """The cluster cannot start or stop as asked; the message says why and what to read."""


@dataclass(frozen=True)
class ClusterConfig:
    folder: Path = DEFAULT_FOLDER
    master_port: int = 7077
    master_webui_port: int = 8080
    worker_webui_ports: tuple[int, int] = (8081, 8082)
    thrift_port: int = 10000
    worker_memory: str = "3g"
    executor_memory: str = "2g"
    driver_memory: str = "2g"

    def __post_init__(self) -> None:
        ports = self.port_names()
        if len(self.worker_webui_ports) != len(WORKERS):
            raise ClusterError(f"{len(WORKERS)} worker web UI ports are needed, got "
                               f"{list(self.worker_webui_ports)}")
        if len(set(ports)) != len(ports):
            raise ClusterError(f"every port must differ: {ports}")
        for port, name in ports.items():
            if not 0 < port < 65536:
                raise ClusterError(f"{name}: {port} is not a TCP port")
        for name in ("worker_memory", "executor_memory", "driver_memory"):
            memory_mib(getattr(self, name))
        # An executor larger than its worker is never granted: the application would wait
        # for cores forever.
        if memory_mib(self.executor_memory) > memory_mib(self.worker_memory):
            raise ClusterError(f"executor memory {self.executor_memory} exceeds the worker "
                               f"memory {self.worker_memory}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ClusterConfig:
        env = os.environ if environ is None else environ
        default = cls()
        folder = env.get("RETAIN_SPARK_CLUSTER_DIR")
        return cls(
            folder=Path(folder).resolve() if folder else default.folder,
            master_port=port_setting(env, "RETAIN_SPARK_MASTER_PORT", default.master_port),
            master_webui_port=port_setting(env, "RETAIN_SPARK_MASTER_WEBUI_PORT",
                                           default.master_webui_port),
            worker_webui_ports=_ports(env, "RETAIN_SPARK_WORKER_WEBUI_PORTS",
                                      default.worker_webui_ports),
            thrift_port=port_setting(env, "RETAIN_SPARK_THRIFT_PORT", default.thrift_port),
            worker_memory=env.get("RETAIN_SPARK_WORKER_MEMORY", default.worker_memory),
            executor_memory=env.get("RETAIN_SPARK_EXECUTOR_MEMORY", default.executor_memory),
            driver_memory=env.get("RETAIN_SPARK_THRIFT_DRIVER_MEMORY", default.driver_memory),
        )

    def port_names(self) -> dict[int, str]:
        """Each port with the name of the setting that changes it (for error messages)."""
        names = {self.master_port: "RETAIN_SPARK_MASTER_PORT",
                 self.master_webui_port: "RETAIN_SPARK_MASTER_WEBUI_PORT",
                 self.thrift_port: "RETAIN_SPARK_THRIFT_PORT"}
        for port in self.worker_webui_ports:
            names.setdefault(port, "RETAIN_SPARK_WORKER_WEBUI_PORTS")
        return names

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"

    @property
    def master_json_url(self) -> str:
        return f"http://{HOST}:{self.master_webui_port}/json/"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "folder": str(self.folder),
                "worker_webui_ports": list(self.worker_webui_ports)}


def _ports(env: Mapping[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    value = env.get(name)
    if not value:
        return default
    try:
        first, second = (int(part) for part in value.split(","))
    except ValueError:
        raise ClusterError(f"{name}={value!r}: give two ports, e.g. 8081,8082") from None
    return first, second


def memory_mib(value: str) -> int:
    """A JVM memory size (512m, 3g) in MiB."""
    match = re.fullmatch(r"(\d+)([kmgt]?)", value.strip().lower())
    if not match:
        raise ClusterError(f"memory {value!r}: give a JVM size such as 512m or 3g")
    number, unit = int(match[1]), match[2] or "m"
    return {"k": number // 1024, "m": number, "g": number * 1024, "t": number << 20}[unit]


@dataclass(frozen=True)
class ClusterProcess:
    """One JVM of the cluster: what starts it and what identifies it."""
    name: str
    main_class: str
    command: tuple[str, ...]
    ports: tuple[int, ...]
    # Written before the JVM starts; its path in the command line marks the JVM as this
    # folder's (see is_cluster_process).
    properties: dict[str, str] = field(default_factory=dict)


def pid_file(folder: Path, name: str) -> Path:
    return folder / f"{name}.pid"


def log_file(folder: Path, name: str) -> Path:
    return folder / "logs" / f"{name}.log"


def properties_file(folder: Path, name: str) -> Path:
    return folder / "conf" / f"{name}.conf"


def process_names() -> tuple[str, ...]:
    """In start order; stop goes the other way."""
    return ("master", *WORKERS, "thrift")


def main_class(name: str) -> str:
    return {"master": MASTER_CLASS, "thrift": THRIFT_CLASS}.get(name, WORKER_CLASS)


def spark_home() -> Path:
    """pyspark's package folder: bin/spark-class, bin/spark-submit and jars/."""
    spec = find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("pyspark is not installed: run `make spark-install`")
    return Path(next(iter(spec.submodule_search_locations)))


def cluster_processes(config: ClusterConfig, home: Path) -> list[ClusterProcess]:
    """The four JVMs, in start order."""
    folder = config.folder
    spark_class = str(home / "bin" / "spark-class")
    processes = [ClusterProcess(
        "master", MASTER_CLASS,
        (spark_class, MASTER_CLASS, "--host", HOST, "--port", str(config.master_port),
         "--webui-port", str(config.master_webui_port),
         "--properties-file", str(properties_file(folder, "master"))),
        (config.master_port, config.master_webui_port),
        # No REST submission server: no port beyond the two above.
        {"spark.master.rest.enabled": "false"})]
    for name, webui_port in zip(WORKERS, config.worker_webui_ports, strict=True):
        processes.append(ClusterProcess(
            name, WORKER_CLASS,
            (spark_class, WORKER_CLASS, "--host", HOST, "--webui-port", str(webui_port),
             "--cores", str(WORKER_CORES), "--memory", config.worker_memory,
             "--work-dir", str(folder / "work" / name),
             "--properties-file", str(properties_file(folder, name)), config.master_url),
            (webui_port,)))
    java_options = " ".join(_java_option(option) for option in (
        f"-Dderby.system.home={folder}", f"-Dlog4j2.configurationFile={LOG4J_CONFIG}"))
    thrift_properties = {
        "spark.driver.memory": config.driver_memory,
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.driver.extraJavaOptions": java_options,
        "spark.executor.memory": config.executor_memory,
        "spark.executor.cores": str(WORKER_CORES),
        "spark.cores.max": str(WORKER_CORES * len(WORKERS)),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(folder / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        **SQL_SETTINGS,
    }
    # HiveServer2's own settings: its address, and its scratch and operation-log folders
    # (by default under /tmp) in the cluster's folder.
    hive_settings = {
        "hive.server2.thrift.bind.host": HOST,
        "hive.server2.thrift.port": str(config.thrift_port),
        "hive.exec.scratchdir": str(folder / "hive" / "scratch"),
        "hive.exec.local.scratchdir": str(folder / "hive" / "local-scratch"),
        # One folder per session, as Hive's default: a session deletes its folder when it
        # closes, and a shared one vanished under the sessions still open (dbt's threads).
        "hive.downloaded.resources.dir":
            str(folder / "hive" / "resources") + "/${hive.session.id}_resources",
        "hive.server2.logging.operation.log.location": str(folder / "hive" / "operation-logs"),
    }
    processes.append(ClusterProcess(
        "thrift", THRIFT_CLASS,
        (str(home / "bin" / "spark-submit"), "--master", config.master_url,
         "--class", THRIFT_CLASS, "--name", THRIFT_APP_NAME,
         "--properties-file", str(properties_file(folder, "thrift")), "spark-internal",
         *(argument for key, value in hive_settings.items()
           for argument in ("--hiveconf", f"{key}={value}"))),
        (config.thrift_port,), thrift_properties))
    return processes


def _java_option(option: str) -> str:
    """One JVM option as Spark's launcher splits spark.driver.extraJavaOptions: quoted, so
    that a folder with spaces stays one option."""
    return '"' + option.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _properties_text(name: str, properties: Mapping[str, str]) -> str:
    """A Java properties file (backslashes escaped, as Properties.load reads them)."""
    lines = [f"# retain.spark_cluster: the {name} JVM's settings; its path in the JVM's "
             "command line marks the JVM as this cluster's."]
    for key, value in properties.items():
        if "\n" in value:
            raise ClusterError(f"{key}: a line break cannot go into a properties file")
        lines.append(f"{key}={value.replace(chr(92), chr(92) * 2)}")
    return "\n".join(lines) + "\n"


# --- processes ------------------------------------------------------------------------


def recorded_pid(folder: Path, name: str) -> int | None:
    try:
        return int(pid_file(folder, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def command_line(pid: int) -> list[str] | None:
    """The process's arguments; None when it is gone or a zombie (whose cmdline is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.decode(errors="replace").split("\0")[:-1] or None


def is_alive(pid: int) -> bool:
    """Running (not exited, not a zombie). Reaps the pid first when this process started it."""
    child = _STARTED.get(pid)
    if child is not None and child.poll() is not None:
        del _STARTED[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the command name in parentheses, which may itself hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def is_cluster_process(pid: int, folder: Path, name: str) -> bool:
    """Whether pid still is this folder's `name` JVM: alive, and its command line names the
    JVM's class and its properties file here. Checked before every signal, so that a pid
    reused by another program after the JVM died is never signalled. The launch scripts
    (spark-submit, spark-class) exec the JVM in the same process with the same arguments,
    so the check holds from the start on."""
    arguments = command_line(pid)
    return (arguments is not None and is_alive(pid) and main_class(name) in arguments
            and str(properties_file(folder, name)) in arguments)


def running_pids(folder: Path) -> dict[str, int]:
    """The recorded pids that still are this folder's JVMs, by process name."""
    running = {}
    for name in process_names():
        pid = recorded_pid(folder, name)
        if pid is not None and is_cluster_process(pid, folder, name):
            running[name] = pid
    return running


def _spawn(process: ClusterProcess, folder: Path, environment: Mapping[str, str]) -> int:
    """Start one JVM detached: its own session (no terminal signal or `make` reaches it, it
    outlives the command that started it), output appended to its log; record its pid."""
    properties_file(folder, process.name).write_text(
        _properties_text(process.name, process.properties))
    with log_file(folder, process.name).open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} retain.spark_cluster "
                  f"starts: {shlex.join(process.command)}\n".encode())
        log.flush()
        child = subprocess.Popen(process.command, cwd=folder, env=dict(environment),
                                 stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    _STARTED[child.pid] = child
    pid_file(folder, process.name).write_text(f"{child.pid}\n")
    return child.pid


def _signal(pid: int, is_ours: Callable[[int], bool], signum: signal.Signals) -> bool:
    """Send signum to pid if is_ours(pid) still holds; a pidfd pins the process, so the
    signal cannot reach a program that took the pid over between the check and the send."""
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        if not is_ours(pid):
            return False
        signal.pidfd_send_signal(descriptor, signum)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(descriptor)


def executor_pids(worker_pid: int, folder: Path) -> list[int]:
    """The executor JVMs a worker started: its children that are this folder's executors.
    They are not recorded (the worker starts them per application), so stop finds them
    before stopping their worker and waits for them to go with it."""
    children: list[int] = []
    for task in Path(f"/proc/{worker_pid}/task").glob("*/children"):
        try:
            children += [int(pid) for pid in task.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return [pid for pid in children if is_executor(pid, folder)]


def is_executor(pid: int, folder: Path) -> bool:
    """Alive, running the executor class, in a work folder of this cluster's workers."""
    arguments = command_line(pid)
    if arguments is None or EXECUTOR_CLASS not in arguments or not is_alive(pid):
        return False
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).is_relative_to(folder / "work")
    except OSError:
        return False


def child_environment(config: ClusterConfig, home: Path,
                      base: Mapping[str, str] | None = None) -> dict[str, str]:
    environment = dict(os.environ if base is None else base)
    # A Spark Connect address would turn spark-submit into a Connect client.
    for name in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "MASTER"):
        environment.pop(name, None)
    environment.update({
        "SPARK_HOME": str(home),
        # Its own (empty) conf folder: no spark-env.sh or spark-defaults.conf from elsewhere.
        "SPARK_CONF_DIR": str(config.folder / "conf"),
        # Web UIs bind to SPARK_LOCAL_IP (else every interface); executors inherit it.
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOCAL_DIRS": str(config.folder / "scratch"),
    })
    return environment


# --- readiness --------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    """Whether a listener could bind 127.0.0.1:port (SO_REUSEADDR, as the JVMs bind: a
    socket in TIME_WAIT does not count, a listener on any address does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def master_json(config: ClusterConfig) -> dict[str, Any] | None:
    """The master's state from its web UI (status, workers, activeapps); None when it does
    not answer. No proxy: the address is local."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(config.master_json_url, timeout=2) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def alive_workers(state: Mapping[str, Any], config: ClusterConfig) -> list[str]:
    """This cluster's workers registered ALIVE, by name (matched on their web UI port)."""
    by_port = dict(zip(config.worker_webui_ports, WORKERS, strict=True))
    alive = []
    for worker in state.get("workers", []):
        port = int(str(worker.get("webuiaddress", "")).rsplit(":", 1)[-1] or 0)
        if worker.get("state") == "ALIVE" and port in by_port:
            alive.append(by_port[port])
    return sorted(alive)


def thrift_application(state: Mapping[str, Any]) -> dict[str, Any] | None:
    for application in state.get("activeapps", []):
        if application.get("name") == THRIFT_APP_NAME:
            return application
    return None


def missing_readiness(config: ClusterConfig, state: Mapping[str, Any] | None) -> list[str]:
    """What `start` still waits for; empty when the cluster is ready."""
    if state is None or state.get("status") != "ALIVE":
        return [f"the master to be ALIVE at {config.master_json_url}"]
    missing = [f"{name} to register ALIVE" for name in WORKERS
               if name not in alive_workers(state, config)]
    if not port_accepts(config.thrift_port):
        missing.append(f"the Thrift server to accept connections on {HOST}:"
                       f"{config.thrift_port}")
    else:
        application = thrift_application(state)
        granted = application.get("cores", 0) if application else 0
        if granted < WORKER_CORES * len(WORKERS):
            missing.append(f"the Thrift application to hold its executors' cores "
                           f"({granted} of {WORKER_CORES * len(WORKERS)})")
    return missing


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return "(no log)"
    return "\n".join("    " + line for line in text)


def _wait_until_ready(config: ClusterConfig, pids: Mapping[str, int], deadline: float,
                      progress: Callable[[str], None]) -> None:
    reported: list[str] = []
    while True:
        for name, pid in pids.items():
            if not is_alive(pid):
                log = log_file(config.folder, name)
                raise ClusterError(f"the {name} JVM (pid {pid}) exited while starting; "
                                   f"read {log}:\n{_log_tail(log)}")
        missing = missing_readiness(config, master_json(config))
        if not missing:
            return
        if missing != reported:
            progress("waiting for " + "; ".join(missing))
            reported = missing
        if time.monotonic() > deadline:
            logs = ", ".join(str(log_file(config.folder, name)) for name in pids)
            raise ClusterError("the cluster did not get ready in time; still waiting for "
                               + "; ".join(missing) + f". Read the logs: {logs}")
        time.sleep(POLL_SECONDS)


# --- commands ---------------------------------------------------------------------------


def started_config(folder: Path) -> ClusterConfig | None:
    """The settings the folder's cluster was last started with (cluster.json)."""
    try:
        saved = json.loads((folder / "cluster.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return ClusterConfig(**{**saved, "folder": Path(saved["folder"]),
                            "worker_webui_ports": tuple(saved["worker_webui_ports"])})


def start_cluster(config: ClusterConfig, timeout: float = DEFAULT_START_TIMEOUT,
                  progress: Callable[[str], None] = print) -> dict[str, int]:
    """Start the four JVMs (or find them running) and wait until the cluster is ready;
    the pids by process name."""
    deadline = time.monotonic() + timeout
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        raise ClusterError("Java is not installed: run `make spark-install` (Java 17)")
    home = spark_home()
    folder = config.folder
    running = running_pids(folder)
    if running:
        previous = started_config(folder)
        if previous is not None and previous != config:
            raise ClusterError(f"the cluster in {folder} already runs with other settings "
                               f"({previous.as_json()}); stop it first")
        if len(running) == len(process_names()):
            progress(f"the Spark cluster in {folder} already runs: "
                     + ", ".join(f"{name} pid {pid}" for name, pid in running.items()))
            _wait_until_ready(config, running, deadline, progress)
            return running
        # Workers and the Thrift application depend on the master they registered with:
        # a partial cluster is stopped whole and started again.
        progress(f"only {', '.join(running)} of the cluster in {folder} runs: "
                 "stopping it to start it whole")
        stop_cluster(folder, progress=progress)
    processes = cluster_processes(config, home)
    taken = [(port, config.port_names()[port]) for process in processes
             for port in process.ports if not port_is_free(port)]
    if taken:
        raise ClusterError("; ".join(f"port {port} on {HOST} is in use by a program this "
                                     f"cluster did not start (set {setting} to another "
                                     "port, or stop that program)" for port, setting in taken))
    # HiveServer2 logs an error for each session when its local scratch folder is missing.
    for sub in ("conf", "logs", "work", "scratch", "tables", "hive/local-scratch",
                "hive/resources"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "cluster.json").write_text(json.dumps(config.as_json(), indent=2) + "\n")
    environment = child_environment(config, home)
    pids: dict[str, int] = {}
    try:
        master, *others = processes
        pids[master.name] = _spawn(master, folder, environment)
        progress(f"started the master (pid {pids['master']}), log "
                 f"{log_file(folder, 'master')}")
        # Workers and the Thrift server register with the master: they start once it
        # answers, together (their JVMs start in parallel).
        _wait_for_master(config, pids, deadline)
        for process in others:
            pids[process.name] = _spawn(process, folder, environment)
            progress(f"started {process.name} (pid {pids[process.name]}), log "
                     f"{log_file(folder, process.name)}")
        _wait_until_ready(config, pids, deadline, progress)
    except BaseException:
        # Nothing half-started stays behind: stop what this call started.
        stop_cluster(folder, progress=progress)
        raise
    return pids


def _wait_for_master(config: ClusterConfig, pids: Mapping[str, int], deadline: float) -> None:
    while True:
        state = master_json(config)
        if state is not None and state.get("status") == "ALIVE":
            return
        if not is_alive(pids["master"]):
            log = log_file(config.folder, "master")
            raise ClusterError(f"the master JVM (pid {pids['master']}) exited while "
                               f"starting; read {log}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            raise ClusterError(f"the master did not answer ALIVE at {config.master_json_url} "
                               f"in time; read {log_file(config.folder, 'master')}")
        time.sleep(POLL_SECONDS)


def stop_cluster(folder: Path, timeout: float = DEFAULT_STOP_TIMEOUT,
                 progress: Callable[[str], None] = print) -> dict[str, int]:
    """Stop the JVMs whose pids the pid files record, the Thrift server first (its
    application ends before its executors' workers go), then the workers (with the
    executors they started) and the master: SIGTERM, SIGKILL after the timeout. Removes the
    pid files; the pids stopped by name."""
    stopped: dict[str, int] = {}
    for group in (("thrift",), (*WORKERS, "master")):
        # Each process to wait for, with the check that it still is ours.
        waiting: dict[str, tuple[int, Callable[[int], bool]]] = {}
        for name in group:
            pid = recorded_pid(folder, name)
            if pid is None:
                continue

            def is_ours(candidate: int, name: str = name) -> bool:
                return is_cluster_process(candidate, folder, name)

            executors = executor_pids(pid, folder) if is_ours(pid) else []
            if _signal(pid, is_ours, signal.SIGTERM):
                waiting[name] = (pid, is_ours)
                stopped[name] = pid
                # The worker stops its executors as it goes; SIGKILL only after the timeout.
                for executor in executors:
                    waiting[f"{name}'s executor"] = (
                        executor, lambda candidate: is_executor(candidate, folder))
            else:
                now = command_line(pid) if is_alive(pid) else None
                progress(f"{name}: pid {pid} is not running"
                         + (f" as the {name} JVM (now: {' '.join(now)[:80]}); left alone"
                            if now else ""))
                pid_file(folder, name).unlink(missing_ok=True)
        _wait_for_exit(waiting, time.monotonic() + timeout, progress)
        for name in group:
            if name in waiting:
                pid_file(folder, name).unlink(missing_ok=True)
                progress(f"stopped {name} (pid {waiting[name][0]})")
    return stopped


def _wait_for_exit(processes: Mapping[str, tuple[int, Callable[[int], bool]]],
                   deadline: float, progress: Callable[[str], None]) -> None:
    remaining = dict(processes)
    killed = False
    while remaining:
        remaining = {name: (pid, is_ours) for name, (pid, is_ours) in remaining.items()
                     if is_alive(pid) and is_ours(pid)}
        if not remaining:
            return
        if time.monotonic() > deadline:
            if killed:
                raise ClusterError("still running after SIGKILL: " + ", ".join(
                    f"{name} pid {pid}" for name, (pid, _) in remaining.items()))
            for name, (pid, is_ours) in remaining.items():
                progress(f"{name} (pid {pid}) did not stop on SIGTERM: SIGKILL")
                _signal(pid, is_ours, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + 10
        time.sleep(0.2)


def status_lines(folder: Path, config: ClusterConfig) -> tuple[list[str], bool]:
    """What `status` prints, and whether the whole cluster runs."""
    config = started_config(folder) or config
    addresses = {"master": f"{config.master_url}, web UI http://{HOST}:"
                           f"{config.master_webui_port}",
                 "thrift": f"Thrift {HOST}:{config.thrift_port}"}
    for name, port in zip(WORKERS, config.worker_webui_ports, strict=True):
        addresses[name] = f"web UI http://{HOST}:{port}"
    lines = [f"Spark cluster in {folder}"]
    running = running_pids(folder)
    for name in process_names():
        pid = recorded_pid(folder, name)
        if name in running:
            state = f"pid {pid:<8} running"
        elif pid is not None:
            state = f"pid {pid:<8} not running (stale pid file)"
        else:
            state = f"{'-':<12} not running"
        lines.append(f"  {name:<9} {state:<40} {addresses[name]}")
    lines.append(f"Thrift address: {HOST}:{config.thrift_port} (dbt-spark: method thrift, "
                 f"host {HOST}, port {config.thrift_port})")
    state = master_json(config) if "master" in running else None
    if state is not None:
        application = thrift_application(state)
        lines.append(f"master {state.get('status')}: workers ALIVE "
                     f"{alive_workers(state, config)}, Thrift application "
                     + (f"{application.get('id')} with {application.get('cores')} cores"
                        if application else "not registered"))
    return lines, len(running) == len(process_names())


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retain.spark_cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start the master, two workers and the Thrift "
                                "server and wait until they are ready (nothing to do when "
                                "already running)")
    start.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT,
                       help="seconds to wait for the cluster to get ready "
                            f"(default {DEFAULT_START_TIMEOUT:.0f})")
    stop = commands.add_parser("stop", help="stop the JVMs the pid files record (SIGTERM, "
                               "then SIGKILL after --timeout); never another program")
    stop.add_argument("--timeout", type=float, default=DEFAULT_STOP_TIMEOUT,
                      help=f"seconds before SIGKILL (default {DEFAULT_STOP_TIMEOUT:.0f})")
    commands.add_parser("status", help="each JVM, its pid and whether it runs, and the "
                        "Thrift address (exit status 0 when all four run, else 1)")
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        config = ClusterConfig.from_environment()
        if args.command == "start":
            began = time.monotonic()
            start_cluster(config, args.timeout)
            lines, _ = status_lines(config.folder, config)
            print("\n".join(lines))
            print(f"ready in {time.monotonic() - began:.1f} s; stop it with "
                  "`make spark-cluster-stop`")
        elif args.command == "stop":
            if not stop_cluster(config.folder, args.timeout):
                print(f"no Spark cluster JVM of {config.folder} was running")
        else:
            lines, complete = status_lines(config.folder, config)
            print("\n".join(lines))
            return 0 if complete else 1
    except (ClusterError, SettingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
