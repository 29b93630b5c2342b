-- A customer's onboarding start (metrics.md, Onboarding): its earliest
-- subscription's created_at. Customers without subscriptions have none.
with

stg_subscriptions as (
    select
        customer_id,
        created_at
    from {{ ref('stg_subscriptions') }}
),

onboarding_starts as (
    select
        customer_id,
        min(created_at) as onboarding_started_at
    from stg_subscriptions
    group by customer_id
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(onboarding_started_at as {{ dbt.type_timestamp() }}) as onboarding_started_at
    from onboarding_starts
)

select * from final
