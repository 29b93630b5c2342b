-- Activity in each customer's first 90 x 24 hours after its onboarding start
-- (int_customer_onboarding_starts): the early activity that predicts loyalty.
-- Exact times matter here, so the raw events are read, joined on the
-- customer and filtered to the window. Incremental: a window that closed
-- before the first recomputed day is settled; a run recomputes the others.
{{ config(**keep_settled_config('first_90_days_end_at <= ' ~ incremental_start_at())) }}

with

int_customer_onboarding_starts as (
    select
        customer_id,
        onboarding_started_at
    from {{ ref('int_customer_onboarding_starts') }}
),

stg_usage_events as (
    select
        customer_id,
        user_id,
        event_name,
        occurred_at
    from {{ ref('stg_usage_events') }}
),

onboarding_windows as (
    select
        customer_id,
        onboarding_started_at,
        {{ dbt.dateadd('hour', 90 * 24, 'onboarding_started_at') }} as first_90_days_end_at
    from int_customer_onboarding_starts
    {% if is_incremental() -%}
        where {{ is_unsettled('int_customer_onboarding_starts', ['customer_id'],
            'first_90_days_end_at <= ' ~ incremental_start_at()) }}
    {%- endif %}
),

window_events as (
    select
        onboarding_windows.customer_id,
        stg_usage_events.user_id,
        stg_usage_events.occurred_at,
        {{ is_active_event('stg_usage_events.event_name') }} and stg_usage_events.user_id is not null
            as is_active_event
    from onboarding_windows
    inner join stg_usage_events
        on
            onboarding_windows.customer_id = stg_usage_events.customer_id
            and onboarding_windows.onboarding_started_at <= stg_usage_events.occurred_at
            and onboarding_windows.first_90_days_end_at > stg_usage_events.occurred_at
),

-- The window's events summed per customer, user and day: the distinct days
-- and users below are then counted without a DISTINCT aggregate, which DuckDB
-- cannot spill to disk.
window_user_days as (
    select
        customer_id,
        user_id,
        cast(occurred_at as date) as activity_date,
        count(*) as events,
        max(case when is_active_event then 1 else 0 end) as is_active
    from window_events
    group by
        customer_id,
        user_id,
        cast(occurred_at as date)
),

events_per_customer as (
    select
        customer_id,
        sum(events) as first_90_days_events
    from window_user_days
    group by customer_id
),

active_days_per_customer as (
    select
        customer_id,
        count(*) as first_90_days_active_days
    from (
        select
            customer_id,
            activity_date
        from window_user_days
        where is_active = 1
        group by
            customer_id,
            activity_date
    ) as active_days
    group by customer_id
),

active_users_per_customer as (
    select
        customer_id,
        count(*) as first_90_days_active_users
    from (
        select
            customer_id,
            user_id
        from window_user_days
        where is_active = 1
        group by
            customer_id,
            user_id
    ) as active_users
    group by customer_id
),

window_activity as (
    select
        events_per_customer.customer_id,
        events_per_customer.first_90_days_events,
        coalesce(active_days_per_customer.first_90_days_active_days, 0) as first_90_days_active_days,
        coalesce(active_users_per_customer.first_90_days_active_users, 0) as first_90_days_active_users
    from events_per_customer
    left join active_days_per_customer
        on events_per_customer.customer_id = active_days_per_customer.customer_id
    left join active_users_per_customer
        on events_per_customer.customer_id = active_users_per_customer.customer_id
),

final as (
    select
        cast(onboarding_windows.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(onboarding_windows.onboarding_started_at as {{ dbt.type_timestamp() }}) as onboarding_started_at,
        cast(onboarding_windows.first_90_days_end_at as {{ dbt.type_timestamp() }}) as first_90_days_end_at,
        -- A window still open at as_of_end is not complete yet.
        coalesce(onboarding_windows.first_90_days_end_at <= {{ as_of_end() }}, false) as is_first_90_days_complete,
        cast(coalesce(window_activity.first_90_days_active_days, 0) as {{ dbt.type_bigint() }})
            as first_90_days_active_days,
        cast(coalesce(window_activity.first_90_days_events, 0) as {{ dbt.type_bigint() }})
            as first_90_days_events,
        cast(coalesce(window_activity.first_90_days_active_users, 0) as {{ dbt.type_bigint() }})
            as first_90_days_active_users
    from onboarding_windows
    left join window_activity
        on onboarding_windows.customer_id = window_activity.customer_id
)

select * from final
