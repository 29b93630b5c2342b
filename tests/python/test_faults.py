"""Faults an operator meets, reproduced with real files, processes and file systems.

Each ends in exit 0 with correct numbers, or in a documented exit code (README,
"Exit codes") and one line naming the step, file or setting and what to do;
the published file and every dated snapshot stay as they were unless the run
was meant to replace them. One real run of the valid_small fixture is shared;
each test breaks a copy of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from retain import cli
from retain.contract import TABLES_BY_NAME
from retain.dbt import DbtOutcome, _outcome_from_run_results
from retain.failures import OUT_OF_MEMORY_REMEDY, ExitCode
from retain.incremental import state_path
from retain.pipeline import RunReport, _build_failure, shrunk_tables
from retain.publish import (
    PublishedFileHeldError,
    build_path,
    prune_snapshots,
    publication_path,
    publish,
    published_as_of,
)
from retain.settings import SettingError, Settings, checked_as_of, today_utc
from retain.summary import summary_text
from retain.validation.aggregates import FxSettings, last_complete_day, table_checks
from tests.python.conftest import FIXTURES

RETAIN = str(Path(sys.executable).with_name("retain"))
AS_OF = "2024-03-31"


def _retain(*arguments: str | Path, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RETAIN, *map(str, arguments)], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env={**os.environ, **(env or {})})


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The line a failed command ends with; never a traceback before it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "a failure says why"
    return lines[-1]


@dataclass(frozen=True)
class Site:
    """A deployment: raw files and the published warehouse of a real run."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "retain.duckdb"

    def run(self, *arguments: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return _retain("run", "--raw", self.raw, "--warehouse", self.warehouse, *arguments,
                       env={"DBT_TARGET_PATH": str(self.root / "target"),
                            "DBT_LOG_PATH": str(self.root / "logs"), **(env or {})},
                       cwd=self.root)

    def published(self) -> dict[str, bytes]:
        """The published file and every dated snapshot, byte for byte."""
        folder = self.warehouse.parent
        return {str(path.relative_to(folder)): path.read_bytes()
                for path in [self.warehouse, *sorted((folder / "snapshots").glob("*"))]}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = Site(tmp_path_factory.mktemp("deployment"))
    shutil.copytree(FIXTURES / "valid_small", site.raw)
    result = site.run("--as-of", AS_OF)
    assert result.returncode == 0, result.stderr[-3000:]
    return site


@pytest.fixture
def site(deployment: Site, tmp_path: Path) -> Site:
    """A copy of the deployment that a test may break; its kept build continues from the
    copy's raw folder."""
    copy = Site(tmp_path / "site")
    shutil.copytree(deployment.root, copy.root, symlinks=True)
    state = state_path(copy.warehouse)
    recorded = json.loads(state.read_text())
    state.write_text(json.dumps({**recorded, "raw_dir": str(copy.raw)}))
    return copy


def _as_of_in(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("select value from meta where key = 'as_of_date'").fetchone()
    assert row is not None
    return str(row[0])


# A mistyped as-of date --------------------------------------------------------------


def test_an_as_of_day_after_tomorrow_is_refused_unless_intended(site: Site) -> None:
    before = site.published()
    typo = site.run("--as-of", "2100-12-31")
    assert typo.returncode == ExitCode.INPUT_REJECTED
    assert _error_line(typo) == (
        f"error: as-of day 2100-12-31 is after tomorrow ({today_utc() + timedelta(days=1)}, "
        "UTC); if that future day is intended, pass --allow-future-as-of")
    far = site.run("--as-of", "9999-12-31", "--allow-future-as-of")
    assert far.returncode == ExitCode.INPUT_REJECTED
    assert "more than ten years ahead" in _error_line(far)
    assert site.published() == before


def test_as_of_bounds() -> None:
    today = date(2026, 12, 6)
    assert checked_as_of(date(2026, 12, 7), today=today) == date(2026, 12, 7)
    with pytest.raises(SettingError, match="after tomorrow"):
        checked_as_of(date(2026, 12, 8), today=today)
    assert checked_as_of(date(2030, 1, 1), allow_future=True, today=today) == date(2030, 1, 1)
    with pytest.raises(SettingError, match="before 1970-01-01"):
        checked_as_of(date(1969, 12, 31), today=today)


def test_an_earlier_day_keeps_the_later_published_one_and_the_summary_shows_its_own(
        site: Site) -> None:
    """A backfill publishes its dated snapshot, leaves readers on the later day, and its
    summary shows its own months, saying where readers are."""
    before = site.published()
    backfill = site.run("--as-of", "2024-02-29")
    assert backfill.returncode == 0, backfill.stderr[-2000:]
    assert site.published() == {**before, "snapshots/retain_2024-02-29.duckdb":
                                 (site.warehouse.parent / "snapshots"
                                  / "retain_2024-02-29.duckdb").read_bytes()}
    assert _as_of_in(site.warehouse) == AS_OF
    summary = backfill.stdout
    header = next(line for line in summary.splitlines() if "2024-01" in line)
    assert header.split() == ["2024-01", "2024-02"], "months of this run only, none later"
    assert (f"{site.warehouse} keeps the later day it shows ({AS_OF}); this run's day is in "
            in summary)
    assert "run again with --full-refresh" in summary


def test_a_later_published_day_is_replaced_deliberately(tmp_path: Path) -> None:
    warehouse = tmp_path / "retain.duckdb"
    for day, replace_later in ((date(2030, 1, 1), False), (date(2026, 12, 1), True)):
        built = build_path(warehouse)
        built.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(built)) as con:
            con.execute("create or replace table meta as select 'as_of_date' as key, ? as value",
                        [day.isoformat()])
        published = publish(built, warehouse, day, {}, replace_later=replace_later)
        assert published.replaced_warehouse
    assert _as_of_in(warehouse) == "2026-12-01"


def test_pruning_never_removes_the_snapshot_a_run_just_wrote(tmp_path: Path) -> None:
    """A backfill's day is older than the kept newest days: its snapshot stays anyway."""
    warehouse = tmp_path / "retain.duckdb"
    folder = tmp_path / "snapshots"
    folder.mkdir()
    for day in ("2026-11-10", "2026-12-01", "2026-12-02"):
        (folder / f"retain_{day}.duckdb").write_bytes(b"")
    removed = prune_snapshots(warehouse, kept_days=1, published_day=date(2026, 11, 10))
    assert [path.name for path in removed] == ["retain_2026-12-01.duckdb"]
    assert sorted(path.name for path in folder.iterdir()) == [
        "retain_2026-11-10.duckdb", "retain_2026-12-02.duckdb"]


# A table file that exists but cannot be read -----------------------------------------


@pytest.mark.parametrize("how", ["dangling link", "other case", "compressed", "folder"])
def test_a_table_file_that_cannot_be_read_is_an_error_not_an_absent_table(
        site: Site, how: str) -> None:
    events = site.raw / "usage_events.csv"
    before = site.published()
    named = {"other case": "Usage_Events.csv", "compressed": "usage_events.csv.gz",
             "dangling link": "usage_events.csv", "folder": "usage_events.csv"}[how]
    content = events.read_bytes()
    events.unlink()
    target = site.raw / named
    if how == "dangling link":
        target.symlink_to(site.root / "unmounted-share" / "usage_events.csv")
    elif how == "folder":
        target.mkdir()
    else:
        target.write_bytes(content)

    result = site.run("--as-of", AS_OF, "--full-refresh")

    assert result.returncode == ExitCode.INPUT_REJECTED
    line = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert line.startswith(f"error: input rejected: {target}")
    assert ("not a readable file" if how in {"dangling link", "folder"}
            else "name it usage_events.csv or usage_events.parquet") in line
    assert site.published() == before


# A holder of the published file -----------------------------------------------------


@contextmanager
def _held_for_writing(path: Path) -> Iterator[int]:
    """Another process with path open read-write, as a DuckDB client opens it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(path)!r})\nprint('open', flush=True)\ntime.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_holder_of_the_published_file_makes_a_backfill_exit_4_never_rewind(
        site: Site) -> None:
    before = site.published()
    with _held_for_writing(site.warehouse) as pid:
        result = site.run("--as-of", "2024-02-29")
        assert site.published() == before
    assert result.returncode == ExitCode.RUN_IN_PROGRESS
    assert _error_line(result).startswith("run failed (exit 4)")
    assert (f"error: publish check: {site.warehouse} is open for writing by process {pid}"
            in result.stderr)


def test_the_published_day_is_known_without_opening_the_file(tmp_path: Path) -> None:
    warehouse = tmp_path / "retain.duckdb"
    built = build_path(warehouse)
    built.parent.mkdir(parents=True)
    with duckdb.connect(str(built)) as con:
        con.execute("create table meta as select 'as_of_date' as key, '2026-12-03' as value")
    publish(built, warehouse, date(2026, 12, 3), {})
    with _held_for_writing(warehouse):
        assert published_as_of(warehouse) == date(2026, 12, 3)  # publish's record
        publication_path(warehouse).unlink()  # a file published before the record existed
        with pytest.raises(PublishedFileHeldError, match="open for writing by process"):
            published_as_of(warehouse)


# A feed that stops or is emptied ----------------------------------------------------


def _rewrite(path: Path, keep: object) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "".join(line for line in lines[1:] if keep(line)))


@pytest.mark.parametrize("change", ["emptied", "old row moved", "customer erased"])
def test_an_incremental_run_that_would_keep_rows_the_file_lost_stops(
        site: Site, change: str) -> None:
    events = site.raw / "usage_events.csv"
    if change == "emptied":
        _rewrite(events, lambda line: False)
    elif change == "old row moved":
        events.write_text(events.read_text().replace("2024-01-05T11:00:00Z",
                                                     "2024-03-31T11:00:00Z"))
    else:
        for path in site.raw.glob("*.csv"):
            if "cus_1" in path.read_text():
                _rewrite(path, lambda line: "cus_1," not in line)
    before = site.published()

    result = site.run("--as-of", "2024-04-01")

    assert result.returncode == ExitCode.INPUT_REJECTED
    line = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert line.startswith(f"error: input rejected: {events}, column 'occurred_at': its rows "
                           "before 2024-03-28 differ from those the last run kept")
    assert line.endswith("run `retain run --full-refresh`")
    assert site.published() == before


def test_quiet_days_run_to_the_as_of_day(tmp_path: Path) -> None:
    """A feed of 72 events a day that stopped five days before the as-of day: those
    days and the as-of day are flagged."""
    as_of = date(2024, 3, 31)
    stopped = as_of - timedelta(days=5)
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute("create table raw.usage_events as select range as event_id, "
                    "cast(? as timestamp) + to_hours(cast(range % 1512 as integer)) "
                    "as occurred_at from range(3 * 1512)", [str(stopped - timedelta(days=63))])
        [check] = [check for check in table_checks(TABLES_BY_NAME["usage_events"], frozenset(),
                                                   FxSettings(as_of=as_of))
                   if check.name == "quiet_event_days"]
        flagged = sorted(item.split(":")[0] for item, _ in con.execute(check.sql).fetchall())
    assert flagged == [str(stopped + timedelta(days=day)) for day in range(6)]


def test_the_last_complete_day_is_the_as_of_day_once_it_is_over() -> None:
    today = date(2026, 12, 6)
    assert last_complete_day(date(2026, 12, 5), today) == date(2026, 12, 5)
    assert last_complete_day(today, today) == date(2026, 12, 5)


def test_a_table_that_lost_most_of_its_rows_is_named_in_a_warning() -> None:
    assert shrunk_tables({"usage_events": 1000, "customers": 10},
                         {"usage_events": 0, "customers": 9}) == [
        "[warning] usage_events: 0 rows, the last published run loaded 1,000; check that "
        "its file is complete"]


# Commands that must never write the published file or a snapshot --------------------


def test_report_export_and_load_never_write_the_published_file_or_a_snapshot(
        site: Site) -> None:
    before = site.published()
    snapshot = site.warehouse.parent / "snapshots" / f"retain_{AS_OF}.duckdb"
    linked = site.root / "linked.duckdb"
    os.link(site.warehouse, linked)
    attempts = [("report", "--out", site.warehouse), ("report", "--out", snapshot),
                ("report", "--out", linked), ("export", "--out", snapshot.parent),
                ("load", "--raw", site.raw, "--out", site.warehouse),
                ("load", "--raw", site.raw, "--out", snapshot)]
    for attempt in attempts:
        result = _retain(*attempt, "--warehouse", site.warehouse, cwd=site.root)
        assert result.returncode == ExitCode.INPUT_REJECTED, attempt
        assert "only `retain run` writes" in _error_line(result)
    loaded = _retain("load", "--raw", site.raw, "--out", site.root / "loaded.duckdb",
                     "--warehouse", site.warehouse, cwd=site.root)
    assert loaded.returncode == 0, loaded.stderr
    with duckdb.connect(str(site.root / "loaded.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.customers").fetchone() == (3,)
    assert site.published() == before


# Settings: every bad one is one line and exit 2 --------------------------------------


@pytest.mark.parametrize(("arguments", "toml", "env", "message"), [
    (["--settings", "missing.toml"], None, {}, "settings file {root}/missing.toml does not "
                                               "exist"),
    (["--lookback-days", "1000000"], None, {}, "argument --lookback-days: expected 0 to 3,650"),
    (["--var", "mrr_change_threshold=1e20"], None, {}, "at most 9999999999999999.99"),
    ([], "[run]\nkept_daily_snapshots = -1\n", {}, "[run] kept_daily_snapshots = -1: "
                                                   "expected a whole number from 1"),
    ([], "[run]\nkept_validation_runs = \"ten\"\n", {}, "[run] kept_validation_runs = 'ten'"),
    ([], "[run]\nas_of_date = 5\n", {}, "[run] as_of_date = 5: expected a day"),
    ([], "[run]\nraw_dir = 3\n", {}, "[run] raw_dir = 3: expected a path as text"),
    ([], "run = 5\n", {}, "run must be a table"),
    ([], "[settings]\nmrr_change_threshold = 1e20\n", {}, "at most 9999999999999999.99"),
    ([], None, {"RETAIN_DUCKDB_MEMORY_LIMIT": "lots"}, "RETAIN_DUCKDB_MEMORY_LIMIT='lots'"),
    ([], None, {"RETAIN_DUCKDB_MEMORY_LIMIT": "1MB"}, "at least 1GiB"),
    ([], None, {"RETAIN_LOOKBACK_DAYS": "1000000"}, "lookback_days='1000000'"),
])
def test_a_bad_setting_ends_in_one_line_and_exit_2(
        site: Site, arguments: list[str], toml: str | None, env: dict[str, str],
        message: str) -> None:
    if toml is not None:
        (site.root / "retain.toml").write_text(toml)
        arguments = [*arguments, "--settings", str(site.root / "retain.toml")]
    before = site.published()
    result = site.run("--as-of", AS_OF, *arguments, env=env)
    assert result.returncode == ExitCode.INPUT_REJECTED
    assert message.format(root=site.root) in _error_line(result)
    assert site.published() == before


# The machine refuses: full disk, read-only folder ------------------------------------


@contextmanager
def _mounted(folder: Path, *mounts: list[str]) -> Iterator[Path]:
    """A file system of the tests' own at folder (root only: CI and the dev machines run
    as root), each mount command's options then folder, unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *mounts[0], folder], check=True)
    try:
        for options in mounts[1:]:
            subprocess.run(["mount", *options, folder], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", folder], check=True)


def _fill(folder: Path, leave: int) -> None:
    """Take all free space of folder's file system but `leave` bytes."""
    free = shutil.disk_usage(folder).free
    (folder / "filler").write_bytes(b"\0" * max(free - leave, 0))


@pytest.mark.parametrize(("free", "step"), [(16 * 1024, "load"), (256 * 1024, "validate")])
def test_a_full_disk_stops_the_run_with_exit_5_and_the_published_file_intact(
        site: Site, tmp_path: Path, free: int, step: str) -> None:
    with _mounted(tmp_path / "disk", ["-t", "tmpfs", "-o", "size=16m", "tmpfs"]) as disk:
        full = Site(disk)
        shutil.copytree(site.raw, full.raw)
        full.warehouse.parent.mkdir()
        shutil.copy2(site.warehouse, full.warehouse)
        _fill(disk, free)
        before = full.published()
        result = full.run("--as-of", AS_OF)
        assert result.returncode == ExitCode.MACHINE_REFUSED, result.stderr
        assert f"error: {step}: no space left on device" in result.stderr, result.stderr
        assert _error_line(result).startswith("run failed (exit 5)")
        assert full.published() == before


def test_a_full_disk_while_publishing_leaves_no_partial_snapshot(
        site: Site, tmp_path: Path) -> None:
    with _mounted(tmp_path / "disk", ["-t", "tmpfs", "-o", "size=64m", "tmpfs"]) as disk:
        warehouse = disk / "retain.duckdb"
        build_path(warehouse).parent.mkdir(parents=True)
        shutil.copy2(build_path(site.warehouse), build_path(warehouse))
        shutil.copy2(site.warehouse, warehouse)
        _fill(disk, 1024 * 1024)
        published_before = warehouse.read_bytes()
        with pytest.raises(duckdb.IOException, match="No space left on device"):
            publish(build_path(warehouse), warehouse, date(2024, 4, 1), {})
        assert warehouse.read_bytes() == published_before
        assert not (disk / "snapshots").exists() or not any((disk / "snapshots").iterdir())


def test_a_read_only_warehouse_folder_stops_the_run_with_exit_5(
        site: Site, tmp_path: Path) -> None:
    folder = site.warehouse.parent
    before = site.published()
    with _mounted(folder, ["--bind", str(folder)], ["-o", "remount,ro,bind"]):
        result = site.run("--as-of", AS_OF)
    assert result.returncode == ExitCode.MACHINE_REFUSED
    assert "read-only file system" in result.stderr
    assert _error_line(result).startswith(("run failed (exit 5)", "error: lock: "))
    assert site.published() == before


def test_out_of_memory_in_dbt_names_the_model_the_limit_and_the_way_out() -> None:
    outcome = DbtOutcome(False, failures=[
        "model.retain.int_customer_snapshot_30d_user_windows: Runtime Error in model "
        "int_customer_snapshot_30d_user_windows (models/x.sql): Out of Memory Error: "
        "failed to allocate data of size 16.0 MiB (5.0 GiB/5.1 GiB used)"])
    code, [line] = _build_failure(Settings(), outcome)
    assert code == ExitCode.MACHINE_REFUSED
    assert "int_customer_snapshot_30d_user_windows" in line
    assert "ran out of memory under DuckDB's limit of" in line
    assert "raise the limit with RETAIN_DUCKDB_MEMORY_LIMIT" in line


def test_out_of_memory_read_from_dbt_s_results_reaches_the_run_s_last_line(
        tmp_path: Path) -> None:
    # dbt's run_results.json as dbt 1.11 writes it for a model DuckDB could not fit in
    # its memory limit: the cause is on the message's second line.
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.retain.int_user_month_usage", "status": "error",
         "message": "Runtime Error in model int_user_month_usage (models/x.sql)\n  Out of "
                    "Memory Error: failed to allocate data of size 16.0 MiB (5.0 GiB/5.1 "
                    "GiB used)"},
        {"unique_id": "test.retain.not_null_x", "status": "fail",
         "message": "Got 2 results, configured to fail if != 0"}]}))
    outcome = DbtOutcome(False)
    _outcome_from_run_results(tmp_path / "run_results.json", outcome)
    code, [line] = _build_failure(Settings(), outcome)
    assert code == ExitCode.MACHINE_REFUSED
    assert line.startswith("dbt build ran out of memory under DuckDB's limit of ")
    assert ("model.retain.int_user_month_usage: Runtime Error in model int_user_month_usage "
            "(models/x.sql): Out of Memory Error: failed to allocate data") in line
    assert line.endswith(OUT_OF_MEMORY_REMEDY)
    assert outcome.failures[1] == ("test.retain.not_null_x: Got 2 results, configured to "
                                   "fail if != 0")


def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_file(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(_: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_command_export", broken)
    assert cli.main(["export", "--out", "x"]) == ExitCode.UNEXPECTED
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: unexpected error while running retain export: "
                           "ZeroDivisionError: a bug (traceback in ")
    traceback_file = Path(line.split("traceback in ")[1].split(";")[0])
    assert "ZeroDivisionError" in traceback_file.read_text()


def test_the_summary_reads_the_runs_own_day(site: Site) -> None:
    """Renders from the run's dated snapshot with the notices at the end."""
    report = RunReport(ExitCode.OK, notices=["[warning] usage_events: feed stopped"])
    text = summary_text(report, Settings(warehouse=site.warehouse, as_of=date(2024, 3, 31)))
    assert text.splitlines()[-1] == "  [warning] usage_events: feed stopped"
