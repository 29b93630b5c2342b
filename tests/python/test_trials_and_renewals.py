"""metrics_trials_monthly and rpt_renewals_due against hand-computed figures and an
independent calculation (tests/python/independent_trials_renewals.py, plain Python
over the raw CSV files).

The fixture tests/fixtures/trials_renewals holds the unit tests' cases as raw rows,
one customer each (k01-k10 trials, k21-k33 renewals; see the customer names). Health
is not recomputed: rpt_renewals_due must show fct_customer_health's as_of month row
of the subscription's customer, and a customer is there exactly when the independent
MRR calculation finds it paying.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.python.conftest import FIXTURES, BuildWarehouse, query
from tests.python.independent_revenue import Settings, mrr_by_month
from tests.python.independent_trials_renewals import (
    Renewal,
    TrialMonth,
    renewals_due,
    trials_monthly,
)

TRIALS_RENEWALS = FIXTURES / "trials_renewals"
REVENUE = FIXTURES / "revenue"
AS_OF = date(2024, 6, 15)
# Other days and settings build only what the two relations read (health reads seeds),
# without data tests: the default builds run them.
THESE_MODELS = ("build", "--select", "+metrics_trials_monthly", "+rpt_renewals_due",
                "--exclude-resource-type", "test", "unit_test")

# (raw folder, settings): the default build of each fixture, a later day, usage in MRR.
CASES = [
    (TRIALS_RENEWALS, Settings(as_of=AS_OF)),
    (TRIALS_RENEWALS, Settings(as_of=date(2024, 6, 30))),
    (TRIALS_RENEWALS, Settings(as_of=AS_OF, include_usage=True)),
    (REVENUE, Settings(as_of=AS_OF)),
]


def _build(build_warehouse: BuildWarehouse, raw_dir: Path, settings: Settings) -> Path:
    if settings == Settings(as_of=AS_OF):
        return build_warehouse(raw_dir, AS_OF)
    overrides = {"mrr_include_usage": True} if settings.include_usage else None
    return build_warehouse(raw_dir, settings.as_of, overrides, THESE_MODELS)


def _case_id(case: tuple[Path, Settings]) -> str:
    raw_dir, settings = case
    return f"{raw_dir.name}-{settings.as_of}" + ("-usage" if settings.include_usage else "")


def built_trials(warehouse: Path) -> dict[date, TrialMonth]:
    return {row[0]: TrialMonth(*row[1:]) for row in query(
        warehouse, "select month, trials, converted, not_converted, in_trial, "
                   "trial_conversion_rate, median_days_to_convert from metrics_trials_monthly")}


def built_renewals(warehouse: Path) -> list[tuple]:
    return query(warehouse, "select priority_rank, subscription_id, customer_id, renewal_date, "
                            "interval_months, renewal_mrr, cancel_requested, health_score, "
                            "risk_band from rpt_renewals_due order by priority_rank")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_trials_reconcile_with_independent_calculation(
        build_warehouse: BuildWarehouse, case: tuple[Path, Settings]) -> None:
    raw_dir, settings = case
    actual = built_trials(_build(build_warehouse, raw_dir, settings))
    expected = trials_monthly(raw_dir, settings.as_of)
    assert expected, "the fixture has trials"
    assert sorted(actual) == sorted(expected)
    for month, row in expected.items():
        built = actual[month]
        assert built[:4] == row[:4], month
        for column in ("trial_conversion_rate", "median_days_to_convert"):
            value = getattr(row, column)
            assert getattr(built, column) == (None if value is None else pytest.approx(value)), (
                month, column)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_renewals_reconcile_with_independent_calculation(
        build_warehouse: BuildWarehouse, case: tuple[Path, Settings]) -> None:
    raw_dir, settings = case
    warehouse = _build(build_warehouse, raw_dir, settings)
    expected = renewals_due(raw_dir, settings)
    assert expected, "the fixture has renewals due"
    actual = built_renewals(warehouse)
    assert [Renewal(*row[1:7]) for row in actual] == expected
    assert [row[0] for row in actual] == list(range(1, len(expected) + 1))
    # Health of the as_of month, present exactly when the customer pays then.
    health = {customer: (score, band) for customer, score, band in query(
        warehouse, "select customer_id, health_score, risk_band from fct_customer_health "
                   "where month = ?", [settings.as_of.replace(day=1)])}
    paying = {customer for customer, month in mrr_by_month(raw_dir, settings)
              if month == settings.as_of.replace(day=1)}
    for row in actual:
        customer = row[2]
        assert (customer in paying) == (customer in health), customer
        assert row[7:] == health.get(customer, (None, None)), row


def test_hand_computed_trials(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(TRIALS_RENEWALS, AS_OF)
    assert built_trials(warehouse) == {
        # t01 converts in 7.5 days, t02 in 14.25 (and ends later), t03's trial ended
        # unconverted, t04 has no trial_end but ended: 2 / (2 + 2); the median of an
        # even count is the midpoint (7.5 + 14.25) / 2.
        date(2024, 3, 1): TrialMonth(4, 2, 2, 0, 0.5, 10.875),
        # t05 converts in 14 days; t07 starts 2024-06-01T01:00+02:00 = May 31 23:00 UTC
        # and converts 2 days later; t06's trial_end and started_at (Jun 20) are after
        # as_of: still in trial. Median (2 + 14) / 2.
        date(2024, 5, 1): TrialMonth(3, 2, 0, 1, 1.0, 8.0),
        # t08's trial_end (Jun 24) is after as_of: in trial, nothing evaluable yet.
        # t09's trial starts at as_of_end (not yet a trial); t10 does not exist yet.
        date(2024, 6, 1): TrialMonth(1, 0, 0, 1, None, None),
    }
    later = build_warehouse(TRIALS_RENEWALS, date(2024, 6, 30), None, THESE_MODELS)
    trials = built_trials(later)
    # As of Jun 30, t06 converted 19 days and 1 hour after its trial_start: May's
    # median of 2, 14 and 19.041666... days is 14; June's three trials all ended
    # unconverted (t08, t09, t10): a rate of 0, not NULL.
    assert trials[date(2024, 5, 1)] == TrialMonth(3, 3, 0, 0, 1.0, 14.0)
    assert trials[date(2024, 6, 1)] == TrialMonth(3, 0, 3, 0, 0.0, None)


def test_hand_computed_renewals(build_warehouse: BuildWarehouse) -> None:
    warehouse = build_warehouse(TRIALS_RENEWALS, AS_OF)
    listed = [(row[1], row[3], row[4], row[5], row[6], row[7] is None)
              for row in built_renewals(warehouse)]
    jul_1, sep_10 = date(2024, 7, 1), date(2024, 9, 10)
    # (subscription, renewal_date, interval_months, renewal_mrr, cancel_requested,
    # health NULL), as_of 2024-06-15, 06-15 + 90 days = 09-13.
    assert listed == [
        # Jul 1, by renewal_mrr descending, then id: 100 EUR at June's 1.09; r_cancel
        # asked to cancel but has not ended (its 40.00 usage line is not renewed:
        # 100 - 20 discount); r_np and r_tie tie at 50.00. r_np's invoices go to k30,
        # so its own customer k29 is not paying: no health.
        ("r_eur", jul_1, 1, Decimal("109.00"), False, False),
        ("r_cancel", jul_1, 1, Decimal("80.00"), True, False),
        ("r_np", jul_1, 1, Decimal("50.00"), False, True),
        ("r_tie", jul_1, 1, Decimal("50.00"), False, False),
        ("t01", date(2024, 7, 8), 1, Decimal("100.00"), False, False),
        # t05's May line ends on as_of_date (it does not count); the June one does.
        ("t05", date(2024, 7, 15), 1, Decimal("100.00"), False, False),
        # Monthly 100 + credit -69.99 x 30 / 21 = -99.98571429 + quarterly charge 300 / 3
        # to Sep 10 = 100.01428571: the latest end, the longest term.
        ("r_prorated", sep_10, 3, Decimal("100.01"), False, False),
        ("r89", date(2024, 9, 12), 3, Decimal("100.00"), False, False),
        ("r90", date(2024, 9, 13), 3, Decimal("100.00"), False, False),
        # Not listed: r91 (Sep 14, 91 days), r_ended (ended Jun 14), t08 (a 0 trial
        # line), r_small (0.49 < 0.50), r_far (one line ends 2025-01-01), r_delinquent
        # (unpaid 75 days: not counting), t02 (ended), t06 (invoiced after as_of).
    ]
    later = [row[1] for row in built_renewals(
        build_warehouse(TRIALS_RENEWALS, date(2024, 6, 30), None, THESE_MODELS))]
    # As of Jun 30 (+ 90 days = Sep 28): r91 and t06 (invoiced Jun 20) are due too;
    # r_cancel ends Jul 1, not yet known.
    assert later == ["r_eur", "r_cancel", "r_np", "r_tie", "t01", "t05", "t06",
                     "r_prorated", "r89", "r90", "r91"]
