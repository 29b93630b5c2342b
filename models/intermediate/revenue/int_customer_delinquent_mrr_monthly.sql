-- Delinquent MRR per customer and month (metrics.md, Revenue depth: churn
-- type and delinquent MRR): the monthly rates of the recurring lines that
-- MRR stops counting for non-payment at the month's snapshot (inside their
-- period, neither draft nor void, unpaid and more than mrr_delinquency_days
-- past due), summed, rounded to cents and thresholded like MRR. Only months
-- with delinquent MRR > 0 have a row.
with

lines as (
    select * from {{ ref('int_invoice_lines_normalised') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

-- Only a line paid late or never can be delinquent at any snapshot: joining
-- just those to their months keeps this a small join.
lines_paid_late_or_never as (
    select
        customer_id,
        period_start_date,
        period_end_date,
        due_date,
        paid_date,
        monthly_rate,
        cast({{ dbt.dateadd('day', var('mrr_delinquency_days'), 'due_date') }} as date) as delinquent_after_date
    from lines
    where
        invoice_status not in ('draft', 'void')
        and (paid_date is null or paid_date > due_date)
),

delinquent_lines as (
    select
        lines_paid_late_or_never.customer_id,
        months.month_start as month,
        lines_paid_late_or_never.monthly_rate
    from lines_paid_late_or_never
    inner join months
        on
            lines_paid_late_or_never.period_start_date <= months.snapshot_date
            and lines_paid_late_or_never.period_end_date > months.snapshot_date
            and lines_paid_late_or_never.delinquent_after_date < months.snapshot_date
    where
        lines_paid_late_or_never.paid_date is null
        or lines_paid_late_or_never.paid_date > months.snapshot_date
),

customer_months as (
    select
        customer_id,
        month,
        {{ thresholded_mrr('sum(monthly_rate)') }} as delinquent_mrr
    from delinquent_lines
    group by customer_id, month
),

delinquent_customer_months as (
    select
        customer_id,
        month,
        delinquent_mrr
    from customer_months
    where delinquent_mrr > 0
)

select * from delinquent_customer_months
