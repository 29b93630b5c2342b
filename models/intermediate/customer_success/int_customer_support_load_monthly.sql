-- A customer's support load at the snapshot of every evaluated month
-- (int_customer_snapshot_months): tickets opened in the trailing 90 x 24
-- hours and tickets open (opened, not yet resolved) when the snapshot ends.
-- Customer-months without any ticket so far have no row.
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        snapshot_end_at
    from {{ ref('int_customer_snapshot_months') }}
),

stg_support_tickets as (
    select
        customer_id,
        opened_at,
        resolved_at
    from {{ ref('stg_support_tickets') }}
),

tickets_before_snapshot as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        {{ in_last_hours('stg_support_tickets.opened_at', 'int_customer_snapshot_months.snapshot_end_at',
            90 * 24) }} as is_in_last_90_days,
        coalesce(stg_support_tickets.resolved_at >= int_customer_snapshot_months.snapshot_end_at, true)
            as is_open_at_snapshot
    from int_customer_snapshot_months
    inner join stg_support_tickets
        on
            int_customer_snapshot_months.customer_id = stg_support_tickets.customer_id
            and int_customer_snapshot_months.snapshot_end_at > stg_support_tickets.opened_at
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(sum(case when is_in_last_90_days then 1 else 0 end) as {{ dbt.type_bigint() }}) as tickets_90d,
        cast(sum(case when is_open_at_snapshot then 1 else 0 end) as {{ dbt.type_bigint() }}) as open_tickets
    from tickets_before_snapshot
    group by
        customer_id,
        month
)

select * from final
