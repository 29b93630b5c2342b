with

source as (
    {{ point_in_time(
        'invoices',
        ['invoice_id', 'customer_id', 'subscription_id', 'status', 'currency', 'issued_at',
         'due_at', 'paid_at', 'subtotal', 'discount_amount', 'tax_amount', 'total'],
        created_at='issued_at',
        happens_later=['paid_at']
    ) }}
),

renamed as (
    select
        -- ids
        invoice_id,
        customer_id,
        subscription_id,

        -- strings
        status,
        currency,

        -- numerics
        {{ money('subtotal') }} as subtotal,
        {{ money('discount_amount') }} as discount_amount,
        {{ money('tax_amount') }} as tax_amount,
        {{ money('total') }} as total,

        -- timestamps
        cast(issued_at as {{ dbt.type_timestamp() }}) as issued_at,
        cast(due_at as {{ dbt.type_timestamp() }}) as due_at,
        cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at
    from source
)

select * from renamed
