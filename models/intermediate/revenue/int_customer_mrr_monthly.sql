-- Customer MRR per month: the counting lines' monthly rates summed, rounded
-- to cents and thresholded. Only months with MRR > 0 are kept: a customer
-- is paying exactly in these months.
with

counting_lines as (
    select * from {{ ref('int_mrr_lines_counting') }}
),

customer_months as (
    select
        customer_id,
        month,
        {{ thresholded_mrr('sum(monthly_rate)') }} as mrr
    from counting_lines
    group by customer_id, month
),

paying_customer_months as (
    select
        customer_id,
        month,
        mrr
    from customer_months
    where mrr > 0
)

select * from paying_customer_months
