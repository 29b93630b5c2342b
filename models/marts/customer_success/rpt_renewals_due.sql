-- Subscriptions due for renewal in the 90 days after as_of_date (metrics.md,
-- Revenue depth: Renewals due), soonest first: the list CS renews from.
with

-- The subscription lines counting toward MRR at the as_of snapshot
-- (as_of_date), so as_of_date < period_end for each. Usage lines never
-- renew a subscription, whatever mrr_include_usage says.
int_mrr_lines_counting as (
    select
        line_item_id,
        subscription_id,
        monthly_rate
    from {{ ref('int_mrr_lines_counting') }}
    where
        month = {{ as_of_month() }}
        and line_type = 'subscription'
),

int_invoice_lines_normalised as (
    select
        line_item_id,
        period_end_date,
        interval_months
    from {{ ref('int_invoice_lines_normalised') }}
),

stg_subscriptions as (
    select
        subscription_id,
        customer_id,
        canceled_at,
        ended_at
    from {{ ref('stg_subscriptions') }}
),

fct_customer_health as (
    select
        customer_id,
        health_score,
        risk_band
    from {{ ref('fct_customer_health') }}
    where month = {{ as_of_month() }}
),

-- A line belongs to the subscription of its own subscription_id.
subscription_lines as (
    select
        int_mrr_lines_counting.subscription_id,
        int_mrr_lines_counting.monthly_rate,
        int_invoice_lines_normalised.period_end_date,
        int_invoice_lines_normalised.interval_months
    from int_mrr_lines_counting
    inner join int_invoice_lines_normalised
        on int_mrr_lines_counting.line_item_id = int_invoice_lines_normalised.line_item_id
),

-- The renewal is the end of the last counting line (a proration pair may
-- end later than the line it changes), on the longest term among them.
subscription_renewals as (
    select
        subscription_id,
        max(period_end_date) as renewal_date,
        max(interval_months) as interval_months,
        {{ round_to_cents('sum(monthly_rate)') }} as renewal_mrr
    from subscription_lines
    group by subscription_id
),

-- Every counting line ends within 90 days, the subscription has not ended,
-- and what renews is MRR (trials and free plans renew nothing).
renewals_due as (
    select
        subscription_renewals.subscription_id,
        stg_subscriptions.customer_id,
        subscription_renewals.renewal_date,
        subscription_renewals.interval_months,
        subscription_renewals.renewal_mrr,
        stg_subscriptions.canceled_at is not null as cancel_requested
    from subscription_renewals
    inner join stg_subscriptions
        on subscription_renewals.subscription_id = stg_subscriptions.subscription_id
    where
        subscription_renewals.renewal_date <= cast({{ dbt.dateadd('day', 90, as_of_date()) }} as date)
        and stg_subscriptions.ended_at is null
        and subscription_renewals.renewal_mrr > 0
        and subscription_renewals.renewal_mrr >= {{ mrr_change_threshold() }}
),

with_health as (
    select
        renewals_due.*,
        fct_customer_health.health_score,
        fct_customer_health.risk_band
    from renewals_due
    left join fct_customer_health
        on renewals_due.customer_id = fct_customer_health.customer_id
),

ranked as (
    select
        *,
        row_number() over (
            order by renewal_date asc, renewal_mrr desc, subscription_id asc
        ) as priority_rank
    from with_health
),

final as (
    select
        cast(priority_rank as {{ dbt.type_bigint() }}) as priority_rank,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(renewal_date as date) as renewal_date,
        cast(interval_months as {{ dbt.type_bigint() }}) as interval_months,
        cast(renewal_mrr as {{ type_money() }}) as renewal_mrr,
        cancel_requested,
        cast(health_score as {{ type_double() }}) as health_score,
        cast(risk_band as {{ dbt.type_string() }}) as risk_band
    from ranked
)

select * from final
