-- Per customer, product and month with counting lines: the product's MRR,
-- computed like customer MRR (the lines summed unrounded, rounded to cents,
-- below the threshold is 0), and the seats and plan set that decide whether a
-- product's MRR change came from seats, price or a change of plan
-- (metrics.md, Revenue depth: product change reasons). Usage lines without a
-- plan have no product and count toward customer MRR only.
-- seats: sign(amount before discount) x |quantity| over the subscription
-- lines counting at the snapshot, so a proration pair nets to the new count.
-- plan_set: the plans (comma separated, in order) whose own MRR, rounded to
-- cents, is > 0 and at least mrr_change_threshold, so that the old plan of a
-- proration pair, or the cent left over from one, is not in it.
with

counting_lines as (
    select * from {{ ref('int_mrr_lines_counting') }}
),

plan_months as (
    select
        customer_id,
        product_id,
        plan_id,
        month,
        sum(monthly_rate) as plan_rate,
        {{ round_to_cents('sum(monthly_rate)') }} as plan_mrr,
        sum(
            case
                when line_type <> 'subscription' or quantity is null then 0
                when amount > 0 then abs(quantity)
                when amount < 0 then -abs(quantity)
                else 0
            end
        ) as seats
    from counting_lines
    where product_id is not null
    group by customer_id, product_id, plan_id, month
),

plans_in_set as (
    select
        customer_id,
        product_id,
        month,
        plan_rate,
        seats,
        case
            when plan_mrr > 0 and plan_mrr >= {{ mrr_change_threshold() }} then plan_id
        end as plan_in_set
    from plan_months
),

product_months as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(month as date) as month,
        {{ thresholded_mrr('cast(sum(plan_rate) as ' ~ type_rate() ~ ')') }} as mrr,
        cast(sum(seats) as {{ dbt.type_bigint() }}) as seats,
        coalesce({{ dbt.listagg('plan_in_set', "','", 'order by plan_in_set') }}, '') as plan_set
    from plans_in_set
    group by customer_id, product_id, month
)

select * from product_months
