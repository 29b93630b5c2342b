"""Where things are: paths and defaults shared by the CLI, the pipeline and Dagster."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_RAW_DIR = PROJECT_DIR / "data" / "raw"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "retain.duckdb"
DEFAULT_REPORT_DIR = PROJECT_DIR / "gx_output"  # git-ignored

# Telemetry is off for every tool this project starts.
QUIET_ENVIRONMENT = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}


def quiet_telemetry() -> None:
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def raw_dir_from_environment() -> Path:
    return Path(os.environ.get("RETAIN_RAW_DIR") or DEFAULT_RAW_DIR)


def warehouse_from_environment() -> Path:
    configured = os.environ.get("RETAIN_DUCKDB_PATH")
    if not configured:
        return DEFAULT_WAREHOUSE
    path = Path(configured)
    return path if path.is_absolute() else PROJECT_DIR / path


def report_dir_from_environment() -> Path:
    """Where raw validation writes its JSON results and Data Docs site."""
    return Path(os.environ.get("RETAIN_GX_OUTPUT") or DEFAULT_REPORT_DIR)


def today_utc() -> date:
    return datetime.now(UTC).date()
