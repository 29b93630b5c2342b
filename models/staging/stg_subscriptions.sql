with

source as (
    {{ point_in_time(
        'subscriptions',
        ['subscription_id', 'customer_id', 'plan_id', 'status', 'quantity', 'created_at',
         'trial_start', 'trial_end', 'started_at', 'canceled_at', 'ended_at', 'cancel_reason'],
        created_at='created_at',
        happens_later=['trial_start', 'trial_end', 'started_at', 'canceled_at', 'ended_at']
    ) }}
),

renamed as (
    select
        -- ids
        subscription_id,
        customer_id,
        plan_id,

        -- strings
        status,
        cancel_reason,

        -- numerics
        cast(quantity as {{ dbt.type_int() }}) as quantity,

        -- timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(trial_start as {{ dbt.type_timestamp() }}) as trial_start_at,
        cast(trial_end as {{ dbt.type_timestamp() }}) as trial_end_at,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(canceled_at as {{ dbt.type_timestamp() }}) as canceled_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at
    from source
)

select * from renamed
