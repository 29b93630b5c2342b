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

-- Last active day up to each snapshot: the snapshot months and the months
-- with usage in one stream, and a running max over the customer's months
-- (a month's days all precede its snapshot). The range frame takes in the
-- usage row of the snapshot's own month, whatever the order of the two.
customer_month_activity as (
    select
        customer_id,
        month,
        true as is_snapshot_month,
        cast(null as date) as last_active_day
    from int_customer_snapshot_months
    union all
    select
        customer_id,
        month,
        false as is_snapshot_month,
        last_active_day
    from int_customer_calendar_month_usage
),

last_activity as (
    select
        customer_id,
        month,
        is_snapshot_month,
        max(last_active_day) over (
            partition by customer_id
            order by month
            range between unbounded preceding and current row
        ) as last_active_day
    from customer_month_activity
),

final as (
    select
        cast(last_activity.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(last_activity.month as date) as month,
        cast(coalesce(int_customer_snapshot_30d_user_windows.active_users_30d, 0) as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(coalesce(int_customer_snapshot_30d_user_windows.active_users_previous_30d, 0) as {{ dbt.type_bigint() }})
            as active_users_previous_30d,
        cast(last_activity.last_active_day as date) as last_active_day
    from last_activity
    left join int_customer_snapshot_30d_user_windows
        on
            last_activity.customer_id = int_customer_snapshot_30d_user_windows.customer_id
            and last_activity.month = int_customer_snapshot_30d_user_windows.month
    where last_activity.is_snapshot_month
)

select * from final
