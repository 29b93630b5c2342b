-- A customer's active users at the snapshot of every evaluated month
-- (int_customer_snapshot_months): distinct active users in the 30 days to
-- the snapshot date and in the 30 days before those, and the last day any
-- user was active (metrics.md, Customer health), from the incremental
-- monthly usage models.
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        snapshot_date
    from {{ ref('int_customer_snapshot_months') }}
),

int_customer_snapshot_30d_user_windows as (
    select
        customer_id,
        month,
        active_users_30d,
        active_users_previous_30d
    from {{ ref('int_customer_snapshot_30d_user_windows') }}
),

int_customer_calendar_month_usage as (
    select
        customer_id,
        month,
        last_active_day
    from {{ ref('int_customer_calendar_month_usage') }}
),

-- Last active day up to each snapshot: the latest per month, carried forward
-- over the customer's later months (a month's days all precede its snapshot).
customer_months as (
    select
        customer_id,
        month
    from int_customer_snapshot_months
    union
    select
        customer_id,
        month
    from int_customer_calendar_month_usage
),

last_activity as (
    select
        customer_months.customer_id,
        customer_months.month,
        max(int_customer_calendar_month_usage.last_active_day) over (
            partition by customer_months.customer_id
            order by customer_months.month
            rows between unbounded preceding and current row
        ) as last_active_day
    from customer_months
    left join int_customer_calendar_month_usage
        on
            customer_months.customer_id = int_customer_calendar_month_usage.customer_id
            and customer_months.month = int_customer_calendar_month_usage.month
),

final as (
    select
        cast(int_customer_snapshot_months.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(int_customer_snapshot_months.month as date) as month,
        cast(coalesce(int_customer_snapshot_30d_user_windows.active_users_30d, 0) as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(coalesce(int_customer_snapshot_30d_user_windows.active_users_previous_30d, 0) as {{ dbt.type_bigint() }})
            as active_users_previous_30d,
        cast(last_activity.last_active_day as date) as last_active_day
    from int_customer_snapshot_months
    left join int_customer_snapshot_30d_user_windows
        on
            int_customer_snapshot_months.customer_id = int_customer_snapshot_30d_user_windows.customer_id
            and int_customer_snapshot_months.month = int_customer_snapshot_30d_user_windows.month
    left join last_activity
        on
            int_customer_snapshot_months.customer_id = last_activity.customer_id
            and int_customer_snapshot_months.month = last_activity.month
)

select * from final
