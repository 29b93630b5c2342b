-- What customer success knows about each customer at as_of_date, one row per
-- customer existing at as_of_end: joined into dim_customers (metrics.md,
-- Customer 360). Health columns are NULL when the customer is not paying in
-- the as_of month.
with

stg_customers as (
    select customer_id
    from {{ ref('stg_customers') }}
),

fct_customer_onboarding as (
    select
        customer_id,
        onboarding_started_at,
        onboarding_status,
        onboarding_completed_at
    from {{ ref('fct_customer_onboarding') }}
),

int_customer_first_90_days as (
    select
        customer_id,
        onboarding_started_at,
        first_90_days_active_days,
        first_90_days_events
    from {{ ref('int_customer_first_90_days') }}
),

int_user_activity_daily as (
    select
        customer_id,
        user_id,
        date_day,
        is_active
    from {{ ref('int_user_activity_daily') }}
),

fct_customer_activity_monthly as (
    select
        customer_id,
        month,
        active_users,
        seats,
        seat_utilization
    from {{ ref('fct_customer_activity_monthly') }}
),

fct_customer_nps as (
    select
        customer_id,
        responses_90d,
        nps_90d,
        latest_nps_category
    from {{ ref('fct_customer_nps') }}
),

fct_support_tickets as (
    select
        customer_id,
        opened_at,
        resolved_at
    from {{ ref('fct_support_tickets') }}
),

fct_customer_health as (
    select
        customer_id,
        month,
        health_score,
        risk_band,
        risk_signals
    from {{ ref('fct_customer_health') }}
),

-- Active users on the 30 days to as_of_date (a full window whatever the day
-- of the month), and on any day ever.
recent_activity as (
    select
        customer_id,
        count(
            distinct case
                when date_day > {{ dbt.dateadd('day', -30, as_of_date()) }} then user_id
            end
        ) as active_users_30d,
        max(date_day) as last_active_day
    from int_user_activity_daily
    where is_active
    group by customer_id
),

as_of_month_activity as (
    select
        customer_id,
        active_users,
        seats,
        seat_utilization
    from fct_customer_activity_monthly
    where month = {{ as_of_month() }}
),

previous_month_activity as (
    select
        customer_id,
        active_users
    from fct_customer_activity_monthly
    where month = {{ dbt.dateadd('month', -1, as_of_month()) }}
),

support_load as (
    select
        customer_id,
        sum(case when resolved_at is null then 1 else 0 end) as open_tickets,
        sum(
            case when opened_at >= {{ dbt.dateadd('hour', -90 * 24, as_of_end()) }} then 1 else 0 end
        ) as tickets_90d
    from fct_support_tickets
    group by customer_id
),

health_now as (
    select
        customer_id,
        health_score,
        risk_band,
        risk_signals
    from fct_customer_health
    where month = {{ as_of_month() }}
),

profile as (
    select
        stg_customers.customer_id,
        fct_customer_onboarding.onboarding_status,
        fct_customer_onboarding.onboarding_completed_at,
        int_customer_first_90_days.onboarding_started_at,
        recent_activity.last_active_day,
        as_of_month_activity.seat_utilization,
        fct_customer_nps.nps_90d,
        fct_customer_nps.latest_nps_category,
        health_now.health_score,
        health_now.risk_band,
        health_now.risk_signals,
        coalesce(int_customer_first_90_days.first_90_days_active_days, 0) as first_90_days_active_days,
        coalesce(int_customer_first_90_days.first_90_days_events, 0) as first_90_days_events,
        coalesce(recent_activity.active_users_30d, 0) as active_users_30d,
        coalesce(previous_month_activity.active_users, 0) as active_users_last_month,
        coalesce(as_of_month_activity.active_users, 0) as active_users_this_month,
        coalesce(as_of_month_activity.seats, 0) as seats,
        coalesce(fct_customer_nps.responses_90d, 0) as nps_responses_90d,
        coalesce(support_load.open_tickets, 0) as open_tickets,
        coalesce(support_load.tickets_90d, 0) as tickets_90d
    from stg_customers
    left join fct_customer_onboarding
        on stg_customers.customer_id = fct_customer_onboarding.customer_id
    left join int_customer_first_90_days
        on stg_customers.customer_id = int_customer_first_90_days.customer_id
    left join recent_activity
        on stg_customers.customer_id = recent_activity.customer_id
    left join as_of_month_activity
        on stg_customers.customer_id = as_of_month_activity.customer_id
    left join previous_month_activity
        on stg_customers.customer_id = previous_month_activity.customer_id
    left join fct_customer_nps
        on stg_customers.customer_id = fct_customer_nps.customer_id
    left join support_load
        on stg_customers.customer_id = support_load.customer_id
    left join health_now
        on stg_customers.customer_id = health_now.customer_id
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(onboarding_started_at as {{ dbt.type_timestamp() }}) as onboarding_started_at,
        cast(onboarding_status as {{ dbt.type_string() }}) as onboarding_status,
        cast(onboarding_completed_at as {{ dbt.type_timestamp() }}) as onboarding_completed_at,
        cast(first_90_days_active_days as {{ dbt.type_bigint() }}) as first_90_days_active_days,
        cast(first_90_days_events as {{ dbt.type_bigint() }}) as first_90_days_events,
        cast(active_users_30d as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(active_users_last_month as {{ dbt.type_bigint() }}) as active_users_last_month,
        cast(active_users_this_month as {{ dbt.type_bigint() }}) as active_users_this_month,
        cast(last_active_day as date) as last_active_day,
        cast(seats as {{ dbt.type_bigint() }}) as seats,
        cast(seat_utilization as {{ type_double() }}) as seat_utilization,
        cast(nps_responses_90d as {{ dbt.type_bigint() }}) as nps_responses_90d,
        cast(nps_90d as {{ type_double() }}) as nps_90d,
        cast(latest_nps_category as {{ dbt.type_string() }}) as latest_nps_category,
        cast(open_tickets as {{ dbt.type_bigint() }}) as open_tickets,
        cast(tickets_90d as {{ dbt.type_bigint() }}) as tickets_90d,
        cast(health_score as {{ type_double() }}) as health_score,
        cast(risk_band as {{ dbt.type_string() }}) as risk_band,
        cast(risk_signals as {{ dbt.type_string() }}) as risk_signals
    from profile
)

select * from final
