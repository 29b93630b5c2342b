with

source as (
    {{ point_in_time(
        'plans',
        ['plan_id', 'plan_name', 'product_id', 'billing_interval', 'billing_interval_count',
         'unit_amount', 'currency']
    ) }}
),

renamed as (
    select
        -- ids
        {{ clean_text('plan_id') }} as plan_id,
        {{ clean_text('product_id') }} as product_id,

        -- strings
        {{ clean_text('plan_name') }} as plan_name,
        {{ clean_enum('billing_interval') }} as billing_interval,
        {{ clean_currency('currency') }} as currency,

        -- numerics
        cast(billing_interval_count as {{ dbt.type_int() }}) as billing_interval_count,
        {{ money('unit_amount') }} as unit_amount
    from source
)

select * from renamed
