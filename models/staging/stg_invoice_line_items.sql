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
        line_item_id,
        invoice_id,
        subscription_id,
        plan_id,

        -- strings
        line_type,

        -- numerics
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        {{ money('amount') }} as amount,
        {{ money('discount_amount') }} as discount_amount,
        {{ money('tax_amount') }} as tax_amount,

        -- booleans
        cast(is_proration as {{ dbt.type_boolean() }}) as is_proration,

        -- dates
        cast(period_start as date) as period_start_date,
        cast(period_end as date) as period_end_date
    from source
)

select * from renamed
