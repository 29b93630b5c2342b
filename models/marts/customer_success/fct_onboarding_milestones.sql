-- One row per customer with a subscription and per milestone of the seed onboarding_milestones (metrics.md,
-- Onboarding), built in int_onboarding_milestones.
with

int_onboarding_milestones as (
    select
        customer_id,
        milestone_id,
        event_name,
        min_count,
        within_days,
        onboarding_started_at,
        window_ends_at,
        achieved_at,
        status
    from {{ ref('int_onboarding_milestones') }}
)

select * from int_onboarding_milestones
