-- Customer x product MRR per month, computed like customer MRR (rounded to
-- cents, below the threshold is 0). Usage lines without a plan have no
-- product and count toward customer MRR only.
with

counting_lines as (
    select * from {{ ref('int_mrr_lines_counting') }}
),

customer_product_months as (
    select
        customer_id,
        product_id,
        month,
        {{ thresholded_mrr('monthly_rate') }} as mrr
    from counting_lines
    where product_id is not null
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
