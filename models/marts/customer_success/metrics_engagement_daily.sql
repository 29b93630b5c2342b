-- Daily engagement (metrics.md, Engagement): dau, wau (D-6..D), mau
-- (D-29..D) and stickiness, every day from the first day with an active
-- user to as_of_date. Counted from the user-months' day bitmaps (under a
-- quarter of the rows of user-days, and no per-day sort): a user is in a
-- day's window when a bit of the window is set in its month's bitmap or in
-- the bitmap of the days before the month. Incremental: a run recomputes the days from
-- incremental_start_date() on, from the user-months of the two months before.
{{ config(**replace_range_config(from_first_day('date_day'), 'date_day')) }}

{%- set windows = {'dau': 1, 'wau': 7, 'mau': 30} %}

with

int_user_month_usage as (
    select
        user_id,
        activity_month,
        first_active_day,
        active_days_bitmap
    from {{ ref('int_user_month_usage') }}
    where
        active_days > 0
    {% if is_incremental() -%}
        -- A day's windows reach two months back.
        and activity_month >= cast({{ dbt.dateadd('month', -2, incremental_start_month()) }} as date)
    {%- endif %}
),

int_calendar_days as (
    select date_day
    from {{ ref('int_calendar_days') }}
),

user_months as (
    select
        user_id,
        activity_month,
        active_days_bitmap,
        cast({{ dbt.dateadd('month', 1, 'activity_month') }} as date) as next_month,
        cast({{ dbt.dateadd('month', 2, 'activity_month') }} as date) as month_after_next,
        {{ dbt.datediff('activity_month', dbt.dateadd('month', 1, 'activity_month'), 'day') }} as days_in_month,
        {{ dbt.datediff(dbt.dateadd('month', 1, 'activity_month'), dbt.dateadd('month', 2, 'activity_month'), 'day') }}
            as days_in_next_month
    from int_user_month_usage
),

-- A user-month counts toward its own month, and, moved into the look-back
-- bitmap, toward the month after it and the one after that.
window_parts as (
    select
        user_id,
        activity_month as month,
        active_days_bitmap as month_days,
        cast(0 as {{ dbt.type_bigint() }}) as days_before
    from user_months
    union all
    select
        user_id,
        next_month as month,
        cast(0 as {{ dbt.type_bigint() }}) as month_days,
        active_days_bitmap
        * cast(power(2, {{ days_before_month_end_bit() }} - days_in_month) as {{ dbt.type_bigint() }}) as days_before
    from user_months
    where next_month <= {{ as_of_month() }}
    union all
    select
        user_id,
        month_after_next as month,
        cast(0 as {{ dbt.type_bigint() }}) as month_days,
        active_days_bitmap
        * cast(power(2, {{ days_before_month_end_bit() }} - days_in_month - days_in_next_month) as {{ dbt.type_bigint() }})
            as days_before
    from user_months
    -- A window reaches two months back only through a February of 28 days (March 1
    -- back to January 31): other user-months would add bits no mask reads.
    where month_after_next <= {{ as_of_month() }} and days_in_next_month < 29
),

-- One row per user and month, whatever the customers it was active for:
-- each user counts once.
user_windows as (
    select
        user_id,
        month,
        bit_or(month_days) as month_days,
        bit_or(days_before) as days_before
    from window_parts
    {% if is_incremental() -%}
        where month >= {{ incremental_start_month() }}
    {%- endif %}
    group by
        user_id,
        month
),

-- Users per month and day of the month in each window (days past the
-- month's end are never read).
monthly_counts as (
    select
        {% for day in range(1, 32) %}
        {% for name, length in windows.items() %}
        {{ users_in_window('month_days', 'days_before', day, length) }} as {{ name }}_{{ day }},
        {% endfor %}
        {% endfor %}
        month
    from user_windows
    group by month
),

first_active_day as (
    select min(first_active_day) as date_day
    from int_user_month_usage
    {% if is_incremental() -%}
        -- The days already built start at the first active day of all.
        union all
        select min(date_day) as date_day
        from {{ this }}
    {%- endif %}
),

report_days as (
    select
        int_calendar_days.date_day,
        cast({{ dbt.date_trunc('month', 'int_calendar_days.date_day') }} as date) as month,
        extract(day from int_calendar_days.date_day) as day_of_month
    from int_calendar_days
    where
        int_calendar_days.date_day >= (select min(first_active_day.date_day) from first_active_day)
    {% if is_incremental() -%}
        and int_calendar_days.date_day >= {{ incremental_start_date() }}
    {%- endif %}
),

daily_counts as (
    select
        {% for name in windows %}
        coalesce({{ column_of_day('report_days.day_of_month', 'monthly_counts.' ~ name) }}, 0) as {{ name }},
        {% endfor %}
        report_days.date_day
    from report_days
    left join monthly_counts
        on report_days.month = monthly_counts.month
),

final as (
    select
        cast(date_day as date) as date_day,
        cast(dau as {{ dbt.type_bigint() }}) as dau,
        cast(wau as {{ dbt.type_bigint() }}) as wau,
        cast(mau as {{ dbt.type_bigint() }}) as mau,
        {{ safe_ratio('dau', 'mau') }} as stickiness
    from daily_counts
)

select * from final
