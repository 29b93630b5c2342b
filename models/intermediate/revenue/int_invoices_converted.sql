-- One row per invoice with what it takes to state its money in the
-- reporting currency: the FX rate month chosen by `fx_rate_month` and the
-- two US-dollar rates whose quotient converts (kept apart so that each
-- amount is divided once, where it is rounded).
with

invoices as (
    select * from {{ ref('stg_invoices') }}
),

fx_rates as (
    select * from {{ ref('stg_fx_rates') }}
),

{%- set fx_rate_month = setting('fx_rate_month', ['invoice', 'latest']) %}
{%- if fx_rate_month == 'latest' %}

latest_rate_months as (
    -- fx_rate_month = latest: each currency's latest rate at or before the as_of month.
    select
        currency,
        max(rate_month) as rate_month
    from fx_rates
    where rate_month <= {{ as_of_month() }}
    group by currency
),
{%- endif %}

invoices_with_rate_month as (
    select
        invoices.*,
        {%- if fx_rate_month == 'invoice' %}
        cast({{ dbt.date_trunc('month', 'invoices.issued_at') }} as date) as invoice_rate_month,
        cast({{ dbt.date_trunc('month', 'invoices.issued_at') }} as date) as reporting_rate_month
        {%- else %}
        invoice_currency_latest.rate_month as invoice_rate_month,
        reporting_currency_latest.rate_month as reporting_rate_month
        {%- endif %}
    from invoices
    {%- if fx_rate_month == 'latest' %}
    left join latest_rate_months as invoice_currency_latest
        on invoices.currency = invoice_currency_latest.currency
    left join latest_rate_months as reporting_currency_latest
        on reporting_currency_latest.currency = {{ reporting_currency() }}
    {%- endif %}
),

rates_joined as (
    select
        invoices_with_rate_month.*,
        -- US dollars need no rate, and an amount already in the reporting
        -- currency needs none either; any other missing rate stays NULL and
        -- fails the rate columns' not_null tests (validation's fx coverage
        -- rule rejects it before a retain run builds).
        case
            when invoices_with_rate_month.currency = {{ reporting_currency() }} then 1
            when invoices_with_rate_month.currency = 'USD' then 1
            else invoice_rates.usd_per_unit
        end as invoice_usd_per_unit,
        case
            when invoices_with_rate_month.currency = {{ reporting_currency() }} then 1
            when {{ reporting_currency() }} = 'USD' then 1
            else reporting_rates.usd_per_unit
        end as reporting_usd_per_unit
    from invoices_with_rate_month
    left join fx_rates as invoice_rates
        on
            invoices_with_rate_month.currency = invoice_rates.currency
            and invoices_with_rate_month.invoice_rate_month = invoice_rates.rate_month
    left join fx_rates as reporting_rates
        on
            reporting_rates.currency = {{ reporting_currency() }}
            and invoices_with_rate_month.reporting_rate_month = reporting_rates.rate_month
),

converted as (
    select
        invoice_id,
        customer_id,
        subscription_id,
        status,
        currency,
        invoice_rate_month,
        invoice_usd_per_unit,
        reporting_usd_per_unit,
        issued_at,
        due_at,
        paid_at,
        cast(coalesce(due_at, issued_at) as date) as due_date,
        cast(paid_at as date) as paid_date,
        -- In the invoice's currency: only its sign is read (churn type).
        total,
        -- Realized revenue: what was paid, less tax, which is never revenue.
        {{ round_to_rate(divide('(total - tax_amount) * invoice_usd_per_unit',
            'reporting_usd_per_unit')) }} as revenue_reporting
    from rates_joined
)

select * from converted
