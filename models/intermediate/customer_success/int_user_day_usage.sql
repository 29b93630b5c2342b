-- Usage events aggregated once to customer x user x UTC day: the engagement
-- facts read this instead of the (largest) raw events table. Events without
-- a user keep a row with user_id NULL (they count as events, never as an
-- active user). Incremental: a run recomputes the days from
-- incremental_start_date() on (macros/incremental.sql).
{{ config(**replace_range_config(from_first_day('date_day'), 'date_day')) }}

with

stg_usage_events as (
    select
        customer_id,
        user_id,
        event_name,
        occurred_at
    from {{ ref('stg_usage_events') }}
    {% if is_incremental() -%}
        where occurred_at >= {{ incremental_start_at() }}
    {%- endif %}
),

user_days as (
    select
        customer_id,
        user_id,
        cast(occurred_at as date) as date_day,
        count(*) as events,
        -- Active events follow var active_event_names (empty = every event).
        sum(case when {{ is_active_event('event_name') }} then 1 else 0 end) as active_events
    from stg_usage_events
    group by
        customer_id,
        user_id,
        cast(occurred_at as date)
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(date_day as date) as date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as activity_month,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(active_events as {{ dbt.type_bigint() }}) as active_events,
        -- Events without a user make no user active.
        (user_id is not null and active_events > 0) as is_active
    from user_days
)

select * from final
