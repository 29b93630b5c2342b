-- A customer's onboarding (metrics.md, Onboarding): completed when every
-- milestone is completed, missed when any is missed, else in progress.
with

int_onboarding_milestones as (
    select
        customer_id,
        onboarding_started_at,
        achieved_at,
        status
    from {{ ref('int_onboarding_milestones') }}
),

milestones_per_customer as (
    select
        customer_id,
        min(onboarding_started_at) as onboarding_started_at,
        count(*) as milestones,
        sum(case when status = 'completed' then 1 else 0 end) as milestones_completed,
        sum(case when status = 'missed' then 1 else 0 end) as milestones_missed,
        sum(case when status = 'in_progress' then 1 else 0 end) as milestones_in_progress,
        max(achieved_at) as latest_achieved_at,
        {{ customer_onboarding_status('status') }} as onboarding_status
    from int_onboarding_milestones
    group by customer_id
),

customer_statuses as (
    select
        customer_id,
        onboarding_started_at,
        milestones,
        milestones_completed,
        milestones_missed,
        milestones_in_progress,
        onboarding_status,
        -- Completed onboarding ends with its last milestone.
        case
            when onboarding_status = 'completed' then latest_achieved_at
        end as onboarding_completed_at
    from milestones_per_customer
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(onboarding_started_at as {{ dbt.type_timestamp() }}) as onboarding_started_at,
        cast({{ dbt.date_trunc('month', 'onboarding_started_at') }} as date) as onboarding_cohort_month,
        cast(onboarding_status as {{ dbt.type_string() }}) as onboarding_status,
        cast(onboarding_completed_at as {{ dbt.type_timestamp() }}) as onboarding_completed_at,
        cast(milestones as {{ dbt.type_bigint() }}) as milestones,
        cast(milestones_completed as {{ dbt.type_bigint() }}) as milestones_completed,
        cast(milestones_missed as {{ dbt.type_bigint() }}) as milestones_missed,
        cast(milestones_in_progress as {{ dbt.type_bigint() }}) as milestones_in_progress
    from customer_statuses
)

select * from final
