"""What a person wants to know at the end of a run: rows, timings, headline KPIs."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import duckdb

from retain.engines import engine_for
from retain.interface import PUBLISHED_RELATIONS
from retain.settings import Settings

if TYPE_CHECKING:  # the dashboard imports this module and needs no pipeline
    from retain.pipeline import RunReport

REVENUE_KPIS = (
    ("ending_mrr", "MRR", "money"), ("arr", "ARR", "money"),
    ("net_new_mrr", "net new MRR", "money"), ("new_mrr", "  new", "money"),
    ("reactivation_mrr", "  reactivation", "money"), ("expansion_mrr", "  expansion", "money"),
    ("contraction_mrr", "  contraction", "money"), ("churned_mrr", "  churned", "money"),
    ("coalesce(involuntary_churned_mrr, 0)", "    involuntary", "money"),
    ("rounding_mrr", "  rounding", "money"), ("paying_customers", "paying customers", "count"),
    ("delinquent_mrr", "delinquent MRR", "money"),
    ("nrr_12m", "NRR 12m", "percent"), ("grr_12m", "GRR 12m", "percent"),
    ("logo_churn_rate", "logo churn", "percent"), ("quick_ratio", "quick ratio", "ratio"),
    ("arpa", "ARPA", "money"), ("ltv", "LTV", "money"),
)


COLUMN_WIDTH = 20


def formatted_value(value: object, kind: str) -> str:
    """A KPI as a person reads it; NULL (None, or NaN from a dataframe) is `n/a`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "money":
        return f"{Decimal(str(value)):,.2f}"
    if kind == "percent":
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if kind == "ratio":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    return f"{int(value):,}"  # type: ignore[call-overload]


def relation_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables").fetchall()}
    rows = {}
    for name in PUBLISHED_RELATIONS:
        if name in present:
            result = con.execute(f'select count(*) from "{name}"').fetchone()
            rows[name] = int(result[0]) if result else 0
    return rows


def is_month_in_progress(month: date, as_of: date) -> bool:
    """The as-of month is in progress unless as_of is its last day."""
    return ((month.year, month.month) == (as_of.year, as_of.month)
            and (as_of + timedelta(days=1)).month == as_of.month)


def month_label(month: date, as_of: date) -> str:
    """`2026-11` for a complete month, `2026-12 (to 3 Dec)` for the month in progress."""
    return f"{month:%Y-%m}" + (f" (to {as_of.day} {as_of:%b})"
                               if is_month_in_progress(month, as_of) else "")


def revenue_kpi_lines(con: duckdb.DuckDBPyConnection, as_of: date,
                      months: int = 3) -> list[str]:
    columns = ", ".join(column for column, _, _ in REVENUE_KPIS)
    # Involuntary churn: customers who stopped paying rather than left (metrics_churn_monthly).
    rows = con.execute(
        f"select revenue.month, {columns} from metrics_revenue_monthly as revenue "
        "left join (select month, sum(churned_mrr) as involuntary_churned_mrr "
        "from metrics_churn_monthly "
        "where churn_type = 'involuntary' group by month) as involuntary "
        "on revenue.month = involuntary.month "
        f"order by revenue.month desc limit {months}").fetchall()[::-1]
    if not rows:
        return ["revenue: no paying customers yet"]
    header = f"{'':<18}" + "".join(month_label(row[0], as_of).rjust(COLUMN_WIDTH)
                                   for row in rows)
    lines = ["revenue (reporting currency)", header]
    for index, (_, label, kind) in enumerate(REVENUE_KPIS, start=1):
        lines.append(f"{label:<18}" + "".join(formatted_value(row[index], kind).rjust(COLUMN_WIDTH)
                                               for row in rows))
    if is_month_in_progress(rows[-1][0], as_of):
        lines.append(f"(the last column is a month in progress: its flows cover "
                     f"{as_of.day} day(s), not a full month)")
    return lines


def success_kpi_lines(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    lines = ["customer success"]
    onboarding = con.execute(
        "select cohort_month, completed, missed, in_progress, onboarding_completion_rate "
        "from metrics_onboarding_cohorts where in_progress = 0 and completed + missed > 0 "
        "order by cohort_month desc limit 3").fetchall()
    for cohort, completed, missed, in_progress, rate in onboarding[::-1]:
        lines.append(f"  onboarding {cohort:%Y-%m}: {formatted_value(rate, 'percent')} completed "
                     f"({completed} completed, {missed} missed, {in_progress} in progress)")
    # The last complete month, after the month in progress (marked) if it has responses.
    nps_months = con.execute("select month, responses, nps from metrics_nps_monthly "
                             "order by month desc limit 2").fetchall()
    in_progress = bool(nps_months) and is_month_in_progress(nps_months[0][0], as_of)
    shown = nps_months if in_progress else nps_months[:1]
    for month, responses, nps in shown[::-1]:
        lines.append(f"  NPS {month_label(month, as_of)}: {nps:.1f} over {responses:,} "
                     "responses")
    worklist = con.execute("select count(*), sum(mrr_at_risk), "
                           "count(*) filter (where risk_band = 'critical') "
                           "from rpt_churn_risk_worklist").fetchone()
    if worklist:
        at_risk = formatted_value(worklist[1] or 0, "money")
        lines.append(f"  churn-risk worklist at {as_of}: {worklist[0]:,} customers "
                     f"({worklist[2]:,} critical), MRR at risk {at_risk}")
    renewals = con.execute("select count(*), sum(renewal_mrr), count(*) filter "
                           "(where cancel_requested) from rpt_renewals_due").fetchone()
    if renewals:
        due_mrr = formatted_value(renewals[1] or 0, "money")
        lines.append(f"  renewals due by {as_of + timedelta(days=90)}: {renewals[0]:,} "
                     f"subscriptions, renewal MRR {due_mrr} ({renewals[2]:,} with a "
                     "cancellation requested)")
    return lines


def _settings_line(settings: Settings) -> str:
    """Every metric setting of the run, a * marking those that differ from the defaults."""
    defaults = Settings()
    return "settings: " + ", ".join(
        f"{name}={value}" + ("*" if value != defaults.metric(name) else "")
        for name, value in sorted(settings.metrics().items()))


def summary_text(report: RunReport, settings: Settings) -> str:
    as_of = settings.as_of
    lines = ["", f"Retain run summary (as of {as_of})", "=" * 40]
    lines.append(f"run {report.run_id}; " + _settings_line(settings))
    timings = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in report.timings.items())
    lines.append(f"timings: {timings}")
    if report.plan:
        lines.append(report.plan.line())
    lines.append("raw rows: " + ", ".join(f"{t} {n:,}" for t, n in report.raw_rows.items()))
    lines.append("dbt: " + ", ".join(f"{n} {s}" for s, n in sorted(report.dbt_counts.items())))
    engine = engine_for(settings)
    with engine.open_published(settings) as con:
        rows = relation_rows(con)
        lines.append(f"published {engine.published_location(settings)}: " + ", ".join(
            f"{name} {count:,}" for name, count in rows.items()))
        lines.append("")
        lines.extend(revenue_kpi_lines(con, as_of))
        if {"metrics_onboarding_cohorts", "metrics_nps_monthly", "rpt_churn_risk_worklist",
                "rpt_renewals_due"} <= rows.keys():
            lines.append("")
            lines.extend(success_kpi_lines(con, as_of))
    if report.notices:
        lines += ["", "read before using these numbers:", *(f"  {n}" for n in report.notices)]
    return "\n".join(lines)
