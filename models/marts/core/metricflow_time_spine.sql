-- The MetricFlow time spine: every day of every calendar month from the
-- earliest month any raw fact touches to the as_of month (no hard-coded
-- range, no day after the as_of month).
with

months as (
    select * from {{ ref('int_calendar_months') }}
),

day_offsets as (
    select {{ integer_expression(2) }} as day_offset
    {{ integers(2) }}
),

days as (
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'months.month_start') }} as date) as date_day,
        months.month_start
    from months
    cross join day_offsets
    where day_offsets.day_offset < 31
),

days_inside_their_month as (
    select date_day
    from days
    where cast({{ dbt.date_trunc('month', 'date_day') }} as date) = month_start
)

select * from days_inside_their_month
