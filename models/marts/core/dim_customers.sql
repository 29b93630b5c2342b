-- The customer 360 (metrics.md, Customer 360): one row per customer existing
-- at as_of_end, joining what sales, finance, support and success know.
with

customers as (
    select * from {{ ref('stg_customers') }}
),

customer_cohorts as (
    select * from {{ ref('int_customer_cohorts') }}
),

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

counting_lines as (
    select * from {{ ref('int_mrr_lines_counting') }}
),

paid_revenue as (
    select * from {{ ref('int_customer_revenue_paid_monthly') }}
),

success_profile as (
    select * from {{ ref('int_customer_success_profile') }}
),

current_mrr as (
    select
        customer_id,
        mrr
    from customer_mrr
    where month = {{ as_of_month() }}
),

current_counting_lines as (
    -- Plans and products counting toward MRR at the as_of snapshot.
    select
        customer_id,
        plan_id,
        product_id
    from counting_lines
    where month = {{ as_of_month() }} and monthly_rate > 0
),

-- One list per CTE: Spark cannot plan two distinct ordered lists in one group by.
current_plans as (
    select
        customer_id,
        {{ dbt.listagg('distinct plan_id', "','", 'order by plan_id') }} as current_plan_ids
    from current_counting_lines
    group by customer_id
),

current_products as (
    select
        customer_id,
        {{ dbt.listagg('distinct product_id', "','", 'order by product_id') }} as current_product_ids
    from current_counting_lines
    group by customer_id
),

lifetime_revenue as (
    select
        customer_id,
        {{ round_to_cents('sum(revenue)') }} as lifetime_revenue
    from paid_revenue
    group by customer_id
),

customer_360 as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.country,
        customers.segment,
        customers.acquisition_channel,
        customers.created_at,
        customer_cohorts.cohort_month as first_paid_month,
        current_plans.current_plan_ids,
        current_products.current_product_ids,
        coalesce(current_mrr.mrr, cast(0 as {{ type_money() }})) as mrr,
        cast(12 * coalesce(current_mrr.mrr, 0) as {{ type_money() }}) as arr,
        coalesce(lifetime_revenue.lifetime_revenue, cast(0 as {{ type_money() }})) as lifetime_revenue,
        coalesce(current_mrr.mrr, 0) > 0 as is_paying,
        success_profile.onboarding_started_at,
        success_profile.onboarding_status,
        success_profile.onboarding_completed_at,
        success_profile.first_90_days_active_days,
        success_profile.first_90_days_events,
        success_profile.active_users_30d,
        success_profile.active_users_this_month,
        success_profile.last_active_day,
        success_profile.seats,
        success_profile.seat_utilization,
        success_profile.nps_responses_90d,
        success_profile.nps_90d,
        success_profile.latest_nps_category,
        success_profile.open_tickets,
        success_profile.tickets_90d,
        success_profile.health_score,
        success_profile.risk_band,
        success_profile.risk_signals
    from customers
    left join customer_cohorts
        on customers.customer_id = customer_cohorts.customer_id
    left join current_mrr
        on customers.customer_id = current_mrr.customer_id
    left join current_plans
        on customers.customer_id = current_plans.customer_id
    left join current_products
        on customers.customer_id = current_products.customer_id
    left join lifetime_revenue
        on customers.customer_id = lifetime_revenue.customer_id
    left join success_profile
        on customers.customer_id = success_profile.customer_id
)

select * from customer_360
