"""The run summary never shows a month in progress as if it were complete."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from retain.summary import month_label, revenue_kpi_lines, success_kpi_lines
from tests.python.conftest import FIXTURES, BuildWarehouse

AS_OF = date(2024, 6, 15)


@pytest.mark.parametrize(("month", "as_of", "label"), [
    (date(2026, 12, 1), date(2026, 12, 3), "2026-12 (to 3 Dec)"),
    (date(2026, 11, 1), date(2026, 12, 3), "2026-11"),
    (date(2026, 11, 1), date(2026, 11, 30), "2026-11"),  # the last day completes the month
    (date(2024, 2, 1), date(2024, 2, 28), "2024-02 (to 28 Feb)"),  # 2024 is a leap year
    (date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
])
def test_month_labels(month: date, as_of: date, label: str) -> None:
    assert month_label(month, as_of) == label


def test_summary_marks_the_month_in_progress(build_warehouse: BuildWarehouse) -> None:
    warehouse: Path = build_warehouse(FIXTURES / "customer_success", AS_OF)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        revenue = revenue_kpi_lines(con, AS_OF)
        success = success_kpi_lines(con, AS_OF)
        [(june_responses, june_nps)] = con.execute(
            "select responses, nps from metrics_nps_monthly where month = '2024-06-01'"
        ).fetchall()
        [(may_responses, may_nps)] = con.execute(
            "select responses, nps from metrics_nps_monthly where month = '2024-05-01'"
        ).fetchall()

    assert revenue[1].rstrip().endswith("2024-06 (to 15 Jun)")
    assert revenue[-1] == ("(the last column is a month in progress: its flows cover 15 "
                           "day(s), not a full month)")
    nps_lines = [line.strip() for line in success if line.strip().startswith("NPS")]
    assert nps_lines == [
        f"NPS 2024-05: {may_nps:.1f} over {may_responses:,} responses",
        f"NPS 2024-06 (to 15 Jun): {june_nps:.1f} over {june_responses:,} responses",
    ]


MONTHLY_MARTS = ("metrics_revenue_monthly", "metrics_nps_monthly", "metrics_support_monthly",
                 "fct_customer_activity_monthly", "fct_mrr")


@pytest.mark.parametrize(("as_of", "as_of_month_complete"), [
    (AS_OF, False), (date(2024, 6, 30), True)], ids=["mid-month", "last day of the month"])
def test_monthly_marts_flag_the_month_in_progress(build_warehouse: BuildWarehouse, as_of: date,
                                                  as_of_month_complete: bool) -> None:
    warehouse = build_warehouse(FIXTURES / "customer_success", as_of)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart in MONTHLY_MARTS:
            flags = dict(con.execute(f"select month, bool_and(is_complete_month) from {mart} "
                                     "group by month").fetchall())
            assert flags.pop(date(2024, 6, 1)) is as_of_month_complete, mart
            assert flags and all(flags.values()), f"{mart}: months before June are complete"


def test_summary_shows_delinquent_mrr_involuntary_churn_and_renewals_due(
        build_warehouse: BuildWarehouse) -> None:
    """One line each, with the marts' figures (tests/fixtures/revenue_depth: in April d01's
    unpaid invoice holds back 100 of delinquent MRR and d01 and d02 churn involuntarily,
    -200 of the -420 churned; tests/fixtures/trials_renewals: rpt_renewals_due)."""
    warehouse = build_warehouse(FIXTURES / "revenue_depth", AS_OF)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lines = revenue_kpi_lines(con, AS_OF)  # April, May and June
    april = [line for line in lines if line.startswith("  churned")
             or line.startswith("    involuntary") or line.startswith("delinquent MRR")]
    assert [line.split()[-3] for line in april] == ["-420.00", "-200.00", "100.00"]
    warehouse = build_warehouse(FIXTURES / "trials_renewals", AS_OF)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        success = success_kpi_lines(con, AS_OF)
        [(due, due_mrr, cancelling)] = con.execute(
            "select count(*), sum(renewal_mrr), count(*) filter (where cancel_requested) "
            "from rpt_renewals_due").fetchall()
    assert due > 0 and cancelling > 0
    assert f"  renewals due by 2024-09-13: {due:,} subscriptions, renewal MRR {due_mrr:,.2f} " \
           f"({cancelling:,} with a cancellation requested)" in success
