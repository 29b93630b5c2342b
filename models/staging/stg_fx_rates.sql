with

source as (
    {{ point_in_time('fx_rates', ['month', 'currency', 'usd_per_unit']) }}
),

renamed as (
    select
        -- strings
        currency,

        -- numerics
        cast(usd_per_unit as numeric(28, 10)) as usd_per_unit,

        -- dates
        cast(month as date) as rate_month
    from source
)

select * from renamed
