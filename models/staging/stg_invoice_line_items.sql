with

source as (
    {{ point_in_time(
        'invoice_line_items',
        ['line_item_id', 'invoice_id', 'subscription_id', 'plan_id', 'line_type', 'period_start',
         'period_end', 'quantity', 'amount', 'discount_amount', 'tax_amount', 'is_proration'],
        parent=('invoices', 'invoice_id', 'issued_at')
    ) }}
),

renamed as (
    select
        -- ids
        {{ clean_text('line_item_id') }} as line_item_id,
        {{ clean_text('invoice_id') }} as invoice_id,
        {{ clean_text('subscription_id') }} as subscription_id,
        {{ clean_text('plan_id') }} as plan_id,

        -- strings
        {{ clean_enum('line_type') }} as line_type,

        -- numerics
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        {{ money('amount') }} as amount,
        {{ money('discount_amount', empty_means_zero=true) }} as discount_amount,
        {{ money('tax_amount', empty_means_zero=true) }} as tax_amount,

        -- booleans
        cast(is_proration as {{ dbt.type_boolean() }}) as is_proration,

        -- dates
        cast(period_start as date) as period_start_date,
        cast(period_end as date) as period_end_date
    from source
)

select * from renamed
