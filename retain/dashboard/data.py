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
RISK_BANDS = ("critical", "at_risk")


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
        return con.execute(sql, parameters or []).df()


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


def segments(warehouse: Path) -> list[str]:
    """The customer segments revenue is cut by (`unknown` included)."""
    found = query_frame(warehouse, "select distinct dimension_value from "
                                   f"{SEGMENT_MART} where dimension = 'segment' "
                                   "order by dimension_value")
    return list(found["dimension_value"])


def revenue_monthly(warehouse: Path, segment: str | None = None) -> pd.DataFrame:
    """One row per month: the bridge columns, paying customers, ARR and the ratios, of
    the whole company (metrics_revenue_monthly) or of one segment's customers
    (metrics_revenue_by_segment_monthly, the same definitions over those customers)."""
    columns = ", ".join([column for column, _, _ in BRIDGE_STEPS]
                        + ["net_new_mrr", "arr", "paying_customers", *RATIO_COLUMNS])
    if segment is None:
        return query_frame(warehouse, f"select month, {columns} from metrics_revenue_monthly "
                                      "order by month")
    return query_frame(warehouse, f"select month, {columns} from {SEGMENT_MART} "
                                  "where dimension = 'segment' and dimension_value = ? "
                                  "order by month", [segment])


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
    for column, values in (("dim_customers.segment", segments),
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


# Headline tiles (column, label, kind for retain.summary.formatted_value); a page shows
# those its frame has, so a segment shows its MRR but not the company-wide ratios.
REVENUE_TILES = (
    ("ending_mrr", "MRR", "money"), ("arr", "ARR", "money"),
    ("net_new_mrr", "Net new MRR", "money"), ("paying_customers", "Paying customers", "count"),
    ("arpa", "ARPA", "money"), ("nrr_12m", "NRR 12m", "percent"),
    ("grr_12m", "GRR 12m", "percent"), ("logo_churn_rate", "Logo churn", "percent"),
    ("quick_ratio", "Quick ratio", "ratio"), ("ltv", "LTV", "money"),
)
# Trend charts of the revenue page: (title, {column: legend label}, number format kind).
REVENUE_TRENDS = (
    ("MRR and ARR", {"ending_mrr": "MRR", "arr": "ARR"}, "money"),
    ("Net and gross revenue retention, 12 months", {"nrr_12m": "NRR 12m", "grr_12m": "GRR 12m"},
     "percent"),
    ("Logo churn", {"logo_churn_rate": "logo churn rate"}, "percent"),
    ("Quick ratio", {"quick_ratio": "quick ratio"}, "ratio"),
    ("ARPA and LTV", {"arpa": "ARPA", "ltv": "LTV"}, "money"),
)
