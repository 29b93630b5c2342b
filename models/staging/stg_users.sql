with

source as (
    {{ point_in_time(
        'users',
        ['user_id', 'customer_id', 'created_at', 'role'],
        created_at='created_at'
    ) }}
),

renamed as (
    select
        -- ids
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('customer_id') }} as customer_id,

        -- strings
        {{ clean_text('role') }} as user_role,

        -- timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from renamed
