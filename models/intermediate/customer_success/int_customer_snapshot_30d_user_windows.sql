-- Distinct active users of each customer in the 30 days to each month's
-- snapshot date and in the 30 days before those (metrics.md, Customer
-- health), for every month up to the as_of month in which such a window
-- holds an active user-day. Incremental: a run recomputes the months from
-- incremental_start_month() on.
{{ config(**replace_range_config(from_first_month('month'), 'month')) }}

with

int_user_day_usage as (
    select
        customer_id,
        user_id,
        date_day,
        activity_month
    from {{ ref('int_user_day_usage') }}
    where
        is_active
    {% if is_incremental() -%}
        and activity_month >= {{ dbt.dateadd('month', -2, incremental_start_month()) }}
    {%- endif %}
),

int_calendar_months as (
    select
        month_start,
        snapshot_date
    from {{ ref('int_calendar_months') }}
),

-- A 60-day window ending at a snapshot starts at most two months earlier, so
-- each active user-day is offered to its own month and the next two (an
-- equi-join, not a range join over every month).
month_offsets as (
    select 0 as month_offset
    union all
    select 1 as month_offset
    union all
    select 2 as month_offset
),

active_user_days_by_month as (
    select
        int_user_day_usage.customer_id,
        int_user_day_usage.user_id,
        int_user_day_usage.date_day,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.month_offset', 'int_user_day_usage.activity_month') }}
            as date
        ) as month
    from int_user_day_usage
    cross join month_offsets
),

active_users_windows as (
    select
        active_user_days_by_month.customer_id,
        active_user_days_by_month.month,
        int_calendar_months.snapshot_date,
        count(
            distinct case
                when {{ in_last_days('active_user_days_by_month.date_day',
                    'int_calendar_months.snapshot_date', 30) }}
                    then active_user_days_by_month.user_id
            end
        ) as active_users_30d,
        count(
            distinct case
                when {{ in_last_days('active_user_days_by_month.date_day',
                    dbt.dateadd('day', -30, 'int_calendar_months.snapshot_date'), 30) }}
                    then active_user_days_by_month.user_id
            end
        ) as active_users_previous_30d
    from active_user_days_by_month
    -- The calendar ends with the as_of month: later months are not evaluated.
    inner join int_calendar_months
        on active_user_days_by_month.month = int_calendar_months.month_start
    {% if is_incremental() -%}
        where active_user_days_by_month.month >= {{ incremental_start_month() }}
    {%- endif %}
    group by
        active_user_days_by_month.customer_id,
        active_user_days_by_month.month,
        int_calendar_months.snapshot_date
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
