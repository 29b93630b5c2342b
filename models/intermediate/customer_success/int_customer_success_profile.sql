-- What customer success knows about each customer at as_of_date, one row per
-- customer existing at as_of_end (metrics.md, Customer 360): each signal's
-- model read at the as_of month's snapshot. Health columns are NULL when the
-- customer is not paying in the as_of month.
with

stg_customers as (
    select customer_id
    from {{ ref('stg_customers') }}
),

int_customer_onboarding as (
    select * from {{ ref('int_customer_onboarding') }}
),

int_customer_first_90_days as (
    select * from {{ ref('int_customer_first_90_days') }}
),

int_customer_snapshot_active_users as (
    select * from {{ ref('int_customer_snapshot_active_users') }}
    where month = {{ as_of_month() }}
),

int_customer_month_activity_and_seats as (
    select * from {{ ref('int_customer_month_activity_and_seats') }}
    where month = {{ as_of_month() }}
),

int_customer_nps_monthly as (
    select * from {{ ref('int_customer_nps_monthly') }}
    where month = {{ as_of_month() }}
),

int_customer_support_load_monthly as (
    select * from {{ ref('int_customer_support_load_monthly') }}
    where month = {{ as_of_month() }}
),

int_customer_health_scores as (
    select * from {{ ref('int_customer_health_scores') }}
    where month = {{ as_of_month() }}
),

profile as (
    select
        stg_customers.customer_id,
        int_customer_onboarding.onboarding_status,
        int_customer_onboarding.onboarding_completed_at,
        int_customer_first_90_days.onboarding_started_at,
        int_customer_snapshot_active_users.last_active_day,
        int_customer_month_activity_and_seats.seat_utilization,
        int_customer_nps_monthly.nps_90d,
        int_customer_nps_monthly.latest_nps_category,
        int_customer_health_scores.health_score,
        int_customer_health_scores.risk_band,
        int_customer_health_scores.risk_signals,
        coalesce(int_customer_first_90_days.first_90_days_active_days, 0) as first_90_days_active_days,
        coalesce(int_customer_first_90_days.first_90_days_events, 0) as first_90_days_events,
        -- The 30 days to as_of_date: a full window whatever the day of the month.
        coalesce(int_customer_snapshot_active_users.active_users_30d, 0) as active_users_30d,
        coalesce(int_customer_month_activity_and_seats.active_users, 0) as active_users_this_month,
        coalesce(int_customer_month_activity_and_seats.seats, 0) as seats,
        coalesce(int_customer_nps_monthly.responses_90d, 0) as nps_responses_90d,
        coalesce(int_customer_support_load_monthly.open_tickets, 0) as open_tickets,
        coalesce(int_customer_support_load_monthly.tickets_90d, 0) as tickets_90d
    from stg_customers
    left join int_customer_onboarding
        on stg_customers.customer_id = int_customer_onboarding.customer_id
    left join int_customer_first_90_days
        on stg_customers.customer_id = int_customer_first_90_days.customer_id
    left join int_customer_snapshot_active_users
        on stg_customers.customer_id = int_customer_snapshot_active_users.customer_id
    left join int_customer_month_activity_and_seats
        on stg_customers.customer_id = int_customer_month_activity_and_seats.customer_id
    left join int_customer_nps_monthly
        on stg_customers.customer_id = int_customer_nps_monthly.customer_id
    left join int_customer_support_load_monthly
        on stg_customers.customer_id = int_customer_support_load_monthly.customer_id
    left join int_customer_health_scores
        on stg_customers.customer_id = int_customer_health_scores.customer_id
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
