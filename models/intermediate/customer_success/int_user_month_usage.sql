-- The user-days summed to customer x user x calendar month: the monthly
-- usage and the 30-day windows at each snapshot read these rows (about a
-- quarter of the user-days) instead of the user-days. A month keeps its
-- first and last active day, which decide the 30-day windows exactly, and a
-- bitmap of its active days, whose union over a customer's users gives the
-- customer's distinct active days. Incremental: a run recomputes the months
-- from incremental_start_month() on.
{{ config(**replace_range_config(from_first_month('activity_month'), 'activity_month')) }}

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

-- A user-day is one row, so counting rows counts distinct days.
user_months as (
    select
        customer_id,
        user_id,
        activity_month,
        sum(events) as events,
        count(case when is_active then 1 end) as active_days,
        min(case when is_active then date_day end) as first_active_day,
        max(case when is_active then date_day end) as last_active_day,
        coalesce(bit_or(case when is_active then {{ day_of_month_bit('date_day') }} end), 0) as active_days_bitmap
    from int_user_day_usage
    group by
        customer_id,
        user_id,
        activity_month
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(activity_month as date) as activity_month,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(active_days as {{ dbt.type_bigint() }}) as active_days,
        cast(first_active_day as date) as first_active_day,
        cast(last_active_day as date) as last_active_day,
        cast(active_days_bitmap as {{ dbt.type_bigint() }}) as active_days_bitmap
    from user_months
)

select * from final
