"""One settings object for a run: where it reads and publishes, the day and the metric settings.

The CLI, the pipeline, validation and Dagster all take a `Settings`; the
metric settings are dbt's vars, with dbt_project.yml holding their defaults,
so what validation checks (e.g. the reporting currency) is what dbt builds.
Precedence: command line, then environment, then `retain.toml`, then defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_RAW_DIR = PROJECT_DIR / "data" / "raw"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "retain.duckdb"
SETTINGS_FILE = "retain.toml"
VALIDATION_FOLDER = "validation"

# Telemetry is off for every tool this project starts.
QUIET_ENVIRONMENT = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}


class SettingError(ValueError):
    """A setting with an unknown name or a value it cannot take."""


def quiet_telemetry() -> None:
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def today_utc() -> date:
    return datetime.now(UTC).date()


def default_memory_limit() -> str:
    """A quarter of the machine's memory: DuckDB spills to disk beyond it."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, total // 4 // 1024 ** 2)}MB"


def configured_memory_limit() -> str:
    """The DuckDB memory limit of a run: env RETAIN_DUCKDB_MEMORY_LIMIT, else a quarter
    of RAM."""
    return os.environ.get("RETAIN_DUCKDB_MEMORY_LIMIT") or default_memory_limit()


def memory_bytes(text: str) -> int | None:
    """Bytes of a DuckDB memory size such as 6035MB, 8GB or 6GiB (None: not a size)."""
    units = {"KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "KIB": 1024, "MIB": 1024 ** 2,
             "GIB": 1024 ** 3}
    cleaned = text.strip().upper().replace(" ", "")
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if cleaned.endswith(unit):
            try:
                return int(float(cleaned[: -len(unit)]) * factor)
            except ValueError:
                return None
    return None


# What a process that runs DuckDB holds beyond DuckDB's memory limit: Python, dbt's
# manifest, DuckDB's allocations outside its buffer pool. Measured at 1,000,000
# customers: 1.0 GiB above the limit while loading, 0.44 GiB in dbt's process.
# The steps' connections leave it out of the limit (duckdb_config's reserved), so
# that a run stays within the configured limit plus 1 GiB.
PROCESS_RESERVE = 512 * 1024 ** 2


def duckdb_config(spill_dir: Path, reserved: int = 0) -> dict[str, str]:
    """Settings for every DuckDB connection of a run, dbt's included: the memory limit
    (env RETAIN_DUCKDB_MEMORY_LIMIT, default a quarter of RAM), where to spill beyond
    it (env RETAIN_DUCKDB_TEMP_DIR, default spill_dir) and no insertion order to keep
    (stack-notes: 15.8 GB against 0.2 GB for a 66M-row table).

    reserved: bytes of the limit the process needs outside DuckDB (PROCESS_RESERVE,
    validation's data frames); DuckDB gets the rest, never less than half the limit."""
    limit = configured_memory_limit()
    limit_bytes = memory_bytes(limit)
    if reserved and limit_bytes:
        limit = f"{max(limit_bytes - reserved, limit_bytes // 2) // 1024 ** 2}MiB"
    return {
        "memory_limit": limit,
        "temp_directory": os.environ.get("RETAIN_DUCKDB_TEMP_DIR") or str(spill_dir),
        "preserve_insertion_order": "false",
    }


def _text(value: Any) -> str:
    return str(value).strip()


def _currency(value: Any) -> str:
    code = _text(value).upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError("expected a three-letter ISO 4217 code such as USD")
    return code


# Day counts a run accepts (delinquency, lookback): ten years covers any real
# setting, and keeps every date the SQL derives from them inside the calendar.
MAX_DAYS = 3650


def _whole_days(value: Any) -> int:
    if isinstance(value, bool) or not _text(value).isdigit() or int(_text(value)) > MAX_DAYS:
        raise ValueError(f"expected a whole number of days from 0 to {MAX_DAYS}")
    return int(_text(value))


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if _text(value).lower() not in {"true", "false"}:
        raise ValueError("expected true or false")
    return _text(value).lower() == "true"


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        number = Decimal(_text(value))
    except InvalidOperation as error:
        raise ValueError("expected a number") from error
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return number


def _margin(value: Any) -> float:
    number = _decimal(value)
    if not 0 < number <= 1:
        raise ValueError("expected a share above 0 and at most 1 (1.0 = revenue LTV)")
    return float(number)


# The largest amount a money column (decimal(18, 2), macros/types.sql) holds.
MAX_MONEY = Decimal("9999999999999999.99")


def _threshold(value: Any) -> float:
    number = _decimal(value)
    if number < 0 or number > MAX_MONEY:
        raise ValueError(f"expected an amount of 0 or more, at most {MAX_MONEY} (what a "
                         "money column holds)")
    return float(number)


def _event_names(value: Any) -> list[str]:
    names = value if isinstance(value, list | tuple) else _text(value).split(",")
    return [_text(name) for name in names if _text(name)]


def _fx_rate_month(value: Any) -> str:
    choice = _text(value).lower()
    if choice not in {"invoice", "latest"}:
        raise ValueError("expected invoice or latest")
    return choice


# Every metric setting of metrics.md and the parser that types and checks it;
# the defaults live in dbt_project.yml (a test keeps the two in step).
METRIC_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "reporting_currency": _currency,
    "mrr_delinquency_days": _whole_days,
    "mrr_include_usage": _boolean,
    "ltv_gross_margin": _margin,
    "active_event_names": _event_names,
    "fx_rate_month": _fx_rate_month,
    "mrr_change_threshold": _threshold,
}


# The engines a run can build on, and the profiles.yml target of each
# (retain/engines/: what differs between them).
DBT_TARGETS = {"duckdb": "dev", "spark": "spark"}
# How Spark is reached: a local session in dbt's process, or a Thrift server in front of
# a cluster (`make spark-cluster` starts one here); each a profiles.yml target.
SPARK_CONNECTIONS = {"session": "spark", "thrift": "spark_thrift"}


def port_setting(environ: Mapping[str, str], name: str, default: int) -> int:
    """The TCP port the environment variable `name` sets, or default."""
    value = environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingError(f"{name}={value!r} is not a port number") from None


def _spark_connection(value: Any) -> str:
    name = _text(value).lower()
    if name not in SPARK_CONNECTIONS:
        raise SettingError(f"spark_connection={value!r}: expected one of "
                           f"{', '.join(SPARK_CONNECTIONS)}")
    return name


def _engine(value: Any) -> str:
    name = _text(value).lower()
    if name not in DBT_TARGETS:
        raise SettingError(f"engine={value!r}: expected one of {', '.join(DBT_TARGETS)}")
    return name


# dbt vars a run sets besides the metric settings: the day it computes, and
# how an incremental run continues (macros/incremental.sql).
RUN_VARS = ("as_of_date", "lookback_days", "processed_through")


@cache
def dbt_project_vars() -> dict[str, Any]:
    """The vars block of dbt_project.yml: the default of every setting."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return dict(project["vars"])


def parsed_setting(name: str, value: Any) -> Any:
    """A metric setting's value typed and checked; SettingError names what is wrong."""
    parser = METRIC_SETTINGS.get(name)
    if parser is None:
        known = ", ".join(sorted(METRIC_SETTINGS))
        raise SettingError(f"unknown setting {name!r}; known settings: {known}")
    try:
        return parser(value)
    except ValueError as error:
        raise SettingError(f"setting {name}={value!r}: {error}") from error


def parsed_assignment(text: str) -> tuple[str, Any]:
    """`name=value` from the command line, typed and checked."""
    name, separator, value = text.partition("=")
    if not separator or not name.strip():
        raise SettingError(f"expected name=value, got {text!r}")
    return name.strip(), parsed_setting(name.strip(), value)


def _absolute(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else PROJECT_DIR / path


def settings_file_values(path: Path, required: bool = False) -> dict[str, Any]:
    """The [run] and [settings] tables of a retain.toml; empty when there is none, unless
    the file was asked for by name (required): then its absence is an error."""
    if not path.exists():
        if required:
            raise SettingError(f"settings file {path} does not exist")
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SettingError(f"{path}: not valid TOML: {error}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise SettingError(f"{path}: cannot be read: {error}") from error
    unknown = set(document) - {"run", "settings"}
    if unknown:
        raise SettingError(f"{path}: unknown table(s) {sorted(unknown)}; expected [run], "
                           "[settings]")
    for table in ("run", "settings"):
        if not isinstance(document.get(table, {}), dict):
            raise SettingError(f"{path}: {table} must be a table ([{table}])")
    return document


@dataclass(frozen=True)
class Settings:
    """What one run reads, computes and publishes."""

    raw_dir: Path = DEFAULT_RAW_DIR
    warehouse: Path = DEFAULT_WAREHOUSE
    as_of: date = field(default_factory=today_utc)
    report_dir: Path | None = None  # None: beside the warehouse
    kept_validation_runs: int = 10
    # Dated snapshots kept beside the warehouse: the newest days, and every month end.
    kept_daily_snapshots: int = 7
    # Metric settings that differ from dbt_project.yml's defaults.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Rebuild everything instead of continuing the last run's build file.
    full_refresh: bool = False
    # Days before the last processed day an incremental run recomputes (late events).
    lookback_days: int = field(default_factory=lambda: int(dbt_project_vars()["lookback_days"]))
    # Where dbt builds (DBT_TARGETS): DuckDB, or Spark with Parquet published.
    engine: str = "duckdb"
    # On Spark: a local session, or a Thrift server (SPARK_CONNECTIONS).
    spark_connection: str = "session"

    @property
    def dbt_target(self) -> str:
        if self.engine == "spark":
            return SPARK_CONNECTIONS[self.spark_connection]
        return DBT_TARGETS[self.engine]

    def metric(self, name: str) -> Any:
        """A metric setting as this run uses it (override or dbt_project.yml default)."""
        if name in self.overrides:
            return self.overrides[name]
        return parsed_setting(name, dbt_project_vars()[name])

    def metrics(self) -> dict[str, Any]:
        return {name: self.metric(name) for name in METRIC_SETTINGS}

    def dbt_vars(self) -> dict[str, Any]:
        """dbt's --vars: the as_of date, the lookback and every metric setting, defaults
        included."""
        return {"as_of_date": self.as_of.isoformat(), "lookback_days": self.lookback_days,
                **self.metrics()}

    def validation_dir(self) -> Path:
        """Validation results and Data Docs: beside the warehouse unless configured."""
        return self.report_dir or self.warehouse.parent / VALIDATION_FOLDER

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with more metric settings, typed and checked."""
        merged = {**self.overrides,
                  **{name: parsed_setting(name, value) for name, value in values.items()}}
        return replace(self, overrides=merged)


def _lookback(value: Any) -> int:
    try:
        return _whole_days(value)
    except ValueError as error:
        raise SettingError(f"lookback_days={value!r}: {error}") from error


def _folder_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path as text")
    return value


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ValueError("expected a day, YYYY-MM-DD") from error


def _kept_count(value: Any) -> int:
    """How many reports or snapshots to keep: the run's own is always among them."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise ValueError("expected a whole number from 1 to 100000")
    return value


# The [run] table of retain.toml: each key and the parser that types and checks it.
RUN_KEYS: dict[str, Callable[[Any], Any]] = {
    "raw_dir": _folder_text, "warehouse": _folder_text, "report_dir": _folder_text,
    "as_of_date": _day, "kept_validation_runs": _kept_count,
    "kept_daily_snapshots": _kept_count, "lookback_days": _whole_days, "engine": _text,
    "spark_connection": _text,
}


def _run_table(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """The [run] table, every value typed and checked; SettingError names the key."""
    run = document.get("run", {})
    unknown = set(run) - set(RUN_KEYS)
    if unknown:
        raise SettingError(f"{path}: unknown [run] key(s) {sorted(unknown)}; known: "
                           + ", ".join(RUN_KEYS))
    typed = {}
    for key, value in run.items():
        try:
            typed[key] = RUN_KEYS[key](value)
        except ValueError as error:
            raise SettingError(f"{path}: [run] {key} = {value!r}: {error}") from error
    return typed


# The earliest as-of day a run accepts, and how far ahead a deliberate future
# as-of day may go (a mistyped year is refused either way).
EARLIEST_AS_OF = date(1970, 1, 1)
FUTURE_AS_OF_DAYS = 3653


def checked_as_of(as_of: date, allow_future: bool = False,
                  today: date | None = None) -> date:
    """as_of if a run may compute it: not after tomorrow (UTC) unless allow_future, and
    never before EARLIEST_AS_OF or more than ten years ahead."""
    today = today or today_utc()
    tomorrow = today + timedelta(days=1)
    latest = today + timedelta(days=FUTURE_AS_OF_DAYS)
    if as_of < EARLIEST_AS_OF:
        raise SettingError(f"as-of day {as_of} is before {EARLIEST_AS_OF}")
    if as_of > tomorrow and not allow_future:
        raise SettingError(f"as-of day {as_of} is after tomorrow ({tomorrow}, UTC); if "
                           "that future day is intended, pass --allow-future-as-of")
    if as_of > latest:
        raise SettingError(f"as-of day {as_of} is more than ten years ahead (latest "
                           f"{latest}); check the year")
    return as_of


# Below this, the reserve each process keeps (PROCESS_RESERVE, validation's)
# leaves DuckDB too little to build anything.
MINIMUM_MEMORY = 1024 ** 3


def checked_memory_limit() -> str:
    """The run's DuckDB memory limit (configured_memory_limit), if DuckDB can take it."""
    limit = configured_memory_limit()
    size = memory_bytes(limit)
    if size is None or size < MINIMUM_MEMORY:
        raise SettingError(f"RETAIN_DUCKDB_MEMORY_LIMIT={limit!r}: expected a size of at "
                           "least 1GiB, such as 6GB or 4096MiB")
    return limit



def resolved_settings(raw_dir: str | Path | None = None, warehouse: str | Path | None = None,
                      as_of: date | None = None, report_dir: str | Path | None = None,
                      overrides: Mapping[str, Any] | None = None,
                      settings_file: Path | None = None, full_refresh: bool = False,
                      lookback_days: int | None = None, engine: str | None = None,
                      allow_future_as_of: bool = False) -> Settings:
    """Settings from arguments (None = not given), environment, retain.toml and defaults,
    each checked: SettingError names the one that is wrong and why."""
    file = settings_file or PROJECT_DIR / SETTINGS_FILE
    document = settings_file_values(file, required=settings_file is not None)
    run = _run_table(document, file)
    checked_memory_limit()

    def chosen(given: str | Path | None, variable: str, key: str) -> str | Path | None:
        return given or os.environ.get(variable) or run.get(key)

    raw = chosen(raw_dir, "RETAIN_RAW_DIR", "raw_dir")
    published = chosen(warehouse, "RETAIN_DUCKDB_PATH", "warehouse")
    report = chosen(report_dir, "RETAIN_VALIDATION_DIR", "report_dir")
    settings = Settings(
        raw_dir=_absolute(raw) if raw else DEFAULT_RAW_DIR,
        warehouse=_absolute(published) if published else DEFAULT_WAREHOUSE,
        as_of=checked_as_of(as_of or run.get("as_of_date") or today_utc(),
                            allow_future_as_of),
        report_dir=_absolute(report) if report else None,
        kept_validation_runs=run.get("kept_validation_runs", 10),
        kept_daily_snapshots=run.get("kept_daily_snapshots", 7),
        full_refresh=full_refresh,
        lookback_days=_lookback(lookback_days if lookback_days is not None
                                else os.environ.get("RETAIN_LOOKBACK_DAYS")
                                or run.get("lookback_days",
                                           dbt_project_vars()["lookback_days"])),
        engine=_engine(engine or os.environ.get("RETAIN_ENGINE") or run.get("engine", "duckdb")),
        spark_connection=_spark_connection(os.environ.get("RETAIN_SPARK_CONNECTION")
                                           or run.get("spark_connection", "session")),
    )
    return settings.with_overrides(**{**document.get("settings", {}), **(overrides or {})})
