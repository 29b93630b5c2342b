-- Product activity and seat use per customer and month (metrics.md,
-- Engagement): a row for every month the customer is paying or has events.
with

int_customer_calendar_month_usage as (
    select
        customer_id,
        month,
        active_users,
        active_days,
        events
    from {{ ref('int_customer_calendar_month_usage') }}
),

int_customer_mrr_monthly as (
    select
        customer_id,
        month,
        mrr
    from {{ ref('int_customer_mrr_monthly') }}
),

int_customer_seats_monthly as (
    select
        customer_id,
        month,
        seats
    from {{ ref('int_customer_seats_monthly') }}
),

customer_months as (
    select
        customer_id,
        month
    from int_customer_calendar_month_usage
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
        coalesce(int_customer_calendar_month_usage.active_users, 0) as active_users,
        coalesce(int_customer_calendar_month_usage.active_days, 0) as active_days,
        coalesce(int_customer_calendar_month_usage.events, 0) as events,
        coalesce(int_customer_seats_monthly.seats, 0) as seats,
        coalesce(int_customer_mrr_monthly.mrr, 0) as mrr
    from customer_months
    left join int_customer_calendar_month_usage
        on
            customer_months.customer_id = int_customer_calendar_month_usage.customer_id
            and customer_months.month = int_customer_calendar_month_usage.month
    left join int_customer_seats_monthly
        on
            customer_months.customer_id = int_customer_seats_monthly.customer_id
            and customer_months.month = int_customer_seats_monthly.month
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
        mrr > 0 as is_paying,
        {{ is_complete_month('month') }} as is_complete_month
    from joined
)

select * from final
