-- A customer's cohort is its first month with mrr > 0 (metrics.md, Cohorts).
with

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

first_paying_months as (
    select
        customer_id,
        min(month) as cohort_month
    from customer_mrr
    group by customer_id
)

select * from first_paying_months
