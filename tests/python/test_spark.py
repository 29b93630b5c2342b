"""The Spark stage of `make test` (make spark-test, `pytest -m spark`): the fixture raw
folders built on Spark by `retain run --engine spark`, its data tests and unit tests run
there, and every interface table compared with the DuckDB build cell for cell.

Needs retain[spark] and Java 17; `make spark-test` installs both when missing.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from retain.dbt import dbt_arguments, run_dbt
from retain.engines.spark import SparkEngine
from retain.interface import INTERFACE_RELATIONS
from retain.publish import build_path
from retain.spark_parity import ParityResult, engines_parity
from tests.python.conftest import FIXTURES

pytestmark = pytest.mark.spark

# Each fixture folder at the as-of day its own tests use: money and fx (revenue), and
# onboarding, engagement, NPS, support and health (customer_success).
FIXTURE_DAYS = {"revenue": date(2024, 6, 15), "customer_success": date(2024, 6, 30)}
# Unit tests Spark cannot run, each with its reason in the model's yml.
NOT_ON_SPARK = "tag:not_on_spark"


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ParityResult]:
    work = tmp_path_factory.mktemp("spark_parity")
    return {name: engines_parity(FIXTURES / name, as_of, work / name)
            for name, as_of in FIXTURE_DAYS.items()}


@pytest.mark.parametrize("fixture", FIXTURE_DAYS)
def test_every_interface_table_is_identical_on_spark(parity: dict[str, ParityResult],
                                                     fixture: str) -> None:
    result = parity[fixture]
    assert [difference.line() for difference in result.differences] == []
    # Every data test ran on both engines and passed.
    duckdb_counts, spark_counts = (result.runs[engine].dbt_counts for engine in
                                   ("duckdb", "spark"))
    assert spark_counts.get("pass", 0) == duckdb_counts.get("pass", 0) > 150
    assert not {"error", "fail", "warn"} & spark_counts.keys()


def test_spark_publishes_parquet_a_duckdb_reader_opens(
        parity: dict[str, ParityResult]) -> None:
    report, settings = parity["revenue"].runs["spark"], parity["revenue"].settings["spark"]
    published = SparkEngine().published_location(settings)
    assert published.is_symlink(), "the published folder is a link switched by one rename"
    names = sorted(path.stem for path in published.glob("*.parquet"))
    assert names == sorted([*INTERFACE_RELATIONS, "meta"])
    with duckdb.connect() as con:
        meta = dict(con.execute(f"select key, value from '{published / 'meta.parquet'}'")
                    .fetchall())
        mrr_rows = con.execute(f"select count(*) from '{published / 'fct_mrr.parquet'}'")
    assert meta["run_id"] == report.run_id
    assert (meta["as_of_date"], meta["engine"]) == ("2024-06-15", "spark")
    assert int(meta["rows.fct_mrr"]) == mrr_rows.fetchone()[0] > 0


def test_unit_tests_pass_on_spark(parity: dict[str, ParityResult]) -> None:
    """After the builds: an incremental model's unit test reads its built relation."""
    settings = parity["customer_success"].settings["spark"]
    outcome = run_dbt(dbt_arguments(("test", "--select", "test_type:unit", "--exclude",
                                     NOT_ON_SPARK), settings), build_path(settings.warehouse))
    assert outcome.success, "\n".join(outcome.failures)
    assert outcome.counts.get("pass", 0) >= 56
