-- Each customer's onboarding status as it stood at the snapshot of every
-- evaluated month (int_customer_snapshot_months): the health score reads the
-- onboarding a customer had then, not the one it has at as_of_date.
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        snapshot_end_at
    from {{ ref('int_customer_snapshot_months') }}
),

int_onboarding_milestones as (
    select
        customer_id,
        onboarding_started_at,
        window_ends_at,
        achieved_at
    from {{ ref('int_onboarding_milestones') }}
),

-- The two moments a customer's onboarding status changes (macros/onboarding.sql):
-- one row per customer, so that each month is a single comparison instead
-- of every milestone joined to every month and grouped again.
onboarding_transitions as (
    select
        customer_id,
        min(onboarding_started_at) as onboarding_started_at,
        {{ onboarding_completed_from('achieved_at', 'window_ends_at') }} as onboarding_completed_from,
        {{ onboarding_missed_from('achieved_at', 'window_ends_at') }} as onboarding_missed_from
    from int_onboarding_milestones
    group by customer_id
),

onboarding_at_snapshot as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        onboarding_transitions.onboarding_started_at,
        {{ onboarding_status_at('onboarding_transitions.onboarding_completed_from',
            'onboarding_transitions.onboarding_missed_from',
            'int_customer_snapshot_months.snapshot_end_at') }} as onboarding_status
    from int_customer_snapshot_months
    inner join onboarding_transitions
        on int_customer_snapshot_months.customer_id = onboarding_transitions.customer_id
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(onboarding_started_at as {{ dbt.type_timestamp() }}) as onboarding_started_at,
        cast(onboarding_status as {{ dbt.type_string() }}) as onboarding_status
    from onboarding_at_snapshot
)

select * from final
