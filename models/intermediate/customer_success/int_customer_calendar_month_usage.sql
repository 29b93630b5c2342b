-- Each customer's product use per calendar month, from its user-months
-- (int_user_month_usage): active users and days, events, and the month's
-- last active day. Incremental: a run recomputes the months from
-- incremental_start_month() on.
{{ config(**replace_range_config(from_first_month('month'), 'month')) }}

with

int_user_month_usage as (
    select
        customer_id,
        activity_month,
        events,
        active_days,
        last_active_day,
        active_days_bitmap
    from {{ ref('int_user_month_usage') }}
    {% if is_incremental() -%}
        where activity_month >= {{ incremental_start_month() }}
    {%- endif %}
),

-- A user has one row per customer and month, so counting the active rows
-- counts distinct active users; distinct active days are the days set in
-- any of the users' day bitmaps.
monthly_usage as (
    select
        customer_id,
        activity_month as month,
        sum(case when active_days > 0 then 1 else 0 end) as active_users,
        {{ days_in_bitmaps('active_days_bitmap') }} as active_days,
        sum(events) as events,
        max(last_active_day) as last_active_day
    from int_user_month_usage
    group by
        customer_id,
        activity_month
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(active_days as {{ dbt.type_bigint() }}) as active_days,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(last_active_day as date) as last_active_day
    from monthly_usage
)

select * from final
