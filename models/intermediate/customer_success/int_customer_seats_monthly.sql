-- Seats per customer at each month's snapshot (metrics.md, Engagement):
-- sign(amount) x |quantity| over the subscription lines counting then, so a
-- proration pair nets to the new seat count and a zero-amount line (a
-- trial) adds none. Months without a counting subscription line have no row.
with

int_mrr_lines_counting as (
    select
        customer_id,
        month,
        line_type,
        amount,
        quantity
    from {{ ref('int_mrr_lines_counting') }}
),

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

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(seats as {{ dbt.type_bigint() }}) as seats
    from monthly_seats
)

select * from final
