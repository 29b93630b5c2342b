-- Every column of metrics_revenue_monthly, restricted to the customers of one
-- value of a customer attribute (metrics.md, Revenue depth: Segments), by the
-- same macro: one row per month, dimension and value with a customer paying in
-- M, M-1 or M-12.
with

{{ monthly_revenue_ctes(ref('int_customer_dimension_values'), revenue_dimensions()) }},

values_with_customers as (
    select
        month,
        dimension,
        dimension_value,
        starting_mrr,
        ending_mrr,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        rounding_mrr,
        net_new_mrr,
        arr,
        paying_customers,
        new_customers,
        reactivated_customers,
        churned_customers,
        logo_churn_rate,
        gross_mrr_churn_rate,
        net_mrr_churn_rate,
        nrr_monthly,
        grr_monthly,
        nrr_12m,
        grr_12m,
        quick_ratio,
        arpa,
        trailing_6m_logo_churn_rate,
        ltv,
        upsell_rate,
        cross_sell_rate,
        previously_paying_customers,
        is_complete_month
    from revenue_metrics
    -- Paying in M, in M-1 (P), or in M-12 (Q).
    where paying_customers > 0 or previously_paying_customers > 0 or base_mrr_12m > 0
)

select * from values_with_customers
