with

source as (
    {{ point_in_time(
        'support_tickets',
        ['ticket_id', 'customer_id', 'user_id', 'opened_at', 'first_response_at', 'resolved_at',
         'priority', 'channel', 'category', 'csat_score'],
        created_at='opened_at',
        happens_later=['first_response_at', 'resolved_at']
    ) }}
),

renamed as (
    select
        -- ids
        ticket_id,
        customer_id,
        user_id,

        -- strings
        priority,
        channel,
        category,

        -- numerics
        cast(csat_score as {{ dbt.type_int() }}) as csat_score,

        -- timestamps
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at
    from source
)

select * from renamed
