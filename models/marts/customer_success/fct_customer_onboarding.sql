-- A customer's onboarding status at as_of_date (metrics.md, Onboarding), built in
-- int_customer_onboarding.
with

int_customer_onboarding as (
    select
        customer_id,
        onboarding_started_at,
        onboarding_cohort_month,
        onboarding_status,
        onboarding_completed_at,
        milestones,
        milestones_completed,
        milestones_missed,
        milestones_in_progress
    from {{ ref('int_customer_onboarding') }}
)

select * from int_customer_onboarding
