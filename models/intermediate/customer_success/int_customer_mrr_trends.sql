-- MRR trend per paying customer and month (metrics.md, Customer health):
-- mrr against the highest mrr of the three months before (as restated);
-- NULL in a month with no paying month among the three before.
with

int_customer_mrr_monthly as (
    select
        customer_id,
        month,
        mrr
    from {{ ref('int_customer_mrr_monthly') }}
),

mrr_trends as (
    select
        paying_months.customer_id,
        paying_months.month,
        {{ safe_ratio('paying_months.mrr', 'max(earlier_months.mrr)') }} as mrr_trend
    from int_customer_mrr_monthly as paying_months
    inner join int_customer_mrr_monthly as earlier_months
        on
            paying_months.customer_id = earlier_months.customer_id
            and {{ dbt.dateadd('month', -3, 'paying_months.month') }} <= earlier_months.month
            and paying_months.month > earlier_months.month
    group by
        paying_months.customer_id,
        paying_months.month,
        paying_months.mrr
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(mrr_trend as {{ type_double() }}) as mrr_trend
    from mrr_trends
)

select * from final
