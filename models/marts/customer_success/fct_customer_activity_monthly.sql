-- Product activity and seat use per customer and month (metrics.md, Engagement),
-- built in int_customer_month_activity_and_seats.
with

int_customer_month_activity_and_seats as (
    select
        customer_id,
        month,
        active_users,
        active_days,
        events,
        seats,
        seat_utilization,
        is_paying,
        is_complete_month
    from {{ ref('int_customer_month_activity_and_seats') }}
)

select * from int_customer_month_activity_and_seats
