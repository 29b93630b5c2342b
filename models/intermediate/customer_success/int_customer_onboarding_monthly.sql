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

milestones_at_snapshot as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        int_onboarding_milestones.onboarding_started_at,
        {{ milestone_status('int_onboarding_milestones.achieved_at', 'int_onboarding_milestones.window_ends_at',
            'int_customer_snapshot_months.snapshot_end_at') }} as status
    from int_customer_snapshot_months
    inner join int_onboarding_milestones
        on int_customer_snapshot_months.customer_id = int_onboarding_milestones.customer_id
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(min(onboarding_started_at) as {{ dbt.type_timestamp() }}) as onboarding_started_at,
        cast({{ customer_onboarding_status('status') }} as {{ dbt.type_string() }}) as onboarding_status
    from milestones_at_snapshot
    group by
        customer_id,
        month
)

select * from final
