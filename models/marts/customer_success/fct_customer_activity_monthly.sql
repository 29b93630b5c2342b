-- Product activity and seat use per customer and month (metrics.md,
-- Engagement): a row for every month the customer is paying or has events.
with

int_user_activity_daily as (
    select
        customer_id,
        user_id,
        date_day,
        activity_month,
        events,
        is_active
    from {{ ref('int_user_activity_daily') }}
),

int_customer_mrr_monthly as (
    select
        customer_id,
        month,
        mrr
    from {{ ref('int_customer_mrr_monthly') }}
),

int_mrr_lines_counting as (
    select
        customer_id,
        month,
        line_type,
        amount,
        quantity
    from {{ ref('int_mrr_lines_counting') }}
),

monthly_activity as (
    select
        customer_id,
        activity_month as month,
        count(distinct case when is_active then user_id end) as active_users,
        count(distinct case when is_active then date_day end) as active_days,
        sum(events) as events
    from int_user_activity_daily
    group by
        customer_id,
        activity_month
),

-- Seats at the snapshot: sign(amount) x |quantity| over the subscription
-- lines counting then, so a proration pair nets to the new seat count and a
-- zero-amount line (a trial) adds none.
monthly_seats as (
    select
        customer_id,
        month,
        sum(
            case
                when amount > 0 then abs(quantity)
                when amount < 0 then -abs(quantity)
                else 0
            end
        ) as seats
    from int_mrr_lines_counting
    where line_type = 'subscription'
    group by
        customer_id,
        month
),

customer_months as (
    select
        customer_id,
        month
    from monthly_activity
    union
    select
        customer_id,
        month
    from int_customer_mrr_monthly
),

joined as (
    select
        customer_months.customer_id,
        customer_months.month,
        coalesce(monthly_activity.active_users, 0) as active_users,
        coalesce(monthly_activity.active_days, 0) as active_days,
        coalesce(monthly_activity.events, 0) as events,
        coalesce(monthly_seats.seats, 0) as seats,
        coalesce(int_customer_mrr_monthly.mrr, 0) as mrr
    from customer_months
    left join monthly_activity
        on
            customer_months.customer_id = monthly_activity.customer_id
            and customer_months.month = monthly_activity.month
    left join monthly_seats
        on
            customer_months.customer_id = monthly_seats.customer_id
            and customer_months.month = monthly_seats.month
    left join int_customer_mrr_monthly
        on
            customer_months.customer_id = int_customer_mrr_monthly.customer_id
            and customer_months.month = int_customer_mrr_monthly.month
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(active_days as {{ dbt.type_bigint() }}) as active_days,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(seats as {{ dbt.type_bigint() }}) as seats,
        -- NULL when the customer has no positive seat count.
        case when seats > 0 then {{ safe_ratio('active_users', 'seats') }} end as seat_utilization,
        mrr > 0 as is_paying
    from joined
)

select * from final
