-- Usage events aggregated to customer x user x calendar month: the monthly
-- usage, the 30-day windows at each snapshot and the daily engagement read
-- these rows (about a tenth of the events), so that no model aggregates the
-- events to user-days. A month keeps its first and last active day, which
-- decide the 30-day windows exactly, and a bitmap of its active days, whose
-- set bits count the distinct active days and whose union over a customer's
-- users gives the customer's. Incremental: a run recomputes the months from
-- incremental_start_month() on.
{{ config(**replace_range_config(from_first_month('activity_month'), 'activity_month')) }}

with

stg_usage_events as (
    select
        customer_id,
        user_id,
        event_name,
        occurred_at
    from {{ ref('stg_usage_events') }}
    {% if is_incremental() -%}
        where occurred_at >= cast({{ incremental_start_month() }} as {{ dbt.type_timestamp() }})
    {%- endif %}
),

-- Active events follow var active_event_names (empty = every event); events
-- without a user make no user active.
event_days as (
    select
        customer_id,
        user_id,
        cast(occurred_at as date) as date_day,
        (user_id is not null and {{ is_active_event('event_name') }}) as is_active
    from stg_usage_events
),

user_months as (
    select
        customer_id,
        user_id,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as activity_month,
        count(*) as events,
        min(case when is_active then date_day end) as first_active_day,
        max(case when is_active then date_day end) as last_active_day,
        coalesce(bit_or(case when is_active then {{ day_of_month_bit('date_day') }} end), 0) as active_days_bitmap
    from event_days
    group by
        customer_id,
        user_id,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date)
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(activity_month as date) as activity_month,
        cast(events as {{ dbt.type_bigint() }}) as events,
        -- One bit per active day: its set bits count the distinct days.
        cast(bit_count(active_days_bitmap) as {{ dbt.type_bigint() }}) as active_days,
        cast(first_active_day as date) as first_active_day,
        cast(last_active_day as date) as last_active_day,
        cast(active_days_bitmap as {{ dbt.type_bigint() }}) as active_days_bitmap
    from user_months
)

select * from final
