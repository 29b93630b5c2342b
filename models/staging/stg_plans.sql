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
        plan_id,
        product_id,

        -- strings
        plan_name,
        billing_interval,
        currency,

        -- numerics
        cast(billing_interval_count as {{ dbt.type_int() }}) as billing_interval_count,
        {{ money('unit_amount') }} as unit_amount
    from source
)

select * from renamed
