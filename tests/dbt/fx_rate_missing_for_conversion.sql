-- A rate that a conversion needs and fx_rates lacks is an error, not a silent
-- zero (raw-contract.md, fx_rates). Lists each missing currency and month.
select
    currency,
    invoice_rate_month,
    count(*) as invoices_without_rate,
    min(invoice_id) as sample_invoice_id
from {{ ref('int_invoices_converted') }}
where invoice_usd_per_unit is null or reporting_usd_per_unit is null
group by currency, invoice_rate_month
