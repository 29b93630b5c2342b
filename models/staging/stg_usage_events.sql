with

source as (
    {{ point_in_time(
        'usage_events',
        ['event_id', 'customer_id', 'user_id', 'event_name', 'occurred_at'],
        created_at='occurred_at'
    ) }}
),

renamed as (
    select
        -- ids
        event_id,
        customer_id,
        user_id,

        -- strings: event names are free text, compared exactly (case-sensitive)
        event_name,

        -- timestamps
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at
    from source
)

select * from renamed
