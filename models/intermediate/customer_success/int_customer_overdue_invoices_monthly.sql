-- Overdue invoices at the snapshot of every evaluated month
-- (int_customer_snapshot_months): issued by then, neither draft nor void,
-- past their due date and not paid by the snapshot (the current status is
-- restated, as MRR restates it). Months without an overdue invoice have no row.
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        snapshot_date,
        snapshot_end_at
    from {{ ref('int_customer_snapshot_months') }}
),

int_invoices_converted as (
    select
        customer_id,
        status,
        issued_at,
        due_date,
        paid_date
    from {{ ref('int_invoices_converted') }}
),

overdue_at_snapshot as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        {{ dbt.datediff('int_invoices_converted.due_date', 'int_customer_snapshot_months.snapshot_date', 'day') }}
            as days_overdue
    from int_customer_snapshot_months
    inner join int_invoices_converted
        on
            int_customer_snapshot_months.customer_id = int_invoices_converted.customer_id
            and int_customer_snapshot_months.snapshot_end_at > int_invoices_converted.issued_at
            and int_customer_snapshot_months.snapshot_date > int_invoices_converted.due_date
            and (
                int_invoices_converted.paid_date is null
                or int_customer_snapshot_months.snapshot_date < int_invoices_converted.paid_date
            )
    where int_invoices_converted.status not in ('draft', 'void')
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(count(*) as {{ dbt.type_bigint() }}) as overdue_invoices,
        cast(max(days_overdue) as {{ dbt.type_bigint() }}) as max_days_overdue
    from overdue_at_snapshot
    group by
        customer_id,
        month
)

select * from final
