-- One row per recurring line and month in which it counts toward MRR at
-- the month's snapshot (metrics.md, MRR): inside its service period, on an
-- invoice that is neither draft nor void, and paid by the snapshot or not
-- more than mrr_delinquency_days past due. Only the months each line spans
-- are joined: lines x months, never customers x days.
with

lines as (
    select * from {{ ref('int_invoice_lines_normalised') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

lines_in_their_months as (
    select
        lines.*,
        months.month_start,
        months.snapshot_date
    from lines
    inner join months
        on
            lines.period_start_date <= months.snapshot_date
            and lines.period_end_date > months.snapshot_date
),

counting_lines as (
    select
        customer_id,
        month_start as month,
        snapshot_date,
        line_item_id,
        invoice_id,
        subscription_id,
        plan_id,
        product_id,
        line_type,
        is_proration,
        quantity,
        amount,
        monthly_rate
    from lines_in_their_months
    where
        invoice_status not in ('draft', 'void')
        and (
            paid_date <= snapshot_date
            or snapshot_date <= cast({{ dbt.dateadd('day', var('mrr_delinquency_days'), 'due_date') }} as date)
        )
)

select * from counting_lines
