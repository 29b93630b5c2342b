"""The semantic layer (models/semantic) gives the marts' numbers, queried by name.

`mf` runs as a subprocess, as a person following the README would run it, on
the fixture warehouses the other suites build (shared through the session's
build_warehouse cache), with a semantic manifest of its own. Each `mf` call
gets a copy of the warehouse and a project folder of its own, so the calls run
in parallel without DuckDB locks.
Money is compared exactly in cents (Decimal), ratios to 1e-12.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from retain.settings import PROJECT_DIR, QUIET_ENVIRONMENT
from tests.python.conftest import FIXTURES, BuildWarehouse, query

AS_OF = date(2024, 6, 15)
MF = str(Path(sys.executable).with_name("mf"))
PROJECT_ENTRIES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "analyses",
                   "tests")

# metric -> (column of metrics_revenue_monthly, kind)
BY_MONTH = {
    "mrr": ("ending_mrr", "money"),
    "arr": ("arr", "money"),
    "paying_customers": ("paying_customers", "count"),
    "new_mrr": ("new_mrr", "money"),
    "reactivation_mrr": ("reactivation_mrr", "money"),
    "expansion_mrr": ("expansion_mrr", "money"),
    "contraction_mrr": ("contraction_mrr", "money"),
    "churned_mrr": ("churned_mrr", "money"),
    "rounding_mrr": ("rounding_mrr", "money"),
    "churned_customers": ("churned_customers", "count"),
    "logo_churn_rate": ("logo_churn_rate", "ratio"),
    "nrr_monthly": ("nrr_monthly", "ratio"),
    "grr_monthly": ("grr_monthly", "ratio"),
    "nrr_12m": ("nrr_12m", "ratio"),
    "grr_12m": ("grr_12m", "ratio"),
    "arpa": ("arpa", "ratio"),
    "ltv": ("ltv", "ratio"),
}
# Grouped by a customer attribute, these equal metrics_revenue_by_segment_monthly's columns.
BY_DIMENSION = {"mrr": ("ending_mrr", "money"), "paying_customers": ("paying_customers", "count"),
                "new_mrr": ("new_mrr", "money"), "churned_mrr": ("churned_mrr", "money"),
                "expansion_mrr": ("expansion_mrr", "money"),
                "logo_churn_rate": ("logo_churn_rate", "ratio"),
                "nrr_monthly": ("nrr_monthly", "ratio")}
DIMENSIONS = ("segment", "country", "acquisition_channel")
REVENUE_DEPTH = ("delinquent_mrr", "involuntary_churned_mrr", "voluntary_churned_mrr")
TRIALS = ("trials", "converted_trials", "trial_conversion_rate")


def _value(text: str, kind: str) -> Decimal | float | int | None:
    if text in ("", "None", "nan"):
        return None
    if kind == "money":
        return Decimal(text).quantize(Decimal("0.01"))
    if kind == "count":
        return int(float(text))
    return float(text)


def _db_value(value: object, kind: str) -> Decimal | float | int | None:
    if value is None:
        return None
    if kind == "money":
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if kind == "count":
        return int(value)  # type: ignore[call-overload]
    return float(value)  # type: ignore[arg-type]


def _same(actual: object, expected: object, kind: str) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if kind == "ratio":
        return actual == pytest.approx(expected, rel=1e-12, abs=1e-12)
    return actual == expected


def _month(text: str) -> date:
    return date.fromisoformat(text[:10])


class MetricFlow:
    """Runs `mf` on copies of one warehouse, in parallel."""

    def __init__(self, warehouse: Path, manifest: Path, scratch: Path) -> None:
        self.warehouse = warehouse
        self.manifest = manifest
        self.scratch = scratch
        self.count = 0

    def _workspace(self) -> tuple[Path, Path]:
        self.count += 1
        root = self.scratch / f"mf_{self.count}"
        project = root / "project"
        (project / "target").mkdir(parents=True)
        for entry in PROJECT_ENTRIES:
            (project / entry).symlink_to(PROJECT_DIR / entry)
        # mf reads <project>/target/semantic_manifest.json, whatever DBT_TARGET_PATH says.
        shutil.copy(self.manifest, project / "target" / "semantic_manifest.json")
        # The manifest names the database after the file: keep the name retain.duckdb.
        warehouse = root / self.warehouse.name
        shutil.copy(self.warehouse, warehouse)
        return project, warehouse

    def start(self, *args: str) -> Callable[[], subprocess.CompletedProcess[str]]:
        project, warehouse = self._workspace()
        env = {**os.environ, **QUIET_ENVIRONMENT, "DBT_PROFILES_DIR": str(PROJECT_DIR),
               "DBT_PROJECT_DIR": str(project), "RETAIN_DUCKDB_PATH": str(warehouse),
               "DBT_LOG_PATH": str(project / "logs")}
        process = subprocess.Popen([MF, *args], cwd=project, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def wait() -> subprocess.CompletedProcess[str]:
            output, _ = process.communicate(timeout=300)
            assert process.returncode == 0, f"mf {' '.join(args)} failed:\n{output}"
            return subprocess.CompletedProcess(process.args, process.returncode, output)

        return wait

    def start_query(self, metrics: Sequence[str], group_by: Sequence[str]
                    ) -> Callable[[], list[dict[str, str]]]:
        return self._start_csv("--metrics", ",".join(metrics), "--group-by", ",".join(group_by))

    def start_saved_query(self, name: str) -> Callable[[], list[dict[str, str]]]:
        return self._start_csv("--saved-query", name)

    def _start_csv(self, *query_args: str) -> Callable[[], list[dict[str, str]]]:
        out = self.scratch / f"query_{self.count + 1}.csv"
        wait = self.start("query", *query_args, "--csv", str(out), "--quiet")

        def rows() -> list[dict[str, str]]:
            wait()
            with out.open(newline="") as handle:
                return list(csv.DictReader(handle))

        return rows


def _parse_semantic_manifest(target: Path) -> Callable[[], Path]:
    """Start `dbt parse` (default target: it opens no warehouse) into a target of our own.

    Not the session's shared target: a manifest parsed there for the in-memory
    lint target would point mf at the database `memory` instead of `retain`.
    """
    env = {**os.environ, **QUIET_ENVIRONMENT, "DBT_PROFILES_DIR": str(PROJECT_DIR),
           "RETAIN_DUCKDB_PATH": str(target / "retain.duckdb")}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dbt")), "parse", "--quiet", "--project-dir",
         str(PROJECT_DIR), "--target-path", str(target)],
        cwd=PROJECT_DIR, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait() -> Path:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"dbt parse failed:\n{output}"
        return target / "semantic_manifest.json"

    return wait


@pytest.fixture(scope="module")
def results(build_warehouse: BuildWarehouse, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, object]:
    """Every mf call of this module, started together and then awaited (2 warehouses)."""
    manifest = _parse_semantic_manifest(tmp_path_factory.mktemp("mf_target"))
    revenue = build_warehouse(FIXTURES / "revenue", AS_OF)
    success = build_warehouse(FIXTURES / "customer_success", AS_OF)
    # NULL, empty and padded attributes, churn of both types, delinquent MRR; trials.
    depth = build_warehouse(FIXTURES / "revenue_depth", AS_OF)
    trials = build_warehouse(FIXTURES / "trials_renewals", AS_OF)
    semantic_manifest = manifest()
    on_revenue = MetricFlow(revenue, semantic_manifest, tmp_path_factory.mktemp("mf_revenue"))
    on_success = MetricFlow(success, semantic_manifest, tmp_path_factory.mktemp("mf_success"))
    on_depth = MetricFlow(depth, semantic_manifest, tmp_path_factory.mktemp("mf_depth"))
    on_trials = MetricFlow(trials, semantic_manifest, tmp_path_factory.mktemp("mf_trials"))
    pending = {
        "validate": on_revenue.start("validate-configs"),
        "by_month": on_revenue.start_query(list(BY_MONTH), ["metric_time__month"]),
        **{f"by_{dimension}": on_depth.start_query(
            list(BY_DIMENSION), ["metric_time__month", f"customer__{dimension}"])
           for dimension in DIMENSIONS},
        "revenue_depth": on_depth.start_query(REVENUE_DEPTH, ["metric_time__month"]),
        "trial_metrics": on_trials.start_query(TRIALS, ["metric_time__month"]),
        "monthly_revenue_bridge": on_revenue.start_saved_query("monthly_revenue_bridge"),
        "nrr_grr_trend": on_revenue.start_saved_query("nrr_grr_trend"),
        "by_quarter": on_revenue.start_query(["mrr", "paying_customers", "new_mrr"],
                                             ["metric_time__quarter"]),
        "success": on_success.start_query(
            ["onboarding_completion_rate", "onboarding_customers", "nps", "nps_responses",
             "monthly_active_users"], ["metric_time__month"]),
    }
    return {"revenue": revenue, "customer_success": success, "depth": depth, "trials": trials,
            **{name: wait() for name, wait in pending.items()}}


def test_mf_validate_configs_passes_against_the_warehouse(results: dict) -> None:
    output = results["validate"].stdout
    assert "ERRORS: 0" in output and "Successfully validated metrics against data warehouse" \
        in output, output


def _mismatches_with_metrics_revenue_monthly(warehouse: Path, rows: list[dict[str, str]]
                                             ) -> list[str]:
    """Each metric of mf rows by month against its metrics_revenue_monthly column."""
    metrics = {metric: BY_MONTH[metric] for metric in rows[0] if metric in BY_MONTH}
    columns = ", ".join(column for column, _ in metrics.values())
    expected = {row[0]: row[1:] for row in query(
        warehouse, f"select month, {columns} from metrics_revenue_monthly")}
    actual = {_month(row["metric_time__month"]): row for row in rows}
    assert sorted(actual) == sorted(expected)
    mismatches = []
    for month, mart_values in expected.items():
        for (metric, (column, kind)), mart_value in zip(metrics.items(), mart_values,
                                                        strict=True):
            mf_value = _value(actual[month][metric], kind)
            if not _same(mf_value, _db_value(mart_value, kind), kind):
                mismatches.append(f"{month} {metric}: mf {mf_value} != {column} {mart_value}")
    return mismatches


def test_metrics_by_month_equal_metrics_revenue_monthly(results: dict) -> None:
    assert set(results["by_month"][0]) == {"metric_time__month", *BY_MONTH}
    mismatches = _mismatches_with_metrics_revenue_monthly(results["revenue"],
                                                          results["by_month"])
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("saved_query", ["monthly_revenue_bridge", "nrr_grr_trend"])
def test_saved_revenue_queries_equal_metrics_revenue_monthly(results: dict,
                                                             saved_query: str) -> None:
    rows = results[saved_query]
    assert set(rows[0]) - {"metric_time__month"} <= set(BY_MONTH)
    mismatches = _mismatches_with_metrics_revenue_monthly(results["revenue"], rows)
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_metrics_by_customer_attribute_equal_metrics_revenue_by_segment_monthly(
        results: dict, dimension: str) -> None:
    """mf grouped by customer__<dimension> (NULL, empty and padded values included) gives
    the mart's rows; the mart's other rows are values paying only in M-12 (zeros)."""
    columns = ", ".join(column for column, _ in BY_DIMENSION.values())
    expected = {(row[0], row[1]): row[2:] for row in query(
        results["depth"], f"select month, dimension_value, {columns} "
                          "from metrics_revenue_by_segment_monthly where dimension = ?",
        [dimension])}
    actual = {(_month(row["metric_time__month"]), row[f"customer__{dimension}"]): row
              for row in results[f"by_{dimension}"]}
    assert set(actual) <= set(expected)
    assert all(values[0] == 0 and values[1] == 0 for key, values in expected.items()
               if key not in actual)
    assert "unknown" in {value for _, value in actual}, "the fixture has blank attributes"
    mismatches = []
    for key, row in actual.items():
        for (metric, (column, kind)), mart_value in zip(BY_DIMENSION.items(), expected[key],
                                                        strict=True):
            mf_value = _value(row[metric], kind)
            if not _same(mf_value, _db_value(mart_value, kind), kind):
                mismatches.append(f"{key} {metric}: mf {mf_value} != {column} {mart_value}")
    assert not mismatches, "\n".join(mismatches)


def test_revenue_depth_metrics_equal_their_marts(results: dict) -> None:
    """Delinquent MRR is metrics_revenue_monthly's; involuntary and voluntary churned MRR
    are metrics_churn_monthly's by type; the trial metrics are metrics_trials_monthly's."""
    warehouse = results["depth"]
    churned = {(month, kind): value for month, kind, value in query(
        warehouse, "select month, churn_type, sum(churned_mrr) from metrics_churn_monthly "
                   "group by 1, 2")}
    expected = {month: (delinquent, churned.get((month, "involuntary"), Decimal(0)),
                        churned.get((month, "voluntary"), Decimal(0)))
                for month, delinquent in query(
                    warehouse, "select month, delinquent_mrr from metrics_revenue_monthly")}
    actual = {_month(row["metric_time__month"]): tuple(
        _value(row[metric], "money") or Decimal(0) for metric in REVENUE_DEPTH)
        for row in results["revenue_depth"]}
    assert actual == expected
    assert any(value[0] > 0 for value in expected.values())
    assert any(value[1] < 0 for value in expected.values())
    assert any(value[2] < 0 for value in expected.values())
    trials = {row[0]: row[1:] for row in query(
        results["trials"], "select month, trials, converted, trial_conversion_rate "
                           "from metrics_trials_monthly")}
    rows = {_month(row["metric_time__month"]): row for row in results["trial_metrics"]}
    assert set(rows) == set(trials)
    for month, (started, converted, rate) in trials.items():
        assert _value(rows[month]["trials"], "count") == started, month
        assert _value(rows[month]["converted_trials"], "count") == converted, month
        assert _same(_value(rows[month]["trial_conversion_rate"], "ratio"), rate, "ratio"), month
    assert any(rate is not None for _, _, rate in trials.values())


def test_mrr_is_a_balance_not_a_sum_over_months(results: dict) -> None:
    """By quarter, MRR and paying customers are the quarter's last month; new MRR adds up."""
    monthly = query(results["revenue"],
                    "select month, ending_mrr, paying_customers, new_mrr "
                    "from metrics_revenue_monthly order by month")
    expected: dict[date, tuple[Decimal, int, Decimal]] = {}
    for month, ending_mrr, paying, new_mrr in monthly:
        quarter = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        summed_new = expected.get(quarter, (Decimal(0), 0, Decimal(0)))[2] + new_mrr
        expected[quarter] = (ending_mrr, paying, summed_new)
    actual = {_month(row["metric_time__quarter"]): (
        _value(row["mrr"], "money"), _value(row["paying_customers"], "count"),
        _value(row["new_mrr"], "money")) for row in results["by_quarter"]}
    assert actual == expected


def test_customer_success_metrics_equal_their_marts(results: dict) -> None:
    warehouse = results["customer_success"]
    rows = {_month(row["metric_time__month"]): row for row in results["success"]}

    onboarding = query(warehouse, "select cohort_month, onboarding_completion_rate, customers "
                                  "from metrics_onboarding_cohorts")
    assert onboarding
    for month, rate, customers in onboarding:
        assert _same(_value(rows[month]["onboarding_completion_rate"], "ratio"), rate, "ratio")
        assert _value(rows[month]["onboarding_customers"], "count") == customers, month
    assert {m for m, r in rows.items() if r["onboarding_customers"]} == {r[0] for r in onboarding}

    nps = query(warehouse, "select month, nps, responses from metrics_nps_monthly")
    assert nps
    for month, score, responses in nps:
        assert _same(_value(rows[month]["nps"], "ratio"), score, "ratio"), month
        assert _value(rows[month]["nps_responses"], "count") == responses, month
    assert {m for m, r in rows.items() if r["nps_responses"]} == {r[0] for r in nps}

    # Independent of the models: distinct users with an event in the calendar month
    # (the default active_event_names = [] makes every event an activity).
    active = dict(query(
        warehouse, "select cast(date_trunc('month', occurred_at) as date), count(distinct user_id)"
                   " from stg_usage_events where user_id is not null group by 1"))
    assert active
    assert {m: _value(r["monthly_active_users"], "count") for m, r in rows.items()
            if _value(r["monthly_active_users"], "count")} == active
