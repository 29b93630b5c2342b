"""The Spark stage of `make test` (make spark-test, `pytest -m spark`): a fixture raw folder
built on Spark by `retain run --engine spark`, its data tests and unit tests run there, and
every interface table compared with the DuckDB build cell for cell.

Needs retain[spark] and Java 17; `make spark-test` installs both when missing. One
fixture keeps the stage at about six minutes: customer_success fills all 22 interface
tables (and the 3 supporting ones); the revenue rules (fx, proration, rounding) are
proven on Spark by their unit tests, and `make spark-parity` compares the 10,000-customer
sample.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from retain.dbt import dbt_arguments, run_dbt
from retain.engines.spark import SparkEngine
from retain.interface import PUBLISHED_RELATIONS
from retain.publish import build_path
from retain.sql import sql_literal
from tests.python.conftest import FIXTURES
from tools.spark_parity import ParityResult, engines_parity

pytestmark = pytest.mark.spark

FIXTURE, AS_OF = "customer_success", date(2024, 6, 30)
# Unit tests Spark cannot run, each with its reason in the model's yml.
NOT_ON_SPARK = "tag:not_on_spark"


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> ParityResult:
    return engines_parity(FIXTURES / FIXTURE, AS_OF, tmp_path_factory.mktemp("spark_parity"))


def test_every_interface_table_is_identical_on_spark(parity: ParityResult) -> None:
    assert [difference.line() for difference in parity.differences] == []
    # Every data test ran on both engines and passed: 117 nodes since one column_facts
    # test per model holds its not-null, accepted-values and unique facts (205 before;
    # test_every_fact_tested_before_column_facts_is_still_tested keeps every fact).
    duckdb_counts, spark_counts = (parity.runs[engine].dbt_counts for engine in
                                   ("duckdb", "spark"))
    assert spark_counts.get("pass", 0) == duckdb_counts.get("pass", 0) >= 117
    assert not {"error", "fail", "warn"} & spark_counts.keys()


def test_spark_publishes_parquet_a_duckdb_reader_opens(parity: ParityResult) -> None:
    published = SparkEngine().published_location(parity.settings["spark"])
    assert published.is_symlink(), "the published folder is a link switched by one rename"
    names = sorted(path.stem for path in published.glob("*.parquet"))
    assert names == sorted([*PUBLISHED_RELATIONS, "meta"])
    with duckdb.connect() as con:
        meta_file = sql_literal(published / "meta.parquet")
        meta = dict(con.execute(f"select key, value from {meta_file}").fetchall())
        counts = {name: con.execute(f"select count(*) from "
                                    f"{sql_literal(published / f'{name}.parquet')}")
                  .fetchall()[0][0] for name in PUBLISHED_RELATIONS}
    assert meta["run_id"] == parity.runs["spark"].run_id
    assert (meta["as_of_date"], meta["engine"]) == (AS_OF.isoformat(), "spark")
    assert {name: int(meta[f"rows.{name}"]) for name in PUBLISHED_RELATIONS} == counts
    assert all(counts.values()), f"every interface table has rows on this fixture: {counts}"


def test_unit_tests_pass_on_spark(parity: ParityResult) -> None:
    """After the build: an incremental model's unit test reads its built relation."""
    settings = parity.settings["spark"]
    outcome = run_dbt(dbt_arguments(("test", "--select", "test_type:unit", "--exclude",
                                     NOT_ON_SPARK), settings), build_path(settings.warehouse))
    assert outcome.success, "\n".join(outcome.failures)
    assert outcome.counts.get("pass", 0) >= 56
