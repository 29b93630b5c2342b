-- Retention by first-90-day activity (metrics.md, Engagement): customers
-- that have a cohort month and whose first 90 days are over, in quartiles of
-- first-90-day active days, with logo and revenue retention 6 and 12 months
-- after their cohort month.
with

int_customer_cohorts as (
    select
        customer_id,
        cohort_month
    from {{ ref('int_customer_cohorts') }}
),

int_customer_first_90_days as (
    select
        customer_id,
        is_first_90_days_complete,
        first_90_days_active_days
    from {{ ref('int_customer_first_90_days') }}
),

int_customer_mrr_monthly as (
    select
        customer_id,
        month,
        mrr
    from {{ ref('int_customer_mrr_monthly') }}
),

evaluable_customers as (
    select
        int_customer_cohorts.customer_id,
        int_customer_cohorts.cohort_month,
        int_customer_first_90_days.first_90_days_active_days
    from int_customer_cohorts
    inner join int_customer_first_90_days
        on int_customer_cohorts.customer_id = int_customer_first_90_days.customer_id
    where int_customer_first_90_days.is_first_90_days_complete
),

-- q1 = least active quarter .. q4 = most active (ties broken by customer_id).
banded as (
    select
        customer_id,
        cohort_month,
        {{ dbt.concat(["'q'", "cast(ntile(4) over (order by first_90_days_active_days, customer_id) as "
            ~ dbt.type_string() ~ ")"]) }} as activity_band
    from evaluable_customers
),

-- mrr in the cohort month and 6 / 12 months later (0 when not paying), and
-- whether the as_of month has reached those months.
customer_retention as (
    select
        banded.customer_id,
        banded.activity_band,
        cohort_mrr.mrr as cohort_mrr,
        coalesce(mrr_6m.mrr, 0) as mrr_6m,
        coalesce(mrr_12m.mrr, 0) as mrr_12m,
        {{ dbt.dateadd('month', 6, 'banded.cohort_month') }} <= {{ as_of_month() }} as has_reached_6m,
        {{ dbt.dateadd('month', 12, 'banded.cohort_month') }} <= {{ as_of_month() }} as has_reached_12m
    from banded
    left join int_customer_mrr_monthly as cohort_mrr
        on
            banded.customer_id = cohort_mrr.customer_id
            and banded.cohort_month = cohort_mrr.month
    left join int_customer_mrr_monthly as mrr_6m
        on
            banded.customer_id = mrr_6m.customer_id
            and {{ dbt.dateadd('month', 6, 'banded.cohort_month') }} = mrr_6m.month
    left join int_customer_mrr_monthly as mrr_12m
        on
            banded.customer_id = mrr_12m.customer_id
            and {{ dbt.dateadd('month', 12, 'banded.cohort_month') }} = mrr_12m.month
),

band_retention as (
    select
        activity_band,
        count(*) as customers,
        sum(case when has_reached_6m then 1 else 0 end) as customers_reached_6m,
        sum(case when has_reached_6m and mrr_6m > 0 then 1 else 0 end) as customers_paying_6m,
        sum(case when has_reached_12m then 1 else 0 end) as customers_reached_12m,
        sum(case when has_reached_12m and mrr_12m > 0 then 1 else 0 end) as customers_paying_12m,
        sum(case when has_reached_6m then mrr_6m end) as mrr_6m,
        sum(case when has_reached_6m then cohort_mrr end) as cohort_mrr_reached_6m,
        sum(case when has_reached_12m then mrr_12m end) as mrr_12m,
        sum(case when has_reached_12m then cohort_mrr end) as cohort_mrr_reached_12m
    from customer_retention
    group by activity_band
),

final as (
    select
        cast(activity_band as {{ dbt.type_string() }}) as activity_band,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        cast(customers_reached_6m as {{ dbt.type_bigint() }}) as customers_reached_6m,
        cast(customers_reached_12m as {{ dbt.type_bigint() }}) as customers_reached_12m,
        {{ safe_ratio('customers_paying_6m', 'customers_reached_6m') }} as logo_retention_6m,
        {{ safe_ratio('customers_paying_12m', 'customers_reached_12m') }} as logo_retention_12m,
        {{ safe_ratio('mrr_6m', 'cohort_mrr_reached_6m') }} as revenue_retention_6m,
        {{ safe_ratio('mrr_12m', 'cohort_mrr_reached_12m') }} as revenue_retention_12m
    from band_retention
)

select * from final
