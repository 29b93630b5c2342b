-- Churn per month by type and reason (metrics.md, Revenue depth: churn
-- reason): who left, who stopped paying, and why. Only combinations with a
-- churn have a row.
with

mrr_movements as (
    select * from {{ ref('fct_mrr') }}
),

churns_by_type_and_reason as (
    select
        month,
        churn_type,
        churn_reason,
        cast(count(*) as {{ dbt.type_bigint() }}) as churned_customers,
        cast(sum(mrr_change) as {{ type_money() }}) as churned_mrr,
        {{ is_complete_month('month') }} as is_complete_month
    from mrr_movements
    where movement = 'churn'
    group by month, churn_type, churn_reason
)

select * from churns_by_type_and_reason
