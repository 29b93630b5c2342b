with

source as (
    {{ point_in_time(
        'customers',
        ['customer_id', 'customer_name', 'created_at', 'country', 'segment', 'acquisition_channel'],
        created_at='created_at'
    ) }}
),

renamed as (
    select
        -- ids
        customer_id,

        -- strings
        customer_name,
        country,
        segment,
        acquisition_channel,

        -- timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from renamed
