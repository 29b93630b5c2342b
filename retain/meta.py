"""The `meta` relation: how the published numbers were made, for a BI reader to see.

One key/value row each (VARCHAR, readable by every BI tool): the run id, the
as-of date, when it was built, every metric setting, the versions of Retain,
dbt and DuckDB, the git commit, and the rows of every raw and published table.
It is written into the build file just before publishing, so the snapshot and
its description are swapped in together.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb

from retain.interface import PUBLISHED_RELATIONS
from retain.settings import PROJECT_DIR, Settings

META_RELATION = "meta"
VERSIONED_PACKAGES = ("retain", "dbt-core", "dbt-duckdb", "duckdb")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def git_commit(short: bool = False) -> str:
    """The project's checked-out commit (abbreviated when short), or unknown."""
    try:
        completed = subprocess.run(["git", "rev-parse", *(["--short"] if short else []), "HEAD"],
                                   cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10,
                                   check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip()


def _row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every raw table (raw.<table>) and published relation present in the file."""
    present = con.execute("select table_schema, table_name from information_schema.tables "
                          "where table_schema in ('raw', 'main')").fetchall()
    wanted = [(schema, name) for schema, name in present
              if schema == "raw" or name in PUBLISHED_RELATIONS]
    counts = {}
    for schema, name in sorted(wanted):
        result = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
        label = f"raw.{name}" if schema == "raw" else name
        counts[label] = int(result[0]) if result else 0
    return counts


def meta_rows(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str) -> list[
        tuple[str, str]]:
    """(key, value) rows describing the run that built the warehouse behind con."""
    rows = [("run_id", run_id), ("as_of_date", settings.as_of.isoformat()),
            ("engine", settings.engine),
            ("built_at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
            ("git_commit", git_commit())]
    rows += [(f"setting.{name}", json.dumps(value))
             for name, value in sorted(settings.metrics().items())]
    rows += [(f"version.{name}", _package_version(name)) for name in VERSIONED_PACKAGES]
    rows += [(f"rows.{name}", str(count)) for name, count in _row_counts(con).items()]
    return rows


def write_meta(build_file: Path, settings: Settings, run_id: str) -> None:
    """Replace the meta relation of the build file with this run's description."""
    with duckdb.connect(str(build_file)) as con:
        rows = meta_rows(con, settings, run_id)
        con.execute(f"create or replace table main.{META_RELATION} "
                    "(key varchar primary key, value varchar not null)")
        con.executemany(f"insert into main.{META_RELATION} values (?, ?)", rows)
