"""Revenue depth (metrics.md, "Revenue depth"): churn type and reason, delinquent MRR, the
seat/price/plan split of product changes, and the relations summing them.

The fixture tests/fixtures/revenue_depth holds one customer per case, with figures computed
by hand below; the reconciliation tests compare every row with
tests/python/independent_revenue_depth.py, which computes them from the raw files without
SQL, on that fixture, on tests/fixtures/revenue under each setting that test_revenue.py
builds, and on a generated business.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.python.conftest import FIXTURES, BuildWarehouse, query
from tests.python.independent_revenue import Settings, mrr_by_month
from tests.python.independent_revenue_depth import (
    change_reasons,
    churn_by_type_and_reason,
    churn_rows,
    delinquent_mrr,
    product_rows,
)
from tests.python.test_revenue import REVENUE_FIXTURE, REVENUE_MODELS, SETTINGS_CASES, _build_for

DEPTH_FIXTURE = FIXTURES / "revenue_depth"
AS_OF = date(2024, 6, 15)
D = Decimal


def _churns(warehouse: Path) -> dict[tuple[str, date], tuple[Decimal, str, str]]:
    return {(c, m): (change, kind, reason) for c, m, change, kind, reason in query(
        warehouse, "select customer_id, month, mrr_change, churn_type, churn_reason "
                   "from fct_mrr where movement = 'churn'")}


def test_churn_types_and_reasons_by_hand(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(DEPTH_FIXTURE, AS_OF)
    april = date(2024, 4, 1)
    assert _churns(warehouse) == {
        # Its April-June invoice, due Mar 20, is unpaid at Apr 30 (> Mar 20 + 30 days).
        ("d01", april): (D("-100.00"), "involuntary", "non_payment"),
        # March's invoice (due Mar 20) counted at Mar 31 and is still unpaid at Apr 30.
        ("d02", april): (D("-100.00"), "involuntary", "non_payment"),
        # s03a and s03b end at the same moment: the greater id's reason, trimmed.
        ("d03", april): (D("-120.00"), "voluntary", "Too expensive"),
        # A blank cancel_reason is no reason.
        ("d04", april): (D("-100.00"), "voluntary", "unknown"),
    }
    # d01 pays the late invoice on May 20: it counts again, a reactivation, and the
    # delinquent MRR held back in April (100, the quarter's 300 / 3) is gone.
    assert query(warehouse, "select month, mrr, movement, delinquent_mrr from fct_mrr "
                            "where customer_id = 'd01' and month >= '2024-04-01' "
                            "order by month") == [
        (april, D("0.00"), "churn", D("100.00")),
        (date(2024, 5, 1), D("100.00"), "reactivation", D("0.00")),
        (date(2024, 6, 1), D("100.00"), "unchanged", D("0.00"))]
    assert query(warehouse, "select month, delinquent_mrr from metrics_revenue_monthly "
                            "where delinquent_mrr <> 0") == [(april, D("100.00"))]
    assert query(warehouse, "select churn_type, churn_reason, churned_customers, churned_mrr "
                            "from metrics_churn_monthly order by 1, 2") == [
        ("involuntary", "non_payment", 2, D("-200.00")),
        ("voluntary", "Too expensive", 1, D("-120.00")),
        ("voluntary", "unknown", 1, D("-100.00"))]


def test_seat_price_and_plan_changes_by_hand(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(DEPTH_FIXTURE, AS_OF)
    march = date(2024, 3, 1)
    rows = query(warehouse, "select customer_id, product_id, movement, mrr_change, "
                            "previous_seats, seats, seat_change_mrr, price_change_mrr, "
                            "plan_change_mrr from fct_mrr_product where month = ? "
                            "and movement <> 'unchanged' order by 1, 2", [march])
    assert rows == [
        # 2 -> 3 seats at 100 a seat: (3 - 2) x 200 / 2.
        ("d05", "core", "upsell", D("100.00"), 2, 3, D("100.00"), D("0.00"), D("0.00")),
        # Same plan and seat, 100 -> 120.
        ("d06", "core", "upsell", D("20.00"), 1, 1, D("0.00"), D("20.00"), D("0.00")),
        # Core -> Plus on Mar 16 by a proration pair: 100 - 51.61 x 31/16 + 77.42 x 31/16
        # = 150.006875 -> 150.01; Core's 0.005625 left is below the threshold, so the plan
        # set is {p_plus_m}; seats +1 -1 +1 = 1.
        ("d07", "core", "upsell", D("50.01"), 1, 1, D("0.00"), D("0.00"), D("50.01")),
        # The add-on starts while Core pays (cross-sell), Pro stops (product churn).
        ("d08", "addon", "cross_sell", D("20.00"), 0, 1, None, None, None),
        ("d08", "pro", "product_churn", D("-30.00"), 1, 0, None, None, None)]
    assert query(warehouse, "select reason, mrr_change from metrics_mrr_change_reasons_monthly "
                            "where month = ? order by reason", [march]) == [
        ("cross_sell", D("20.00")), ("plan", D("50.01")), ("price", D("20.00")),
        ("product_churn", D("-30.00")), ("seats", D("100.00"))]


def _reconcile(warehouse: Path, raw_dir: Path, settings: Settings, full: bool = True) -> None:
    """fct_mrr's churn and delinquency columns and fct_mrr_product's reason columns equal
    the independent calculation; with full (a production build), so do the two monthly
    relations."""
    expected_churns = churn_rows(raw_dir, settings)
    assert _churns(warehouse) == {(r.customer_id, r.month): (r.churned_mrr, r.churn_type,
                                                             r.churn_reason)
                                  for r in expected_churns}
    expected_delinquent = delinquent_mrr(raw_dir, settings)
    fct_rows = query(warehouse, "select customer_id, month, delinquent_mrr from fct_mrr")
    assert {(c, m): value for c, m, value in fct_rows if value != 0} == {
        key: value for key, value in expected_delinquent.items()
        if key in {(c, m) for c, m, _ in fct_rows}}
    expected_products = product_rows(raw_dir, settings)
    actual_products = {(c, p, m): (movement, mrr, previous, previous_seats, seats, by_seats,
                                   by_price, by_plan)
                       for c, p, m, movement, mrr, previous, previous_seats, seats, by_seats,
                       by_price, by_plan in query(
                           warehouse, "select customer_id, product_id, month, movement, mrr, "
                                      "previous_mrr, previous_seats, seats, seat_change_mrr, "
                                      "price_change_mrr, plan_change_mrr from fct_mrr_product")}
    assert actual_products == {key: (row.movement, row.mrr, row.previous_mrr,
                                     row.previous_seats, row.seats, row.seat_change_mrr,
                                     row.price_change_mrr, row.plan_change_mrr)
                               for key, row in expected_products.items()}
    if not full:
        return
    months = [month for (month,) in query(warehouse, "select month from "
                                                     "metrics_revenue_monthly order by 1")]
    by_month: dict[date, Decimal] = {}
    for (_, month), value in expected_delinquent.items():
        by_month[month] = by_month.get(month, Decimal(0)) + value
    assert dict(query(warehouse, "select month, delinquent_mrr from metrics_revenue_monthly")
                ) == {month: by_month.get(month, Decimal(0)) for month in months}
    assert {(m, t, r): (n, v) for m, t, r, n, v in query(
        warehouse, "select month, churn_type, churn_reason, churned_customers, churned_mrr "
                   "from metrics_churn_monthly")} == churn_by_type_and_reason(expected_churns)
    assert {(m, r): v for m, r, v in query(
        warehouse, "select month, reason, mrr_change from metrics_mrr_change_reasons_monthly")
            } == change_reasons(expected_products, months)


def test_depth_fixture_reconciles_with_independent_calculation(
        build_warehouse: BuildWarehouse) -> None:
    _reconcile(build_warehouse(DEPTH_FIXTURE, AS_OF), DEPTH_FIXTURE, Settings(as_of=AS_OF))


@pytest.mark.parametrize("settings", SETTINGS_CASES, ids=lambda s: f"{s.as_of}-{s.fx_rate_month}"
                         f"-{s.delinquency_days}d-threshold{s.threshold}")
def test_revenue_fixture_reconciles_with_independent_calculation(
        build_warehouse: BuildWarehouse, settings: Settings) -> None:
    # The same builds as test_revenue.py's (the revenue models only, unless default).
    full = settings == SETTINGS_CASES[0]
    _reconcile(_build_for(build_warehouse, settings), REVENUE_FIXTURE, settings, full)


def test_generated_business_reconciles_with_independent_calculation(
        build_warehouse: BuildWarehouse, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Failed payments, dunning, cancellations, seat changes and prorations as the
    generator makes them (the same sample and build as test_revenue.py's)."""
    from retain.generate import generate_raw_data

    raw_dir = tmp_path_factory.mktemp("generated_raw")
    generate_raw_data(raw_dir, customers=150, seed=11, end_date=date(2026, 11, 20), years=2,
                      file_format="csv")
    settings = Settings(as_of=date(2026, 11, 10))
    warehouse = build_warehouse(raw_dir, settings.as_of, None, REVENUE_MODELS)
    _reconcile(warehouse, raw_dir, settings, full=False)
    kinds = {kind for _, kind, _ in _churns(warehouse).values()}
    assert kinds == {"involuntary", "voluntary"}


def test_split_and_segments_add_up(build_warehouse: BuildWarehouse) -> None:
    """Seats + price + plan = mrr_change on every upsell and downgrade; churn by reason adds
    up to the month's churn; for every month and dimension the money and count columns of
    metrics_revenue_by_segment_monthly add up to metrics_revenue_monthly's."""
    for raw_dir in (DEPTH_FIXTURE, REVENUE_FIXTURE):
        warehouse = build_warehouse(raw_dir, AS_OF)
        assert query(warehouse, "select count(*), count(seat_change_mrr) from fct_mrr_product "
                                "where movement in ('upsell', 'downgrade') and "
                                "seat_change_mrr + price_change_mrr + plan_change_mrr "
                                "= mrr_change")[0][0] == query(
            warehouse, "select count(*) from fct_mrr_product "
                       "where movement in ('upsell', 'downgrade')")[0][0]
        assert query(warehouse, "select count(*) from fct_mrr_product where movement not in "
                                "('upsell', 'downgrade') and coalesce(seat_change_mrr, "
                                "price_change_mrr, plan_change_mrr) is not null") == [(0,)]
        company = {month: (customers, churned) for month, customers, churned in query(
            warehouse, "select month, churned_customers, churned_mrr "
                       "from metrics_revenue_monthly")}
        by_reason = dict.fromkeys(company, (0, Decimal("0.00")))
        for month, customers, churned in query(
                warehouse, "select month, churned_customers, churned_mrr "
                           "from metrics_churn_monthly"):
            by_reason[month] = (by_reason[month][0] + customers, by_reason[month][1] + churned)
        assert by_reason == company
        columns = ["starting_mrr", "ending_mrr", "new_mrr", "reactivation_mrr",
                   "expansion_mrr", "contraction_mrr", "churned_mrr", "rounding_mrr",
                   "net_new_mrr", "arr", "paying_customers", "new_customers",
                   "reactivated_customers", "churned_customers"]
        sums = ", ".join(f"sum({column})" for column in columns)
        company_rows = query(warehouse, f"select month, {', '.join(columns)} "
                                        "from metrics_revenue_monthly order by month")
        for dimension in ("segment", "country", "acquisition_channel"):
            assert query(warehouse, f"select month, {sums} from "
                                    "metrics_revenue_by_segment_monthly where dimension = ? "
                                    "group by month order by month", [dimension]
                         ) == company_rows, dimension
        assert company_rows[-1][2] > 0  # a business with MRR, not empty tables


def test_null_and_empty_attributes_are_unknown(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(DEPTH_FIXTURE, AS_OF)
    values = query(warehouse, "select dimension, dimension_value, ending_mrr from "
                              "metrics_revenue_by_segment_monthly where month = '2024-06-01' "
                              "order by 1, 2")
    # d05's segment is NULL, d06's country is empty, d08's channel is empty and its
    # segment " Enterprise " is trimmed, case kept; June payers d01 100, d05 300, d06 120,
    # d07 150, d08 120.
    assert values == [
        ("acquisition_channel", "organic", D("220.00")),
        ("acquisition_channel", "partner", D("300.00")),
        ("acquisition_channel", "sales", D("150.00")),
        ("acquisition_channel", "unknown", D("120.00")),
        ("country", "FR", D("150.00")), ("country", "US", D("520.00")),
        ("country", "unknown", D("120.00")),
        ("segment", "Enterprise", D("120.00")), ("segment", "mid_market", D("150.00")),
        ("segment", "smb", D("220.00")), ("segment", "unknown", D("300.00"))]
    assert sum(mrr_by_month(DEPTH_FIXTURE, Settings(as_of=AS_OF)).get((c, date(2024, 6, 1)),
                                                                      D(0))
               for c in ("d01", "d05", "d06", "d07", "d08")) == D("790.00")
