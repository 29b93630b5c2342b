-- Logo and revenue retention of each paying cohort, month by month
-- (metrics.md, Cohorts): cohorts x months since are few, so the grid is
-- built in full and zero rows are kept.
with

months as (
    select * from {{ ref('int_calendar_months') }}
),

customer_cohorts as (
    select * from {{ ref('int_customer_cohorts') }}
),

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

paid_revenue as (
    select * from {{ ref('int_customer_revenue_paid_monthly') }}
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_customers
    from customer_cohorts
    group by cohort_month
),

cohort_grid as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_customers,
        months.month_start as month,
        {{ dbt.datediff('cohort_sizes.cohort_month', 'months.month_start', 'month') }} as months_since
    from cohort_sizes
    inner join months
        on cohort_sizes.cohort_month <= months.month_start
),

cohort_mrr as (
    select
        customer_cohorts.cohort_month,
        customer_mrr.month,
        count(*) as paying_customers,
        sum(customer_mrr.mrr) as mrr
    from customer_mrr
    inner join customer_cohorts
        on customer_mrr.customer_id = customer_cohorts.customer_id
    group by customer_cohorts.cohort_month, customer_mrr.month
),

cohort_paid_revenue as (
    select
        customer_cohorts.cohort_month,
        paid_revenue.paid_month,
        sum(paid_revenue.revenue) as revenue
    from paid_revenue
    inner join customer_cohorts
        on paid_revenue.customer_id = customer_cohorts.customer_id
    group by customer_cohorts.cohort_month, paid_revenue.paid_month
),

cumulative_revenue as (
    -- Everything paid up to the end of month K + k, payments before the
    -- cohort month included (e.g. a setup fee).
    select
        cohort_grid.cohort_month,
        cohort_grid.month,
        sum(cohort_paid_revenue.revenue) as revenue
    from cohort_grid
    inner join cohort_paid_revenue
        on
            cohort_grid.cohort_month = cohort_paid_revenue.cohort_month
            and cohort_grid.month >= cohort_paid_revenue.paid_month
    group by cohort_grid.cohort_month, cohort_grid.month
),

retention as (
    select
        cohort_grid.cohort_month,
        cast(cohort_grid.months_since as bigint) as months_since,
        cast(coalesce(cohort_mrr.paying_customers, 0) as bigint) as customers,
        {{ safe_ratio('coalesce(cohort_mrr.paying_customers, 0)', 'cohort_grid.cohort_customers') }}
            as logo_retention,
        {{ round_to_cents('coalesce(cohort_mrr.mrr, 0)') }} as mrr,
        cohort_grid.cohort_customers,
        cohort_grid.month
    from cohort_grid
    left join cohort_mrr
        on
            cohort_grid.cohort_month = cohort_mrr.cohort_month
            and cohort_grid.month = cohort_mrr.month
),

with_revenue as (
    select
        retention.cohort_month,
        retention.months_since,
        retention.customers,
        retention.logo_retention,
        retention.mrr,
        {{ safe_ratio('retention.mrr', 'first_month.mrr') }} as revenue_retention,
        {{ safe_ratio('coalesce(cumulative_revenue.revenue, 0)', 'retention.cohort_customers') }}
            as cumulative_revenue_per_customer,
        cast(retention.cohort_customers as bigint) as cohort_customers
    from retention
    inner join retention as first_month
        on
            retention.cohort_month = first_month.cohort_month
            and first_month.months_since = 0
    left join cumulative_revenue
        on
            retention.cohort_month = cumulative_revenue.cohort_month
            and retention.month = cumulative_revenue.month
)

select * from with_revenue
