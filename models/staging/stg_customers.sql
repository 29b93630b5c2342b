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
        {{ clean_text('customer_id') }} as customer_id,

        -- strings
        {{ clean_text('customer_name') }} as customer_name,
        upper({{ clean_text('country') }}) as country,
        {{ clean_text('segment') }} as segment,
        {{ clean_text('acquisition_channel') }} as acquisition_channel,

        -- timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from renamed
