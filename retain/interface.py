"""The interface relations of ../shared/spec/metrics.md that BI tools read, in reading order."""

INTERFACE_RELATIONS = (
    "fct_mrr", "fct_mrr_product", "metrics_revenue_monthly", "fct_cohort_retention",
    "fct_onboarding_milestones", "fct_customer_onboarding", "metrics_onboarding_cohorts",
    "metrics_engagement_daily", "fct_customer_activity_monthly", "metrics_nps_monthly",
    "fct_support_tickets", "metrics_support_monthly", "fct_customer_health",
    "metrics_health_backtest", "rpt_churn_risk_worklist", "rpt_retention_by_early_activity",
    "dim_customers",
)
