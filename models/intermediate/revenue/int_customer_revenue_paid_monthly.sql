-- Realized revenue per customer and month of payment: paid invoices'
-- total - tax_amount in the reporting currency (any line type), paid before
-- as_of_end (later payments are NULL in staging).
with

invoices as (
    select * from {{ ref('int_invoices_converted') }}
),

paid_revenue as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'paid_at') }} as date) as paid_month,
        sum(revenue_reporting) as revenue
    from invoices
    where status = 'paid' and paid_at is not null
    group by customer_id, cast({{ dbt.date_trunc('month', 'paid_at') }} as date)
)

select * from paid_revenue
