-- Distinct active users of each customer in the 30 days to each month's
-- snapshot date and in the 30 days before those (metrics.md, Customer
-- health), for every month up to the as_of month in which such a window
-- holds an active user-day, from the user-months (int_user_month_usage).
-- Incremental: a run recomputes the months from incremental_start_month() on.
{{ config(**replace_range_config(from_first_month('month'), 'month')) }}

with

-- Both windows of month M lie in M-2..M (60 days back from a snapshot on or
-- after M's first day never reach M-3), so an incremental run reads the
-- user-months from two months before the first recomputed one.
int_user_month_usage as (
    select
        customer_id,
        user_id,
        activity_month,
        first_active_day,
        last_active_day
    from {{ ref('int_user_month_usage') }}
    where
        active_days > 0
    {% if is_incremental() -%}
        and activity_month >= {{ dbt.dateadd('month', -2, incremental_start_month()) }}
    {%- endif %}
),

-- Windows of 30 days: the 30 days to the snapshot (window_start ..
-- snapshot_date) and the 30 before those.
int_calendar_months as (
    select
        month_start,
        snapshot_date,
        cast({{ dbt.dateadd('day', -29, 'snapshot_date') }} as date) as window_start,
        cast({{ dbt.dateadd('day', -59, 'snapshot_date') }} as date) as previous_window_start,
        cast({{ dbt.dateadd('day', -30, 'snapshot_date') }} as date) as previous_window_end
    from {{ ref('int_calendar_months') }}
),

-- The user's last active day before this month (NULL: none read). A user
-- active in two months of one window is counted in the first of them only:
-- a month counts the user unless an earlier month already met the window.
active_user_months as (
    select
        customer_id,
        user_id,
        activity_month,
        first_active_day,
        last_active_day,
        lag(last_active_day) over (
            partition by customer_id, user_id
            order by activity_month
        ) as previous_active_day
    from int_user_month_usage
),

-- Each user-month is offered to its own month and the next two (an
-- equi-join, not a range join over every month).
month_offsets as (
    select 0 as month_offset
    union all
    select 1 as month_offset
    union all
    select 2 as month_offset
),

active_user_months_by_month as (
    select
        active_user_months.customer_id,
        active_user_months.first_active_day,
        active_user_months.last_active_day,
        active_user_months.previous_active_day,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.month_offset', 'active_user_months.activity_month') }}
            as date
        ) as month
    from active_user_months
    cross join month_offsets
),

-- A 30-day window meets a calendar month (28 to 31 days) in a prefix, a
-- suffix or the whole month, never strictly inside it, so the user was
-- active in window and month exactly when the month's active days [first,
-- last] overlap the window.
window_bounds as (
    select
        active_user_months_by_month.customer_id,
        active_user_months_by_month.month,
        int_calendar_months.snapshot_date,
        active_user_months_by_month.first_active_day,
        active_user_months_by_month.last_active_day,
        active_user_months_by_month.previous_active_day,
        int_calendar_months.window_start,
        int_calendar_months.previous_window_start,
        int_calendar_months.previous_window_end
    from active_user_months_by_month
    -- The calendar ends with the as_of month: later months are not evaluated.
    inner join int_calendar_months
        on active_user_months_by_month.month = int_calendar_months.month_start
    {% if is_incremental() -%}
        where active_user_months_by_month.month >= {{ incremental_start_month() }}
    {%- endif %}
),

active_users_windows as (
    select
        customer_id,
        month,
        snapshot_date,
        sum(
            case
                when
                    first_active_day <= snapshot_date
                    and last_active_day >= window_start
                    and coalesce(previous_active_day < window_start, true)
                    then 1
                else 0
            end
        ) as active_users_30d,
        sum(
            case
                when
                    first_active_day <= previous_window_end
                    and last_active_day >= previous_window_start
                    and coalesce(previous_active_day < previous_window_start, true)
                    then 1
                else 0
            end
        ) as active_users_previous_30d
    from window_bounds
    group by
        customer_id,
        month,
        snapshot_date
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(snapshot_date as date) as snapshot_date,
        cast(active_users_30d as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(active_users_previous_30d as {{ dbt.type_bigint() }}) as active_users_previous_30d
    from active_users_windows
)

select * from final
