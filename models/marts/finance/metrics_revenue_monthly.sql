-- One row per month from the first month with any MRR to the as_of month:
-- the revenue bridge and every ratio of metrics.md, Monthly revenue metrics,
-- computed for the whole company by the macro that also cuts them by segment
-- (macros/revenue_metrics.sql).
with

{{ monthly_revenue_ctes() }},

customer_delinquent_mrr as (
    select * from {{ ref('int_customer_delinquent_mrr_monthly') }}
),

-- Every customer's, with or without a fct_mrr row: the MRR held back by
-- unpaid invoices (metrics.md, Revenue depth). Not cut by segment.
delinquent_months as (
    select
        month,
        sum(delinquent_mrr) as delinquent_mrr
    from customer_delinquent_mrr
    group by month
),

revenue_with_delinquent_mrr as (
    select
        revenue_metrics.*,
        cast(coalesce(delinquent_months.delinquent_mrr, 0) as {{ type_money() }}) as delinquent_mrr
    from revenue_metrics
    left join delinquent_months
        on revenue_metrics.month = delinquent_months.month
),

company_months as (
    select
        month,
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
        delinquent_mrr,
        previously_paying_customers,
        is_complete_month
    from revenue_with_delinquent_mrr
)

select * from company_months
