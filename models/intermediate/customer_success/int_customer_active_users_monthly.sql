-- A customer's active users at the snapshot of every evaluated month
-- (int_customer_snapshot_months): distinct active users in the 30 days to
-- the snapshot date and in the 30 days before those, and the last day any
-- user was active (metrics.md, Customer health).
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        snapshot_date
    from {{ ref('int_customer_snapshot_months') }}
),

int_user_activity_daily as (
    select
        customer_id,
        user_id,
        date_day,
        activity_month
    from {{ ref('int_user_activity_daily') }}
    where is_active
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
        int_user_activity_daily.customer_id,
        int_user_activity_daily.user_id,
        int_user_activity_daily.date_day,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.month_offset', 'int_user_activity_daily.activity_month') }}
            as date
        ) as month
    from int_user_activity_daily
    cross join month_offsets
),

active_users_windows as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        count(
            distinct case
                when {{ in_last_days('active_user_days_by_month.date_day',
                    'int_customer_snapshot_months.snapshot_date', 30) }}
                    then active_user_days_by_month.user_id
            end
        ) as active_users_30d,
        count(
            distinct case
                when {{ in_last_days('active_user_days_by_month.date_day',
                    dbt.dateadd('day', -30, 'int_customer_snapshot_months.snapshot_date'), 30) }}
                    then active_user_days_by_month.user_id
            end
        ) as active_users_previous_30d
    from int_customer_snapshot_months
    inner join active_user_days_by_month
        on
            int_customer_snapshot_months.customer_id = active_user_days_by_month.customer_id
            and int_customer_snapshot_months.month = active_user_days_by_month.month
    group by
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month
),

-- Last active day up to each snapshot: the latest per month, carried forward
-- over the customer's later months (a month's days all precede its snapshot).
last_active_day_per_month as (
    select
        customer_id,
        activity_month as month,
        max(date_day) as last_active_day
    from int_user_activity_daily
    group by
        customer_id,
        activity_month
),

customer_months as (
    select
        customer_id,
        month
    from int_customer_snapshot_months
    union
    select
        customer_id,
        month
    from last_active_day_per_month
),

last_activity as (
    select
        customer_months.customer_id,
        customer_months.month,
        max(last_active_day_per_month.last_active_day) over (
            partition by customer_months.customer_id
            order by customer_months.month
            rows between unbounded preceding and current row
        ) as last_active_day
    from customer_months
    left join last_active_day_per_month
        on
            customer_months.customer_id = last_active_day_per_month.customer_id
            and customer_months.month = last_active_day_per_month.month
),

final as (
    select
        cast(int_customer_snapshot_months.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(int_customer_snapshot_months.month as date) as month,
        cast(coalesce(active_users_windows.active_users_30d, 0) as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(coalesce(active_users_windows.active_users_previous_30d, 0) as {{ dbt.type_bigint() }})
            as active_users_previous_30d,
        cast(last_activity.last_active_day as date) as last_active_day
    from int_customer_snapshot_months
    left join active_users_windows
        on
            int_customer_snapshot_months.customer_id = active_users_windows.customer_id
            and int_customer_snapshot_months.month = active_users_windows.month
    left join last_activity
        on
            int_customer_snapshot_months.customer_id = last_activity.customer_id
            and int_customer_snapshot_months.month = last_activity.month
)

select * from final
