-- Backtest of the health score: per month M and risk band, how many of the
-- band's customers churn (a `churn` movement in fct_mrr) in M+1..M+3. Only
-- months with M+3 <= the as_of month are evaluable.
with

fct_customer_health as (
    select
        customer_id,
        month,
        risk_band
    from {{ ref('fct_customer_health') }}
),

fct_mrr as (
    select
        customer_id,
        month,
        movement
    from {{ ref('fct_mrr') }}
),

evaluable_health as (
    select
        customer_id,
        month,
        risk_band
    from fct_customer_health
    where {{ dbt.dateadd('month', 3, 'month') }} <= {{ as_of_month() }}
),

churn_within_3_months as (
    select distinct
        evaluable_health.customer_id,
        evaluable_health.month
    from evaluable_health
    inner join fct_mrr
        on
            evaluable_health.customer_id = fct_mrr.customer_id
            and fct_mrr.movement = 'churn'
            and evaluable_health.month < fct_mrr.month
            and {{ dbt.dateadd('month', 3, 'evaluable_health.month') }} >= fct_mrr.month
),

band_counts as (
    select
        evaluable_health.month,
        evaluable_health.risk_band,
        count(*) as customers,
        count(churn_within_3_months.customer_id) as churned_within_3_months
    from evaluable_health
    left join churn_within_3_months
        on
            evaluable_health.customer_id = churn_within_3_months.customer_id
            and evaluable_health.month = churn_within_3_months.month
    group by
        evaluable_health.month,
        evaluable_health.risk_band
),

final as (
    select
        cast(month as date) as month,
        cast(risk_band as {{ dbt.type_string() }}) as risk_band,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        cast(churned_within_3_months as {{ dbt.type_bigint() }}) as churned_within_3_months,
        {{ safe_ratio('churned_within_3_months', 'customers') }} as churn_rate
    from band_counts
)

select * from final
