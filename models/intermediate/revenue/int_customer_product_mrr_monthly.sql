-- Customer x product MRR per month, computed like customer MRR (rounded to
-- cents, below the threshold is 0), from the product's counting lines summed
-- unrounded in int_customer_product_plans_monthly. Usage lines without a
-- plan have no product and count toward customer MRR only.
with

product_months as (
    select * from {{ ref('int_customer_product_plans_monthly') }}
),

customer_product_months as (
    select
        customer_id,
        product_id,
        month,
        {{ thresholded_mrr('monthly_rate') }} as mrr
    from product_months
    group by customer_id, product_id, month
),

paying_customer_product_months as (
    select
        customer_id,
        product_id,
        month,
        mrr
    from customer_product_months
    where mrr > 0
)

select * from paying_customer_product_months
