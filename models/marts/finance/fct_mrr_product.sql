-- Customer x product MRR per month with its product movement (metrics.md,
-- MRR movements, per product): starts are new, reactivation or cross-sell
-- depending on the customer, stops are churn or product churn; an upsell or
-- downgrade is split into seats, price and plan change (metrics.md, Revenue
-- depth: product change reasons).
with

product_months as (
    select * from {{ ref('int_customer_product_plans_monthly') }}
),

customer_mrr as (
    select * from {{ ref('fct_mrr') }}
),

customer_cohorts as (
    select * from {{ ref('int_customer_cohorts') }}
),

product_mrr_with_previous as (
    {{ mrr_with_previous('product_months', ['customer_id', 'product_id'], ['seats', 'plan_set']) }}
),

with_customer_context as (
    select
        product_mrr_with_previous.customer_id,
        product_mrr_with_previous.product_id,
        product_mrr_with_previous.month,
        product_mrr_with_previous.mrr,
        product_mrr_with_previous.previous_mrr,
        product_mrr_with_previous.mrr_change,
        customer_cohorts.cohort_month as customer_first_paying_month,
        coalesce(product_mrr_with_previous.seats, 0) as seats,
        coalesce(product_mrr_with_previous.previous_seats, 0) as previous_seats,
        coalesce(product_mrr_with_previous.plan_set, '') as plan_set,
        coalesce(product_mrr_with_previous.previous_plan_set, '') as previous_plan_set,
        coalesce(customer_mrr.mrr, 0) as customer_mrr,
        coalesce(customer_mrr.previous_mrr, 0) as customer_previous_mrr
    from product_mrr_with_previous
    left join customer_mrr
        on
            product_mrr_with_previous.customer_id = customer_mrr.customer_id
            and product_mrr_with_previous.month = customer_mrr.month
    left join customer_cohorts
        on product_mrr_with_previous.customer_id = customer_cohorts.customer_id
),

movements as (
    select
        customer_id,
        product_id,
        month,
        mrr,
        previous_mrr,
        mrr_change,
        seats,
        previous_seats,
        plan_set,
        previous_plan_set,
        case
            when previous_mrr = 0 and customer_previous_mrr > 0 then 'cross_sell'
            when previous_mrr = 0 and customer_first_paying_month < month then 'reactivation'
            when previous_mrr = 0 then 'new'
            when mrr = 0 and customer_mrr = 0 then 'churn'
            when mrr = 0 then 'product_churn'
            else {{ paying_change_movement('mrr_change', 'upsell', 'downgrade') }}
        end as movement
    from with_customer_context
),

seat_changes as (
    select
        *,
        case
            when movement not in ('upsell', 'downgrade') then null
            when
                plan_set = previous_plan_set
                and previous_seats > 0
                and seats > 0
                then {{ money_divided('(seats - previous_seats) * previous_mrr', 'previous_seats') }}
            else cast(0 as {{ type_money() }})
        end as seat_change_mrr
    from movements
),

change_reasons as (
    select
        customer_id,
        product_id,
        month,
        mrr,
        previous_mrr,
        mrr_change,
        movement,
        cast(previous_seats as {{ dbt.type_bigint() }}) as previous_seats,
        cast(seats as {{ dbt.type_bigint() }}) as seats,
        seat_change_mrr,
        case
            when movement not in ('upsell', 'downgrade') then null
            when plan_set <> previous_plan_set then cast(0 as {{ type_money() }})
            else cast(mrr_change - seat_change_mrr as {{ type_money() }})
        end as price_change_mrr,
        case
            when movement not in ('upsell', 'downgrade') then null
            when plan_set <> previous_plan_set then mrr_change
            else cast(0 as {{ type_money() }})
        end as plan_change_mrr
    from seat_changes
)

select * from change_reasons
