with

source as (
    {{ point_in_time(
        'nps_responses',
        ['response_id', 'customer_id', 'user_id', 'responded_at', 'score', 'comment'],
        created_at='responded_at'
    ) }}
),

renamed as (
    select
        -- ids
        response_id,
        customer_id,
        user_id,

        -- strings
        comment as response_comment,

        -- numerics
        cast(score as {{ dbt.type_int() }}) as score,

        -- timestamps
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at
    from source
)

select * from renamed
