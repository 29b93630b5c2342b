-- Subscriptions that ended or were cancelled as known at as_of_end, with
-- the reason given (metrics.md, Revenue depth: churn reason). ended_at comes
-- first: a cancellation takes effect when the subscription ends; a request
-- without an end yet is dated by canceled_at.
with

subscriptions as (
    select * from {{ ref('stg_subscriptions') }}
),

ended_or_cancelled as (
    select
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(coalesce(ended_at, canceled_at) as {{ dbt.type_timestamp() }}) as ended_or_cancelled_at,
        -- Trimmed, case kept; an empty reason is no reason.
        cast(nullif(trim(cancel_reason), '') as {{ dbt.type_string() }}) as cancel_reason
    from subscriptions
    where coalesce(ended_at, canceled_at) is not null
)

select * from ended_or_cancelled
