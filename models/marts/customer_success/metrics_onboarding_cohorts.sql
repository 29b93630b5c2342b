-- Onboarding completion per cohort (month of onboarding start). Customers
-- still in progress are right-censored: in no completion-rate denominator.
with

fct_customer_onboarding as (
    select
        customer_id,
        onboarding_cohort_month,
        onboarding_status
    from {{ ref('fct_customer_onboarding') }}
),

-- Only months in which some customer started onboarding have a row.
cohort_counts as (
    select
        onboarding_cohort_month as cohort_month,
        count(*) as customers,
        sum(case when onboarding_status = 'completed' then 1 else 0 end) as completed,
        sum(case when onboarding_status = 'missed' then 1 else 0 end) as missed,
        sum(case when onboarding_status = 'in_progress' then 1 else 0 end) as in_progress
    from fct_customer_onboarding
    group by onboarding_cohort_month
),

final as (
    select
        cast(cohort_month as date) as cohort_month,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        cast(completed as {{ dbt.type_bigint() }}) as completed,
        cast(missed as {{ dbt.type_bigint() }}) as missed,
        cast(in_progress as {{ dbt.type_bigint() }}) as in_progress,
        {{ safe_ratio('completed', 'completed + missed') }} as onboarding_completion_rate
    from cohort_counts
)

select * from final
