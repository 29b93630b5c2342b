"""What a person wants to know at the end of a run: rows, timings, headline KPIs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from retain.pipeline import RunReport

# The interface relations of ../shared/spec/metrics.md, in reading order.
INTERFACE_RELATIONS = (
    "fct_mrr", "fct_mrr_product", "metrics_revenue_monthly", "fct_cohort_retention",
    "fct_onboarding_milestones", "fct_customer_onboarding", "metrics_onboarding_cohorts",
    "metrics_engagement_daily", "fct_customer_activity_monthly", "metrics_nps_monthly",
    "fct_support_tickets", "metrics_support_monthly", "fct_customer_health",
    "metrics_health_backtest", "rpt_churn_risk_worklist", "rpt_retention_by_early_activity",
    "dim_customers",
)


def relation_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables").fetchall()}
    rows = {}
    for name in INTERFACE_RELATIONS:
        if name in present:
            result = con.execute(f'select count(*) from "{name}"').fetchone()
            rows[name] = int(result[0]) if result else 0
    return rows


def summary_text(report: RunReport, warehouse: Path) -> str:
    lines = ["", "Retain run summary", "=================="]
    timings = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in report.timings.items())
    lines.append(f"timings: {timings}")
    lines.append("raw rows: " + ", ".join(f"{t} {n:,}" for t, n in report.raw_rows.items()))
    lines.append("dbt: " + ", ".join(f"{n} {s}" for s, n in sorted(report.dbt_counts.items())))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = relation_rows(con)
    lines.append(f"published: {warehouse}")
    lines.extend(f"  {name:<32} {count:>12,} rows" for name, count in rows.items())
    return "\n".join(lines)
