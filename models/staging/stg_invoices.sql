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
        {{ clean_text('invoice_id') }} as invoice_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('subscription_id') }} as subscription_id,

        -- strings
        {{ clean_enum('status') }} as status,
        {{ clean_currency('currency') }} as currency,

        -- numerics
        {{ money('subtotal') }} as subtotal,
        {{ money('discount_amount', empty_means_zero=true) }} as discount_amount,
        {{ money('tax_amount', empty_means_zero=true) }} as tax_amount,
        {{ money('total') }} as total,

        -- timestamps
        cast(issued_at as {{ dbt.type_timestamp() }}) as issued_at,
        cast(due_at as {{ dbt.type_timestamp() }}) as due_at,
        cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at
    from source
)

select * from renamed
