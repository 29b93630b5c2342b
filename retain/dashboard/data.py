"""What the dashboard and the static report show, read from the published snapshot.

Every figure is a column of an interface table (metrics.md, "Interface tables"),
or a sum or count of one grouped in SQL; no metric is derived
in Python, so what a reader sees is what BI tools and `mf query` see. Each query
opens the published output (a DuckDB file, or Spark's Parquet folder) read-only
and closes it at once: a run publishes by
renaming a new file over it, and a reader that kept it open would block nothing
but would go on showing the old snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from retain.engines import engine_for
from retain.interface import open_published
from retain.meta import META_RELATION
from retain.settings import resolved_settings
from retain.summary import is_month_in_progress, month_label


class WarehouseError(RuntimeError):
    """The published warehouse is missing or lacks what the dashboard reads."""


# The MRR bridge in reading order: (column of metrics_revenue_monthly, label, is a total).
BRIDGE_STEPS = (
    ("starting_mrr", "starting", True), ("new_mrr", "new", False),
    ("expansion_mrr", "expansion", False), ("contraction_mrr", "contraction", False),
    ("churned_mrr", "churn", False), ("reactivation_mrr", "reactivation", False),
    ("rounding_mrr", "rounding", False), ("ending_mrr", "ending", True),
)
RATIO_COLUMNS = ("nrr_12m", "grr_12m", "logo_churn_rate", "quick_ratio", "arpa", "ltv")
SEGMENT_MART = "metrics_revenue_by_segment_monthly"
# The customer attributes revenue is cut by: (dimension of SEGMENT_MART, filter label).
# The mart cuts by one attribute at a time, so the Revenue page's filters apply one at
# a time: no relation holds the figures of, say, smb customers in one country.
REVENUE_DIMENSIONS = (("segment", "Segment"), ("country", "Country"),
                      ("acquisition_channel", "Acquisition channel"))
RISK_BANDS = ("critical", "at_risk")
# metrics_mrr_change_reasons_monthly's reasons in reading order, with their labels.
CHANGE_REASONS = (("seats", "seats"), ("price", "price"), ("plan", "plan change"),
                  ("cross_sell", "cross-sell"), ("product_churn", "product churn"))
CHURN_TYPES = ("voluntary", "involuntary")
# Orders the Renewals-due list can be sorted by (label -> SQL order by over
# rpt_renewals_due as renewals); priority_rank breaks every tie.
RENEWAL_ORDERS = {
    "priority (renewal date, then MRR)": "renewals.priority_rank",
    "renewal MRR, largest first": "renewals.renewal_mrr desc, renewals.priority_rank",
    "health score, lowest first": "renewals.health_score asc nulls last, renewals.priority_rank",
    "renewal date, latest first": "renewals.renewal_date desc, renewals.priority_rank",
}


def warehouse_path() -> Path:
    """What the run's engine publishes (a DuckDB file, or Spark's Parquet folder) for the
    warehouse of env RETAIN_DUCKDB_PATH, retain.toml or the default; a path that is
    itself a published Parquet folder is read as it is."""
    settings = resolved_settings()
    if settings.warehouse.is_dir():
        return settings.warehouse
    return engine_for(settings).published_location(settings)


def query_frame(warehouse: Path, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
    """Open read-only, query, close; warehouse is either engine's published output."""
    if not warehouse.exists():
        raise WarehouseError(f"no published warehouse at {warehouse}: run `make run` first")
    with open_published(warehouse) as con:
        try:
            return con.execute(sql, parameters or []).df()
        except duckdb.CatalogException as error:
            # A snapshot published by an older version lacks a newer page's relations.
            cause = str(error).splitlines()[0]
            raise WarehouseError(f"{warehouse} lacks what this page reads ({cause}): "
                                 "publish it again with `retain run`") from error


def _relations(warehouse: Path) -> set[str]:
    return set(query_frame(warehouse, "select table_name from information_schema.tables")
               ["table_name"])


def as_of_date(warehouse: Path) -> date:
    """The day the snapshot describes: `as_of_date` of the meta relation a run publishes,
    else the last day of metrics_engagement_daily, whose days run to as_of_date
    (warehouses built by dbt alone, as the tests do, have no meta)."""
    if META_RELATION in _relations(warehouse):
        found = query_frame(warehouse, f"select value from {META_RELATION} "
                                       "where key = 'as_of_date'")
        if len(found):
            return date.fromisoformat(found["value"].iloc[0])
    days = query_frame(warehouse, "select max(date_day) as as_of from metrics_engagement_daily")
    if days["as_of"].isna().all():
        raise WarehouseError(f"{warehouse}: no meta relation and no engagement days to tell "
                             "the as-of date from")
    return pd.Timestamp(days["as_of"].iloc[0]).date()


def with_month_labels(frame: pd.DataFrame, as_of: date, column: str = "month") -> pd.DataFrame:
    """Adds `label` (`2026-12 (to 3 Dec)` for the month in progress) and `in_progress`."""
    months = [pd.Timestamp(value).date() for value in frame[column]]
    return frame.assign(label=[month_label(month, as_of) for month in months],
                        in_progress=[is_month_in_progress(month, as_of) for month in months])


def dimension_values(warehouse: Path, dimension: str) -> list[str]:
    """The values of one customer attribute revenue is cut by (`unknown` included)."""
    found = query_frame(warehouse, "select distinct dimension_value from "
                                   f"{SEGMENT_MART} where dimension = ? "
                                   "order by dimension_value", [dimension])
    return list(found["dimension_value"])


def segments(warehouse: Path) -> list[str]:
    """The customer segments revenue is cut by (`unknown` included)."""
    return dimension_values(warehouse, "segment")


def revenue_monthly(warehouse: Path, dimension: str | None = None,
                    value: str | None = None) -> pd.DataFrame:
    """One row per month: the bridge columns, paying customers, ARR and the ratios, of
    the whole company (metrics_revenue_monthly) or of the customers whose `dimension`
    (segment, country or acquisition_channel) is `value`
    (metrics_revenue_by_segment_monthly, the same definitions over those customers)."""
    columns = ", ".join([column for column, _, _ in BRIDGE_STEPS]
                        + ["net_new_mrr", "arr", "paying_customers", *RATIO_COLUMNS])
    if dimension is None:
        return query_frame(warehouse, f"select month, {columns} from metrics_revenue_monthly "
                                      "order by month")
    return query_frame(warehouse, f"select month, {columns} from {SEGMENT_MART} "
                                  "where dimension = ? and dimension_value = ? "
                                  "order by month", [dimension, value])


def bridge_steps(month_row: pd.Series) -> pd.DataFrame:
    """The waterfall of one month of revenue_monthly: step, amount, is_total, order."""
    return pd.DataFrame([{"order": order, "step": label, "amount": float(month_row[column]),
                          "is_total": is_total}
                         for order, (column, label, is_total) in enumerate(BRIDGE_STEPS)])


def cohort_retention(warehouse: Path, cohorts: int) -> pd.DataFrame:
    """fct_cohort_retention for the newest `cohorts` cohorts."""
    return query_frame(warehouse, """
        select cohort_month, months_since, customers, logo_retention, mrr, revenue_retention
        from fct_cohort_retention
        where cohort_month in (
            select distinct cohort_month from fct_cohort_retention
            order by cohort_month desc limit ?)
        order by cohort_month, months_since""", [cohorts])


def onboarding_cohorts(warehouse: Path) -> pd.DataFrame:
    """metrics_onboarding_cohorts with `still_onboarding`: a cohort whose in-progress
    customers can still change its completion rate."""
    return query_frame(warehouse, """
        select cohort_month, customers, completed, missed, in_progress,
            onboarding_completion_rate, in_progress > 0 as still_onboarding
        from metrics_onboarding_cohorts order by cohort_month""")


def engagement_daily(warehouse: Path, days: int) -> pd.DataFrame:
    return query_frame(warehouse, """
        select date_day, dau, wau, mau, stickiness from metrics_engagement_daily
        where date_day > (select max(date_day) from metrics_engagement_daily) - ?
        order by date_day""", [days])


def nps_monthly(warehouse: Path) -> pd.DataFrame:
    return query_frame(warehouse, "select month, responses, promoters, passives, detractors, "
                                  "nps from metrics_nps_monthly order by month")


def support_monthly(warehouse: Path) -> pd.DataFrame:
    return query_frame(warehouse, """
        select month, tickets, sla_met_rate, median_first_response_minutes,
            median_resolution_hours, avg_csat, backlog
        from metrics_support_monthly order by month""")


def _worklist_filter(segments: Sequence[str] | None,
                     risk_bands: Sequence[str] | None) -> tuple[str, list[Any]]:
    """The where clause over rpt_churn_risk_worklist joined to dim_customers.
    None means no filter; an empty list matches nothing."""
    conditions, parameters = [], []
    # A customer without a segment is `unknown`, as in metrics_revenue_by_segment_monthly
    # (whose values the filter offers).
    for column, values in (("coalesce(nullif(trim(dim_customers.segment), ''), 'unknown')",
                            segments),
                           ("worklist.risk_band", risk_bands)):
        if values is not None:
            conditions.append(f"{column} in (select unnest(?))")
            parameters.append(list(values))
    return ("where " + " and ".join(conditions)) if conditions else "", parameters


WORKLIST_JOINED = """
        from rpt_churn_risk_worklist as worklist
        inner join dim_customers on worklist.customer_id = dim_customers.customer_id"""


def churn_risk_worklist(warehouse: Path, segments: Sequence[str] | None = None,
                        risk_bands: Sequence[str] | None = None) -> pd.DataFrame:
    """rpt_churn_risk_worklist with the customer's name and segment, filtered."""
    where, parameters = _worklist_filter(segments, risk_bands)
    return query_frame(warehouse, f"""
        select worklist.priority_rank, worklist.customer_id, dim_customers.customer_name,
            dim_customers.segment, worklist.mrr_at_risk, worklist.health_score,
            worklist.risk_band, worklist.risk_signals, worklist.days_since_last_activity,
            worklist.latest_nps_category, worklist.max_days_overdue
        {WORKLIST_JOINED}
        {where}
        order by worklist.priority_rank""", parameters)


def churn_risk_totals(warehouse: Path, segments: Sequence[str] | None = None,
                      risk_bands: Sequence[str] | None = None) -> tuple[int, float]:
    """Customers and summed mrr_at_risk of the filtered worklist."""
    where, parameters = _worklist_filter(segments, risk_bands)
    totals = query_frame(warehouse, f"""
        select count(*) as customers, coalesce(sum(worklist.mrr_at_risk), 0) as mrr_at_risk
        {WORKLIST_JOINED}
        {where}""", parameters)
    return int(totals["customers"].iloc[0]), float(totals["mrr_at_risk"].iloc[0])


def customer_choices(warehouse: Path) -> pd.DataFrame:
    """Every customer, those on the worklist first (by priority), then by id."""
    return query_frame(warehouse, """
        select dim_customers.customer_id, dim_customers.customer_name
        from dim_customers
        left join rpt_churn_risk_worklist as worklist
            on dim_customers.customer_id = worklist.customer_id
        order by worklist.priority_rank nulls last, dim_customers.customer_id""")


def customer_profile(warehouse: Path, customer_id: str) -> pd.DataFrame:
    """The customer's dim_customers row."""
    return query_frame(warehouse, "select * from dim_customers where customer_id = ?",
                       [customer_id])


def customer_mrr_history(warehouse: Path, customer_id: str) -> pd.DataFrame:
    return query_frame(warehouse, "select month, mrr, previous_mrr, mrr_change, movement "
                                  "from fct_mrr where customer_id = ? order by month",
                       [customer_id])


def customer_health_history(warehouse: Path, customer_id: str) -> pd.DataFrame:
    return query_frame(warehouse, "select month, health_score, risk_band, risk_signals "
                                  "from fct_customer_health where customer_id = ? "
                                  "order by month", [customer_id])


def mrr_change_reasons_monthly(warehouse: Path) -> pd.DataFrame:
    """metrics_mrr_change_reasons_monthly: month, reason, mrr_change (every month of
    metrics_revenue_monthly and every reason), the reasons in CHANGE_REASONS' order."""
    order = " ".join(f"when '{reason}' then {position}"
                     for position, (reason, _) in enumerate(CHANGE_REASONS))
    return query_frame(warehouse, f"""
        select month, reason, mrr_change from metrics_mrr_change_reasons_monthly
        order by month, case reason {order} end""")


def churn_monthly(warehouse: Path) -> pd.DataFrame:
    """One row per month of metrics_revenue_monthly: churned customers and MRR (the
    bridge's), the part of each churn type (sums of metrics_churn_monthly, 0 when none)
    and delinquent_mrr, the MRR held back by unpaid invoices at the month's snapshot."""
    by_type = ", ".join(
        f"coalesce(sum(case when churn.churn_type = '{kind}' then churn.{column} end), 0)"
        f" as {kind}_{column}"
        for kind in CHURN_TYPES for column in ("churned_mrr", "churned_customers"))
    return query_frame(warehouse, f"""
        select revenue.month, revenue.churned_mrr, revenue.churned_customers, {by_type},
            revenue.delinquent_mrr
        from metrics_revenue_monthly as revenue
        left join metrics_churn_monthly as churn on revenue.month = churn.month
        group by revenue.month, revenue.churned_mrr, revenue.churned_customers,
            revenue.delinquent_mrr
        order by revenue.month""")


def churn_reasons(warehouse: Path) -> pd.DataFrame:
    """metrics_churn_monthly: month x churn_type x churn_reason, the most MRR lost
    first within a month."""
    return query_frame(warehouse, """
        select month, churn_type, churn_reason, churned_customers, churned_mrr
        from metrics_churn_monthly
        order by month, churned_mrr, churn_type, churn_reason""")


def churned_customers(warehouse: Path, month: date) -> pd.DataFrame:
    """The churn rows of fct_mrr in `month` with the customer's name and segment, the
    most MRR lost first."""
    return query_frame(warehouse, """
        select fct_mrr.customer_id, dim_customers.customer_name, dim_customers.segment,
            fct_mrr.churn_type, fct_mrr.churn_reason, fct_mrr.mrr_change as churned_mrr,
            fct_mrr.previous_mrr
        from fct_mrr
        left join dim_customers on fct_mrr.customer_id = dim_customers.customer_id
        where fct_mrr.movement = 'churn' and fct_mrr.month = ?
        order by fct_mrr.mrr_change, fct_mrr.customer_id""", [month])


def trials_monthly(warehouse: Path) -> pd.DataFrame:
    """metrics_trials_monthly by month of trial start, with `still_in_trial`: a month
    whose running trials can still change its conversion rate."""
    return query_frame(warehouse, """
        select month, trials, converted, not_converted, in_trial, trial_conversion_rate,
            median_days_to_convert, in_trial > 0 as still_in_trial
        from metrics_trials_monthly order by month""")


RENEWALS_JOINED = """
        from rpt_renewals_due as renewals
        left join dim_customers on renewals.customer_id = dim_customers.customer_id"""


def renewals_due(warehouse: Path, order: str = next(iter(RENEWAL_ORDERS))) -> pd.DataFrame:
    """rpt_renewals_due with the customer's name and segment, in one of RENEWAL_ORDERS
    (priority_rank by default); what CS reads first (when, who, how much, how healthy)
    comes first, the keys last."""
    return query_frame(warehouse, f"""
        select renewals.priority_rank, renewals.renewal_date, dim_customers.customer_name,
            renewals.renewal_mrr, renewals.interval_months, renewals.cancel_requested,
            renewals.risk_band, renewals.health_score, dim_customers.segment,
            renewals.customer_id, renewals.subscription_id
        {RENEWALS_JOINED}
        order by {RENEWAL_ORDERS[order]}""")


def renewals_due_totals(warehouse: Path) -> pd.Series:
    """Subscriptions due and their renewal MRR: all of them, those with a cancellation
    requested, and those of customers at risk (risk band critical or at_risk)."""
    bands = ", ".join(f"'{band}'" for band in RISK_BANDS)
    return query_frame(warehouse, f"""
        select count(*) as subscriptions, coalesce(sum(renewal_mrr), 0) as renewal_mrr,
            count(case when cancel_requested then 1 end) as cancel_requested,
            coalesce(sum(case when cancel_requested then renewal_mrr end), 0)
                as cancel_requested_mrr,
            coalesce(sum(case when risk_band in ({bands}) then renewal_mrr end), 0)
                as at_risk_mrr
        from rpt_renewals_due""").iloc[0]


def renewals_due_weekly(warehouse: Path) -> pd.DataFrame:
    """Renewal MRR due per week (Monday) of renewal_date and risk band (`not paying`
    when the customer pays nothing in the as_of month)."""
    return query_frame(warehouse, """
        select date_trunc('week', renewal_date) as week,
            coalesce(risk_band, 'not paying') as risk_band, count(*) as subscriptions,
            sum(renewal_mrr) as renewal_mrr
        from rpt_renewals_due group by all order by week, risk_band""")


def csv_text(frame: pd.DataFrame) -> str:
    """The rows a CSV download holds: the frame's columns in its order, no index."""
    return frame.to_csv(index=False)


# Headline tiles (column, label, kind for retain.summary.formatted_value); a page shows
# those its frame has.
REVENUE_TILES = (
    ("ending_mrr", "MRR", "money"), ("arr", "ARR", "money"),
    ("net_new_mrr", "Net new MRR", "money"), ("paying_customers", "Paying customers", "count"),
    ("arpa", "ARPA", "money"), ("nrr_12m", "NRR 12m", "percent"),
    ("grr_12m", "GRR 12m", "percent"), ("logo_churn_rate", "Logo churn", "percent"),
    ("quick_ratio", "Quick ratio", "ratio"), ("ltv", "LTV", "money"),
)
# Trend charts of the revenue page: (title, {column: legend label}, number format kind,
# cut outliers). One axis per chart: ARR is 12 x MRR and LTV some 30 x ARPA, so on a
# shared axis the smaller one is a flat line. The quick ratio of a first month with
# almost no lost MRR runs into the thousands: its axis is cut above the outliers.
REVENUE_TRENDS = (
    ("MRR", {"ending_mrr": "MRR"}, "money", False),
    ("ARR", {"arr": "ARR"}, "money", False),
    ("ARPA", {"arpa": "ARPA"}, "money", False),
    ("LTV", {"ltv": "LTV"}, "money", False),
    ("Net and gross revenue retention, 12 months", {"nrr_12m": "NRR 12m", "grr_12m": "GRR 12m"},
     "percent", False),
    ("Logo churn", {"logo_churn_rate": "logo churn rate"}, "percent", False),
    ("Quick ratio", {"quick_ratio": "quick ratio"}, "ratio", True),
)
CHURN_TILES = (
    ("churned_mrr", "Churned MRR", "money"), ("churned_customers", "Churned customers", "count"),
    ("voluntary_churned_mrr", "Voluntary (cancelled)", "money"),
    ("involuntary_churned_mrr", "Involuntary (unpaid)", "money"),
    ("delinquent_mrr", "Delinquent MRR", "money"),
)
TRIAL_TILES = (
    ("trials", "Trials started", "count"), ("converted", "Converted", "count"),
    ("not_converted", "Not converted", "count"), ("in_trial", "Still in trial", "count"),
    ("trial_conversion_rate", "Conversion rate", "percent"),
    ("median_days_to_convert", "Median days to convert", "ratio"),
)
RENEWAL_TILES = (
    ("subscriptions", "Subscriptions due", "count"), ("renewal_mrr", "Renewal MRR", "money"),
    ("cancel_requested", "Cancellations requested", "count"),
    ("cancel_requested_mrr", "MRR cancelling", "money"),
    ("at_risk_mrr", "MRR of customers at risk", "money"),
)
