-- Customer x product MRR per month with its product movement (metrics.md,
-- MRR movements, per product): starts are new, reactivation or cross-sell
-- depending on the customer, stops are churn or product churn.
with

customer_product_mrr as (
    select * from {{ ref('int_customer_product_mrr_monthly') }}
),

customer_mrr as (
    select * from {{ ref('fct_mrr') }}
),

customer_cohorts as (
    select * from {{ ref('int_customer_cohorts') }}
),

product_mrr_with_previous as (
    {{ mrr_with_previous('customer_product_mrr', ['customer_id', 'product_id']) }}
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
        case
            when previous_mrr = 0 and customer_previous_mrr > 0 then 'cross_sell'
            when previous_mrr = 0 and customer_first_paying_month < month then 'reactivation'
            when previous_mrr = 0 then 'new'
            when mrr = 0 and customer_mrr = 0 then 'churn'
            when mrr = 0 then 'product_churn'
            else {{ paying_change_movement('mrr_change', 'upsell', 'downgrade') }}
        end as movement
    from with_customer_context
)

select * from movements
