"""Revenue marts against hand-computed figures and an independent calculation.

The fixture tests/fixtures/revenue holds one customer per edge case (see the
comments in EXPECTED_MRR); its figures were computed by hand. The
reconciliation tests compare fct_mrr and metrics_revenue_monthly with
tests/python/independent_revenue.py, which computes MRR from the raw files
without SQL.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from retain.dbt import PRODUCTION_BUILD, dbt_arguments, run_dbt
from retain.load import load_raw
from retain.settings import Settings as RunSettings
from tests.python.conftest import FIXTURES, BuildWarehouse, query
from tests.python.independent_revenue import (
    MrrRow,
    Settings,
    add_months,
    customer_movements,
    mrr_by_month,
    rows_of,
)

REVENUE_FIXTURE = FIXTURES / "revenue"
AS_OF = date(2024, 6, 15)
# Variants of settings build only the revenue models; the default build runs everything.
REVENUE_MODELS = ("run", "--select", "+metrics_revenue_monthly", "+fct_cohort_retention")

# (customer, month number in 2024) -> (mrr, movement), as_of 2024-06-15, fx_rate_month=invoice.
EXPECTED_MRR: dict[tuple[str, int], tuple[str, str]] = {
    # c01: monthly plan, 2 seats x 100; June invoice open but not yet due; setup fee is not MRR.
    **{("c01", m): ("200.00", "new" if m == 1 else "unchanged") for m in range(1, 7)},
    # c02: annual 1200 from Jan 15 -> 100 a month.
    **{("c02", m): ("100.00", "new" if m == 1 else "unchanged") for m in range(1, 7)},
    # c03: quarterly 300 from Feb 10 -> 100 a month.
    **{("c03", m): ("100.00", "new" if m == 2 else "unchanged") for m in range(2, 7)},
    # c04: 1 -> 3 seats on Mar 16: 100 - 51.61 x 31/16 + 154.84 x 31/16 = 300.008125 -> 300.01,
    # then 300.00: the -0.01 residual is unchanged (rounding).
    ("c04", 1): ("100.00", "new"), ("c04", 2): ("100.00", "unchanged"),
    ("c04", 3): ("300.01", "expansion"), ("c04", 4): ("300.00", "unchanged"),
    ("c04", 5): ("300.00", "unchanged"), ("c04", 6): ("300.00", "unchanged"),
    # c05: 100 less a 20 discount; the 8 tax and a credit line are not MRR.
    **{("c05", m): ("80.00", "new" if m == 1 else "unchanged") for m in range(1, 7)},
    # c06: March invoice void -> churn in March; April is a draft.
    ("c06", 1): ("100.00", "new"), ("c06", 2): ("100.00", "unchanged"),
    ("c06", 3): ("0.00", "churn"),
    # c07: quarterly due Jan 1 (no due_at), paid Mar 15: counts Jan 31 (= due + 30), not Feb 29,
    # again from March; next quarter due Apr 15, unpaid: counts Apr 30, not May 31.
    ("c07", 1): ("100.00", "new"), ("c07", 2): ("0.00", "churn"),
    ("c07", 3): ("100.00", "reactivation"), ("c07", 4): ("100.00", "unchanged"),
    ("c07", 5): ("0.00", "churn"),
    # c08: billed on the 31st (Jan 31 -> Feb 29 -> Mar 31 -> ...): flat.
    **{("c08", m): ("100.00", "new" if m == 1 else "unchanged") for m in range(1, 7)},
    # c09: 100 EUR at the invoice month's rate (1.10, 1.08, 1.07, 1.09); the trial line is 0.
    ("c09", 3): ("110.00", "new"), ("c09", 4): ("108.00", "contraction"),
    ("c09", 5): ("107.00", "contraction"), ("c09", 6): ("109.00", "expansion"),
    # c10: the June invoice is issued Jun 20, after as_of: it does not exist yet -> churn.
    ("c10", 5): ("100.00", "new"), ("c10", 6): ("0.00", "churn"),
    # c11 exists only after as_of; c12 has a free plan and a 0.40 month: never paying.
    # c13: analytics added in April (cross-sell), dropped in June.
    ("c13", 1): ("100.00", "new"), ("c13", 2): ("100.00", "unchanged"),
    ("c13", 3): ("100.00", "unchanged"), ("c13", 4): ("150.00", "expansion"),
    ("c13", 5): ("150.00", "unchanged"), ("c13", 6): ("100.00", "contraction"),
    # c14: cancels Feb 20: 100 - 34.48 x 29/10 = 0.008 -> below threshold -> churn in Feb;
    # a new subscription in April is a reactivation.
    ("c14", 1): ("100.00", "new"), ("c14", 2): ("0.00", "churn"),
    ("c14", 4): ("100.00", "reactivation"), ("c14", 5): ("100.00", "unchanged"),
    ("c14", 6): ("100.00", "unchanged"),
}


def fct_mrr_rows(warehouse: Path) -> dict[tuple[str, date], tuple[Decimal, Decimal, str]]:
    return {(customer, month): (mrr, previous, movement) for customer, month, mrr, previous,
            movement in query(warehouse, "select customer_id, month, mrr, previous_mrr, movement "
                                         "from fct_mrr")}


def test_fct_mrr_matches_hand_computed_fixture(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, AS_OF)
    actual = {(customer, month.month): (str(mrr), movement)
              for (customer, month), (mrr, _, movement) in fct_mrr_rows(warehouse).items()}
    assert actual == EXPECTED_MRR


def test_latest_fx_rate_holds_currency_constant(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, AS_OF, {"fx_rate_month": "latest"}, REVENUE_MODELS)
    rows = query(warehouse, "select month, mrr, movement from fct_mrr "
                            "where customer_id = 'c09' order by month")
    # Every month at June's 1.09: FX alone never moves MRR.
    assert [(m.month, str(mrr), movement) for m, mrr, movement in rows] == [
        (3, "109.00", "new"), (4, "109.00", "unchanged"), (5, "109.00", "unchanged"),
        (6, "109.00", "unchanged")]


@pytest.mark.parametrize(("reporting_currency", "failing_column"), [
    ("USD", "invoice_usd_per_unit"),  # c09's April invoice in EUR has no rate
    ("EUR", "reporting_usd_per_unit"),  # the April invoices in USD have none to EUR
])
def test_a_missing_fx_rate_fails_a_plain_dbt_build(tmp_path: Path, reporting_currency: str,
                                                   failing_column: str) -> None:
    """A rate a conversion needs and fx_rates lacks fails the rate column's not_null fact
    (int_invoices_converted's column_facts test) even without validation, instead of
    becoming a NULL conversion (`retain run` rejects it before building: test_validation's
    "missing fx rate"). The failing test's rows name the fact."""
    raw = tmp_path / "raw"
    shutil.copytree(REVENUE_FIXTURE, raw)
    rates = raw / "fx_rates.csv"
    lines = rates.read_text().splitlines(keepends=True)
    rates.write_text("".join(line for line in lines if not line.startswith("2024-04-01,EUR")))
    warehouse = tmp_path / "retain.duckdb"
    load_raw(raw, warehouse)
    settings = RunSettings(as_of=AS_OF).with_overrides(reporting_currency=reporting_currency)

    outcome = run_dbt(dbt_arguments((*PRODUCTION_BUILD, "--select", "+int_invoices_converted",
                                     "--indirect-selection", "cautious"), settings), warehouse)

    assert not outcome.success
    assert [failure.split(".")[2] for failure in outcome.failures] == [
        "column_facts_int_invoices_converted"], outcome.failures
    results = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    [failed] = [result for result in results["results"] if result["status"] == "fail"]
    assert [fact for fact, _ in query(warehouse, failed["compiled_code"])] == [
        f"not_null({failing_column})"]


def test_later_as_of_restates_with_invoices_issued_in_arrears(
        build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, date(2024, 6, 30), None, REVENUE_MODELS)
    rows = dict(((c, m.month), str(mrr)) for c, m, mrr in query(
        warehouse,
        "select customer_id, month, mrr from fct_mrr where customer_id in ('c10', 'c11')"))
    # The invoice issued Jun 20 for June now exists and counts at the June snapshot (Jun 30);
    # c11 (created Jun 20) bills Jun 20 -> Jul 20, which counts at Jun 30 too.
    assert rows == {("c10", 5): "100.00", ("c10", 6): "100.00", ("c11", 6): "100.00"}


def test_no_month_after_the_as_of_month(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, date(2024, 3, 20), None, REVENUE_MODELS)
    months = query(warehouse, "select max(month) from fct_mrr union all "
                              "select max(month) from metrics_revenue_monthly")
    assert months == [(date(2024, 3, 1),), (date(2024, 3, 1),)]
    # c01 keeps paying into March and no churn row is invented for April.
    assert query(warehouse, "select count(*) from fct_mrr where movement = 'churn' "
                            "and customer_id = 'c01'") == [(0,)]


def test_product_movements(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, AS_OF)
    rows = query(warehouse, "select customer_id, product_id, month, mrr, movement "
                            "from fct_mrr_product where customer_id in ('c13', 'c14') "
                            "and movement <> 'unchanged' order by 1, 3, 2")
    assert [(c, p, m.month, str(mrr), mv) for c, p, m, mrr, mv in rows] == [
        ("c13", "core", 1, "100.00", "new"),
        ("c13", "analytics", 4, "50.00", "cross_sell"),
        ("c13", "analytics", 6, "0.00", "product_churn"),
        ("c14", "core", 1, "100.00", "new"),
        ("c14", "core", 2, "0.00", "churn"),
        ("c14", "core", 4, "100.00", "reactivation"),
    ]


SETTINGS_CASES = [
    Settings(as_of=AS_OF),
    Settings(as_of=AS_OF, fx_rate_month="latest"),
    Settings(as_of=date(2024, 6, 30)),
    Settings(as_of=date(2024, 3, 20), delinquency_days=10),
    Settings(as_of=AS_OF, threshold=Decimal(0)),
]


def _dbt_vars(settings: Settings) -> dict[str, object] | None:
    """None for default settings, so that the full default build is shared."""
    overrides = {}
    if settings.fx_rate_month != "invoice":
        overrides["fx_rate_month"] = settings.fx_rate_month
    if settings.delinquency_days != 30:
        overrides["mrr_delinquency_days"] = settings.delinquency_days
    if settings.threshold != Decimal("0.50"):
        overrides["mrr_change_threshold"] = str(settings.threshold)
    return overrides or None


def _build_for(build_warehouse: BuildWarehouse, settings: Settings) -> Path:
    overrides = _dbt_vars(settings)
    if overrides is None and settings.as_of == AS_OF:
        return build_warehouse(REVENUE_FIXTURE, AS_OF)
    return build_warehouse(REVENUE_FIXTURE, settings.as_of, overrides, REVENUE_MODELS)


def _as_rows(rows: list[MrrRow]) -> dict[tuple[str, date], tuple[Decimal, Decimal, str]]:
    return {(r.customer_id, r.month): (r.mrr, r.previous_mrr, r.movement) for r in rows}


@pytest.mark.parametrize("settings", SETTINGS_CASES, ids=lambda s: f"{s.as_of}-{s.fx_rate_month}"
                         f"-{s.delinquency_days}d-threshold{s.threshold}")
def test_fct_mrr_reconciles_with_independent_calculation(
        build_warehouse: BuildWarehouse, settings: Settings) -> None:
    warehouse = _build_for(build_warehouse, settings)
    expected = _as_rows(customer_movements(mrr_by_month(REVENUE_FIXTURE, settings), settings))
    assert fct_mrr_rows(warehouse) == expected


def _independent_monthly_metrics(rows: list[MrrRow], mrr: dict[tuple[str, date], Decimal],
                                 settings: Settings, first_month: date | None = None
                                 ) -> dict[date, dict[str, object]]:
    month = first_month or min(month for _, month in mrr)
    metrics = {}
    while month <= settings.as_of.replace(day=1):
        in_month = [r for r in rows if r.month == month]
        previous_month = add_months(month, -1)
        starting = sum((v for (_, m), v in mrr.items() if m == previous_month), Decimal(0))
        ending = sum((v for (_, m), v in mrr.items() if m == month), Decimal(0))
        by_movement = {mv: sum((r.mrr - r.previous_mrr for r in in_month if r.movement == mv),
                               Decimal(0)) for mv in ("new", "reactivation", "expansion",
                                                      "contraction", "churn", "unchanged")}
        previous_payers = sum(1 for (_, m) in mrr if m == previous_month)
        losses = -(by_movement["contraction"] + by_movement["churn"])
        gains = by_movement["new"] + by_movement["reactivation"] + by_movement["expansion"]
        retained = sum((r.mrr for r in in_month if r.previous_mrr > 0), Decimal(0))
        base_12 = {c: v for (c, m), v in mrr.items() if m == add_months(month, -12)}
        metrics[month] = {
            "starting_mrr": starting, "ending_mrr": ending,
            "new_mrr": by_movement["new"], "reactivation_mrr": by_movement["reactivation"],
            "expansion_mrr": by_movement["expansion"],
            "contraction_mrr": by_movement["contraction"], "churned_mrr": by_movement["churn"],
            "rounding_mrr": by_movement["unchanged"],
            "paying_customers": sum(1 for (_, m) in mrr if m == month),
            "churned_customers": sum(1 for r in in_month if r.movement == "churn"),
            "logo_churn_rate": (sum(1 for r in in_month if r.movement == "churn")
                                / previous_payers) if previous_payers else None,
            "nrr_monthly": float(retained / starting) if starting else None,
            "quick_ratio": float(gains / losses) if losses else None,
            "nrr_12m": (float(sum(mrr.get((c, month), Decimal(0)) for c in base_12)
                              / sum(base_12.values())) if base_12 else None),
        }
        month = add_months(month, 1)
    return metrics


@pytest.mark.parametrize("settings", SETTINGS_CASES[:2], ids=["invoice-fx", "latest-fx"])
def test_monthly_metrics_reconcile_with_independent_calculation(
        build_warehouse: BuildWarehouse, settings: Settings) -> None:
    warehouse = _build_for(build_warehouse, settings)
    mrr = mrr_by_month(REVENUE_FIXTURE, settings)
    expected = _independent_monthly_metrics(customer_movements(mrr, settings), mrr, settings)
    columns = list(next(iter(expected.values())))
    actual_rows = query(warehouse, f"select month, {', '.join(columns)} "
                                   "from metrics_revenue_monthly order by month")
    actual = {row[0]: dict(zip(columns, row[1:], strict=True)) for row in actual_rows}
    assert list(actual) == list(expected)
    for month, values in expected.items():
        for column, value in values.items():
            if isinstance(value, float):
                assert actual[month][column] == pytest.approx(value), (month, column)
            else:
                assert actual[month][column] == value, (month, column)


def test_revenue_by_segment_reconciles_with_independent_calculation(
        build_warehouse: BuildWarehouse) -> None:
    """Each value's rows are the monthly metrics computed independently over the
    customers of that value (the raw customers row, trimmed; NULL or empty: unknown),
    in the months one of them pays in M, M-1 or M-12."""
    warehouse = build_warehouse(REVENUE_FIXTURE, AS_OF)
    settings = Settings(as_of=AS_OF)
    mrr = mrr_by_month(REVENUE_FIXTURE, settings)
    rows = customer_movements(mrr, settings)
    customers = rows_of(REVENUE_FIXTURE, "customers")
    first_month = min(month for _, month in mrr)
    for dimension in ("segment", "country", "acquisition_channel"):
        value_of = {row["customer_id"]: row[dimension].strip() or "unknown" for row in customers}
        expected: dict[tuple[str, date], dict[str, object]] = {}
        for value in {value_of.get(customer, "unknown") for customer, _ in mrr}:
            members = {customer for customer, _ in mrr
                       if value_of.get(customer, "unknown") == value}
            paying_months = {month for customer, month in mrr if customer in members}
            metrics = _independent_monthly_metrics(
                [row for row in rows if row.customer_id in members],
                {key: mrr_value for key, mrr_value in mrr.items() if key[0] in members},
                settings, first_month)
            expected |= {(value, month): values for month, values in metrics.items()
                         if {month, add_months(month, -1), add_months(month, -12)}
                         & paying_months}
        columns = list(next(iter(expected.values())))
        actual = {(row[0], row[1]): dict(zip(columns, row[2:], strict=True))
                  for row in query(warehouse, f"select dimension_value, month, "
                                              f"{', '.join(columns)} from "
                                              "metrics_revenue_by_segment_monthly "
                                              "where dimension = ?", [dimension])}
        assert sorted(actual) == sorted(expected), dimension
        for key, values in expected.items():
            for column, value in values.items():
                if isinstance(value, float):
                    assert actual[key][column] == pytest.approx(value), (dimension, key, column)
                else:
                    assert actual[key][column] == value, (dimension, key, column)
    assert {"unknown"} <= {value for (value,) in query(
        warehouse, "select distinct dimension_value from metrics_revenue_by_segment_monthly "
                   "where dimension in ('segment', 'country')")}


def test_hand_computed_monthly_ratios(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, AS_OF)
    march = query(warehouse, "select starting_mrr, ending_mrr, expansion_mrr, churned_mrr, "
                             "logo_churn_rate, nrr_monthly, grr_monthly, quick_ratio "
                             "from metrics_revenue_monthly where month = '2024-03-01'")[0]
    # P = 8 customers paying in Feb (880.00); c06 churns (-100); c04 expands 100 -> 300.01.
    # nrr = (200+100+100+300.01+80+0+100+100) / 880; grr = (880 - 100) / 880;
    # quick = (110 new + 100 reactivation + 200.01 expansion) / 100 churned.
    assert march[:4] == (Decimal("880.00"), Decimal("1190.01"), Decimal("200.01"),
                         Decimal("-100.00"))
    assert march[4] == pytest.approx(1 / 8)
    assert march[5] == pytest.approx(980.01 / 880)
    assert march[6] == pytest.approx(780 / 880)
    assert march[7] == pytest.approx(410.01 / 100)
    january = query(warehouse, "select logo_churn_rate, nrr_monthly, quick_ratio, "
                               "trailing_6m_logo_churn_rate, ltv from metrics_revenue_monthly "
                               "where month = '2024-01-01'")[0]
    # The first month has no P and no losses: every such ratio is NULL, never 0.
    assert january == (None, None, None, None, None)


def test_generated_business_reconciles_with_independent_calculation(
        build_warehouse: BuildWarehouse, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Realistic dynamics (prorations, delinquency, five currencies, reactivations)."""
    from retain.generate import generate_raw_data

    raw_dir = tmp_path_factory.mktemp("generated_raw")
    generate_raw_data(raw_dir, customers=150, seed=11, end_date=date(2026, 11, 20), years=2,
                      file_format="csv")
    settings = Settings(as_of=date(2026, 11, 10))
    warehouse = build_warehouse(raw_dir, settings.as_of, None, REVENUE_MODELS)
    expected = _as_rows(customer_movements(mrr_by_month(raw_dir, settings), settings))
    actual = fct_mrr_rows(warehouse)
    assert len(expected) > 500  # the sample is a real business, not a handful of rows
    assert actual == expected


def test_dim_customers_revenue_columns(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(REVENUE_FIXTURE, AS_OF)
    rows = {r[0]: r[1:] for r in query(
        warehouse, "select customer_id, first_paid_month, mrr, arr, lifetime_revenue, is_paying, "
                   "current_product_ids from dim_customers")}
    # c11 is created after as_of: it does not exist yet.
    assert sorted(rows) == [f"c{n:02d}" for n in range(1, 15) if n != 11]
    # c01: Jan 200 + 50 setup fee, Feb-May 200 each; June's invoice is open, not revenue.
    assert rows["c01"] == (date(2024, 1, 1), Decimal("200.00"), Decimal("2400.00"),
                           Decimal("1050.00"), True, "core")
    # c05: 6 x (100 - 20 discount) less a 10 credit; tax is never revenue.
    assert rows["c05"][3] == Decimal("470.00")
    # c09: 100 EUR a month at 1.10, 1.08, 1.07, 1.09 (the trial invoice is 0).
    assert rows["c09"][3] == Decimal("434.00")
    # c10: the June invoice is paid Jun 21, after as_of: not yet revenue, and no June MRR.
    assert rows["c10"][1:5] == (Decimal("0.00"), Decimal("0.00"), Decimal("100.00"), False)
    # c12 never had MRR (its 0.40 month is below the threshold): zeros, not NULLs, though the
    # 0.40 it paid is realized revenue.
    assert rows["c12"][:5] == (None, Decimal("0.00"), Decimal("0.00"), Decimal("0.40"), False)
    # c13 pays for two products until it drops analytics in June.
    assert rows["c13"][5] == "core"
