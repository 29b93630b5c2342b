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

-- Every month in which the customer has events or mrr: the two joined in
-- full, then the seats of those months.
usage_and_mrr as (
    select
        coalesce(int_customer_calendar_month_usage.customer_id, int_customer_mrr_monthly.customer_id)
            as customer_id,
        coalesce(int_customer_calendar_month_usage.month, int_customer_mrr_monthly.month) as month,
        coalesce(int_customer_calendar_month_usage.active_users, 0) as active_users,
        coalesce(int_customer_calendar_month_usage.active_days, 0) as active_days,
        coalesce(int_customer_calendar_month_usage.events, 0) as events,
        coalesce(int_customer_mrr_monthly.mrr, 0) as mrr
    from int_customer_calendar_month_usage
    full outer join int_customer_mrr_monthly
        on
            int_customer_calendar_month_usage.customer_id = int_customer_mrr_monthly.customer_id
            and int_customer_calendar_month_usage.month = int_customer_mrr_monthly.month
),

joined as (
    select
        usage_and_mrr.customer_id,
        usage_and_mrr.month,
        usage_and_mrr.active_users,
        usage_and_mrr.active_days,
        usage_and_mrr.events,
        usage_and_mrr.mrr,
        coalesce(int_customer_seats_monthly.seats, 0) as seats
    from usage_and_mrr
    left join int_customer_seats_monthly
        on
            usage_and_mrr.customer_id = int_customer_seats_monthly.customer_id
            and usage_and_mrr.month = int_customer_seats_monthly.month
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
