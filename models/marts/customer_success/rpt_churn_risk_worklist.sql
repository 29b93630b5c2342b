-- Paying customers in band at_risk or critical at the as_of month, most MRR
-- at risk first: the list CS works through.
with

fct_customer_health as (
    select
        customer_id,
        month,
        mrr,
        health_score,
        risk_band,
        risk_signals,
        days_since_last_activity,
        latest_nps_category,
        max_days_overdue
    from {{ ref('fct_customer_health') }}
),

at_risk_now as (
    select *
    from fct_customer_health
    where
        month = {{ as_of_month() }}
        and risk_band in ('at_risk', 'critical')
),

ranked as (
    select
        *,
        row_number() over (order by mrr desc, customer_id asc) as priority_rank
    from at_risk_now
),

final as (
    select
        cast(priority_rank as {{ dbt.type_bigint() }}) as priority_rank,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(mrr as {{ type_money() }}) as mrr_at_risk,
        cast(health_score as {{ type_double() }}) as health_score,
        cast(risk_band as {{ dbt.type_string() }}) as risk_band,
        cast(risk_signals as {{ dbt.type_string() }}) as risk_signals,
        cast(days_since_last_activity as {{ dbt.type_bigint() }}) as days_since_last_activity,
        cast(latest_nps_category as {{ dbt.type_string() }}) as latest_nps_category,
        cast(max_days_overdue as {{ dbt.type_bigint() }}) as max_days_overdue
    from ranked
)

select * from final
