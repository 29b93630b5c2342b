-- Customer MRR per month with its movement (metrics.md, MRR movements):
-- every month the customer pays, plus the month its MRR stops (churn).
with

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

customer_mrr_with_previous as (
    {{ mrr_with_previous('customer_mrr', ['customer_id']) }}
),

movements as (
    select
        customer_id,
        month,
        mrr,
        previous_mrr,
        mrr_change,
        case
            when previous_mrr = 0 and month = first_paying_month then 'new'
            when previous_mrr = 0 then 'reactivation'
            when mrr = 0 then 'churn'
            else {{ paying_change_movement('mrr_change', 'expansion', 'contraction') }}
        end as movement,
        {{ is_complete_month('month') }} as is_complete_month
    from customer_mrr_with_previous
)

select * from movements
