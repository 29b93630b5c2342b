-- The customer-months at whose snapshot customer success is evaluated: every
-- month a customer pays (the health score), and the as_of month for every
-- customer existing at as_of_end (the customer 360). Each signal model
-- computes its value for these rows, so a window is defined once.
with

stg_customers as (
    select customer_id
    from {{ ref('stg_customers') }}
),

int_customer_mrr_monthly as (
    select
        customer_id,
        month,
        mrr
    from {{ ref('int_customer_mrr_monthly') }}
),

int_calendar_months as (
    select
        month_start,
        snapshot_date
    from {{ ref('int_calendar_months') }}
),

customer_months as (
    select
        customer_id,
        month
    from int_customer_mrr_monthly
    union
    select
        customer_id,
        {{ as_of_month() }} as month
    from stg_customers
),

final as (
    select
        cast(customer_months.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(customer_months.month as date) as month,
        cast(int_calendar_months.snapshot_date as date) as snapshot_date,
        -- Rows before the end of the snapshot day count for the month.
        cast({{ dbt.dateadd('day', 1, 'int_calendar_months.snapshot_date') }} as {{ dbt.type_timestamp() }})
            as snapshot_end_at,
        cast(coalesce(int_customer_mrr_monthly.mrr, 0) as {{ type_money() }}) as mrr,
        coalesce(int_customer_mrr_monthly.mrr, 0) > 0 as is_paying,
        customer_months.month = {{ as_of_month() }} as is_as_of_month
    from customer_months
    inner join int_calendar_months
        on customer_months.month = int_calendar_months.month_start
    left join int_customer_mrr_monthly
        on
            customer_months.customer_id = int_customer_mrr_monthly.customer_id
            and customer_months.month = int_customer_mrr_monthly.month
)

select * from final
