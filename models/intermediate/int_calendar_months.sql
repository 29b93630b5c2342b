-- Every calendar month from the earliest month any raw fact touches to the
-- as_of month, with the month's snapshot date; models cut their own range.
with

customers as (
    select created_at from {{ ref('stg_customers') }}
),

subscriptions as (
    select created_at from {{ ref('stg_subscriptions') }}
),

invoice_lines as (
    select period_start_date from {{ ref('stg_invoice_line_items') }}
),

invoices as (
    select issued_at from {{ ref('stg_invoices') }}
),

support_tickets as (
    select opened_at from {{ ref('stg_support_tickets') }}
),

nps_responses as (
    select responded_at from {{ ref('stg_nps_responses') }}
),

usage_events as (
    select occurred_at from {{ ref('stg_usage_events') }}
),

earliest_usage_event as (
    {{ earliest_row('usage_events', 'occurred_at') }}
),

earliest_dates as (
    select min(cast(created_at as date)) as earliest_date from customers
    union all
    select min(cast(created_at as date)) from subscriptions
    union all
    select min(period_start_date) from invoice_lines
    union all
    select min(cast(issued_at as date)) from invoices
    union all
    select min(cast(opened_at as date)) from support_tickets
    union all
    select min(cast(responded_at as date)) from nps_responses
    union all
    select min(cast(occurred_at as date)) from earliest_usage_event
),

first_month as (
    select
        cast({{ dbt.date_trunc('month', 'least(min(earliest_date), ' ~ as_of_date() ~ ')') }} as date)
            as first_month
    from earliest_dates
),

month_offsets as (
    select {{ integer_expression(3) }} as month_offset
    {{ integers(3) }}
),

months as (
    select
        cast({{ dbt.dateadd('month', 'month_offsets.month_offset', 'first_month.first_month') }} as date)
            as month_start
    from month_offsets
    cross join first_month
),

months_to_as_of as (
    select
        month_start,
        -- The snapshot of a month is its last day, or as_of_date inside the as_of month.
        least(
            cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date),
            {{ as_of_date() }}
        ) as snapshot_date
    from months
    where month_start <= {{ as_of_month() }}
)

select * from months_to_as_of
