-- Customers who stopped paying, per month M (metrics.md, Revenue depth:
-- churn type): some line that counted toward MRR at M-1's snapshot belongs
-- to an invoice that is not draft or void, has a total > 0, is past its due
-- date at M's snapshot and not paid by then. A churn in such a month is
-- involuntary even before the invoice is delinquent: the customer stopped
-- paying, it did not leave. Months without such an invoice have no row.
with

counting_lines as (
    select * from {{ ref('int_mrr_lines_counting') }}
),

invoices as (
    select * from {{ ref('int_invoices_converted') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

-- Only an invoice paid after its due date, or never, can be unpaid past due.
invoices_paid_late_or_never as (
    select
        invoice_id,
        due_date,
        paid_date
    from invoices
    where
        total > 0
        and (paid_date is null or paid_date > due_date)
),

lines_counted_the_month_before as (
    select distinct
        counting_lines.customer_id,
        counting_lines.invoice_id,
        invoices_paid_late_or_never.due_date,
        invoices_paid_late_or_never.paid_date,
        cast({{ dbt.dateadd('month', 1, 'counting_lines.month') }} as date) as month
    from counting_lines
    inner join invoices_paid_late_or_never
        on counting_lines.invoice_id = invoices_paid_late_or_never.invoice_id
),

unpaid_past_due_at_snapshot as (
    select
        lines_counted_the_month_before.customer_id,
        lines_counted_the_month_before.month,
        lines_counted_the_month_before.invoice_id
    from lines_counted_the_month_before
    inner join months
        on lines_counted_the_month_before.month = months.month_start
    where
        lines_counted_the_month_before.due_date < months.snapshot_date
        and (
            lines_counted_the_month_before.paid_date is null
            or lines_counted_the_month_before.paid_date > months.snapshot_date
        )
),

customer_months as (
    select
        customer_id,
        month,
        cast(count(*) as {{ dbt.type_bigint() }}) as unpaid_invoices
    from unpaid_past_due_at_snapshot
    group by customer_id, month
)

select * from customer_months
