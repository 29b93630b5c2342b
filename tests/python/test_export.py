"""The published snapshot for BI tools: the meta relation says how it was made,
`retain export` writes every interface table as files equal to the tables, and a
SQLAlchemy-based BI tool reads it read-only through duckdb-engine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from retain.cli import main
from retain.dashboard import data
from retain.dashboard.report import report_html
from retain.interface import PUBLISHED_RELATIONS
from retain.pipeline import ExitCode, run_pipeline
from retain.settings import Settings
from tests.python.conftest import FIXTURES, query
from tools.compare import interface_differences

AS_OF = date(2024, 6, 15)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """valid_small through the real pipeline, with a setting that is not the default."""
    warehouse = tmp_path_factory.mktemp("published") / "retain.duckdb"
    settings = Settings(raw_dir=FIXTURES / "valid_small", warehouse=warehouse,
                        as_of=AS_OF).with_overrides(mrr_delinquency_days=10)
    report = run_pipeline(settings, progress=lambda _: None)
    assert report.exit_code == ExitCode.OK, report.errors
    return warehouse


def test_meta_records_settings_versions_and_rows(published: Path) -> None:
    meta = dict(query(published, "select key, value from meta"))

    assert len(meta["run_id"]) == 32
    assert meta["as_of_date"] == "2024-06-15"
    assert json.loads(meta["setting.mrr_delinquency_days"]) == 10
    assert json.loads(meta["setting.mrr_change_threshold"]) == 0.5
    assert json.loads(meta["setting.active_event_names"]) == []
    assert {"version.retain", "version.dbt-core", "version.duckdb", "git_commit"} <= meta.keys()
    for relation in PUBLISHED_RELATIONS:
        [(rows,)] = query(published, f"select count(*) from {relation}")
        assert int(meta[f"rows.{relation}"]) == rows
    raw_customers = (FIXTURES / "valid_small" / "customers.csv").read_text().splitlines()[1:]
    assert int(meta["rows.raw.customers"]) == len(raw_customers)


def test_the_published_file_holds_what_readers_need(published: Path) -> None:
    relations = {name for (name,) in query(
        published, "select table_schema || '.' || table_name from information_schema.tables")}
    # The models with meta `published` (retain.interface) and the run's description.
    assert relations == {f"main.{name}" for name in (*PUBLISHED_RELATIONS, "meta")}
    assert {"main.fct_customer_nps", "main.metricflow_time_spine",
            "main.metrics_revenue_by_segment_monthly"} <= relations


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_export_writes_every_interface_table(published: Path, tmp_path: Path,
                                             file_format: str) -> None:
    out = tmp_path / "export"
    assert main(["export", "--warehouse", str(published), "--format", file_format,
                 "--out", str(out)]) == 0

    written = sorted(path.name for path in out.iterdir())
    assert written == sorted(f"{name}.{file_format}" for name in (*PUBLISHED_RELATIONS, "meta"))
    if file_format == "parquet":  # types survive: the files equal the tables cell for cell
        assert interface_differences(published, out) == []
    else:
        header = (out / "fct_mrr.csv").read_text().splitlines()[0]
        assert header == ("customer_id,month,mrr,previous_mrr,mrr_change,movement,"
                          "churn_type,churn_reason,delinquent_mrr,is_complete_month")
        [(rows,)] = query(published, "select count(*) from fct_mrr")
        assert len((out / "fct_mrr.csv").read_text().splitlines()) == rows + 1


def test_readers_take_the_parquet_folder_an_engine_publishes(published: Path,
                                                            tmp_path: Path) -> None:
    """Spark publishes a folder of <relation>.parquet files and meta.parquet, the layout
    of a Parquet export: export, the dashboard's reads and the report take it as they
    take the DuckDB file, with the same numbers."""
    folder = tmp_path / "retain"
    assert main(["export", "--warehouse", str(published), "--format", "parquet",
                 "--out", str(folder)]) == 0
    again = tmp_path / "again"
    assert main(["export", "--warehouse", str(folder), "--format", "parquet",
                 "--out", str(again)]) == 0
    assert interface_differences(published, again) == []
    assert data.as_of_date(folder) == data.as_of_date(published) == AS_OF
    for read in (data.revenue_monthly, data.churn_risk_worklist, data.onboarding_cohorts):
        pd.testing.assert_frame_equal(read(folder), read(published))
    # The report's caption names the snapshot and the time it was written, and the SVG
    # renderer numbers its clip paths and gradients on from one chart to the next;
    # nothing else may differ.
    from_file, from_folder = ([re.sub(r"(clip|gradient_)\d+", r"\1N", line)
                               for line in report_html(location).splitlines()
                               if "· snapshot" not in line] for location in (published, folder))
    assert len(from_file) > 10 and from_folder == from_file


def test_export_without_a_warehouse_names_it(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.duckdb"
    assert main(["export", "--warehouse", str(missing), "--out", str(tmp_path / "x")]) == 2
    assert f"{missing}: no published warehouse" in capsys.readouterr().err


# Run as a BI tool would, in its own process: duckdb-engine leaves DuckDB objects
# alive at interpreter exit, and nanobind's leak report would end pytest's output.
SQLALCHEMY_READER = """
import json, sys
import sqlalchemy as sa
engine = sa.create_engine(f"duckdb:///{sys.argv[1]}?access_mode=read_only")
with engine.connect() as connection:
    rows = connection.execute(sa.text(
        "select movement, count(*) from fct_mrr group by movement order by 1")).all()
    try:
        connection.execute(sa.text("create table scratch as select 1 as x"))
        refused = ""
    except sa.exc.DBAPIError as error:
        refused = str(error)
engine.dispose()
print(json.dumps({"rows": [list(row) for row in rows], "refused": refused}))
"""


def test_sqlalchemy_reads_the_published_file_read_only(published: Path) -> None:
    completed = subprocess.run([sys.executable, "-c", SQLALCHEMY_READER, str(published)],
                               capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "read-only" in answer["refused"]
    assert [tuple(row) for row in answer["rows"]] == query(
        published, "select movement, count(*) from fct_mrr group by movement order by 1")
