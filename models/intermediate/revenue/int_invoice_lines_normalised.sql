-- One row per recurring invoice line (subscription lines, and usage lines
-- when mrr_include_usage) with its full-period monthly rate in the reporting
-- currency (metrics.md, MRR). Lines of invoices that do not exist at
-- as_of_end are already gone (staging), and so are their lines.
with

invoice_lines as (
    select * from {{ ref('stg_invoice_line_items') }}
),

invoices as (
    select * from {{ ref('int_invoices_converted') }}
),

plans as (
    select * from {{ ref('stg_plans') }}
),

recurring_lines as (
    select
        invoice_lines.line_item_id,
        invoice_lines.invoice_id,
        invoices.customer_id,
        invoice_lines.subscription_id,
        invoice_lines.plan_id,
        plans.product_id,
        invoice_lines.line_type,
        invoice_lines.is_proration,
        invoice_lines.quantity,
        invoice_lines.amount,
        invoice_lines.period_start_date,
        invoice_lines.period_end_date,
        invoices.status as invoice_status,
        invoices.due_date,
        invoices.paid_date,
        invoices.invoice_usd_per_unit,
        invoices.reporting_usd_per_unit,
        -- Tax is never revenue; discounts reduce it.
        invoice_lines.amount - invoice_lines.discount_amount as net_amount,
        -- A usage line without a plan is billed monthly.
        coalesce(
            plans.billing_interval_count * case plans.billing_interval when 'year' then 12 else 1 end,
            1
        ) as interval_months
    from invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join plans
        on invoice_lines.plan_id = plans.plan_id
    where
        invoice_lines.line_type = 'subscription'
    {%- if var('mrr_include_usage') %}
        or invoice_lines.line_type = 'usage'
        {%- endif %}
),

cycle_bounds as (
    select
        recurring_lines.*,
        -- Month arithmetic clamps to the month's last day (Jan 31 + 1 month = Feb 29 in 2024).
        cast({{ dbt.dateadd('month', 'interval_months', 'period_start_date') }} as date) as whole_period_end,
        cast({{ dbt.dateadd('month', '-1 * interval_months', 'period_end_date') }} as date) as cycle_start_date
    from recurring_lines
),

classified as (
    select
        cycle_bounds.*,
        (
            cycle_bounds.whole_period_end = cycle_bounds.period_end_date
            or cycle_bounds.cycle_start_date = cycle_bounds.period_start_date
        ) as is_whole_period,
        {{ dbt.datediff('cycle_start_date', 'period_end_date', 'day') }} as cycle_days,
        {{ dbt.datediff('period_start_date', 'period_end_date', 'day') }} as line_days
    from cycle_bounds
),

monthly_rates as (
    select
        line_item_id,
        invoice_id,
        customer_id,
        subscription_id,
        plan_id,
        product_id,
        line_type,
        is_proration,
        quantity,
        amount,
        net_amount,
        period_start_date,
        period_end_date,
        invoice_status,
        due_date,
        paid_date,
        interval_months,
        is_whole_period,
        cycle_days,
        line_days,
        -- One division per line, rounded to 8 decimals at once: a DOUBLE
        -- quotient summed unrounded would decide thresholds differently.
        case
            when is_whole_period
                then {{ round_to_rate(divide('net_amount * invoice_usd_per_unit',
                    'reporting_usd_per_unit * interval_months')) }}
            else {{ round_to_rate(divide('net_amount * invoice_usd_per_unit * cycle_days',
                'reporting_usd_per_unit * interval_months * line_days')) }}
        end as monthly_rate
    from classified
)

select * from monthly_rates
