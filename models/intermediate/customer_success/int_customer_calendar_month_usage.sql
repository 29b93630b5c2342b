-- Each customer's product use per calendar month, from the user-days once:
-- active users and days, events, and the month's last active day.
-- Incremental: a run recomputes the months from incremental_start_month() on.
{{ config(**replace_range_config(from_first_month('month'), 'month')) }}

with

int_user_day_usage as (
    select
        customer_id,
        user_id,
        date_day,
        activity_month,
        events,
        is_active
    from {{ ref('int_user_day_usage') }}
    {% if is_incremental() -%}
        where activity_month >= {{ incremental_start_month() }}
    {%- endif %}
),

monthly_usage as (
    select
        customer_id,
        activity_month as month,
        count(distinct case when is_active then user_id end) as active_users,
        count(distinct case when is_active then date_day end) as active_days,
        sum(events) as events,
        max(case when is_active then date_day end) as last_active_day
    from int_user_day_usage
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
