-- Every day from the earliest usage event to as_of_date (the engagement
-- spine: days without activity still get a row).
with

usage_events as (
    select occurred_at from {{ ref('stg_usage_events') }}
),

earliest_event as (
    {{ earliest_row('usage_events', 'occurred_at') }}
),

first_day as (
    select cast(min(occurred_at) as date) as first_day
    from earliest_event
),

day_offsets as (
    select {{ integer_expression(5) }} as day_offset
    {{ integers(5) }}
),

days as (
    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'first_day.first_day') }} as date) as date_day
    from day_offsets
    cross join first_day
),

days_to_as_of as (
    select date_day
    from days
    where date_day <= {{ as_of_date() }}
)

select * from days_to_as_of
