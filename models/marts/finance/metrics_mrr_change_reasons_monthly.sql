-- Why product MRR changed, per month and reason (metrics.md, Revenue depth:
-- product change reasons): seats, price and plan changes of upsells and
-- downgrades, cross-sells and product churn. Every month of
-- metrics_revenue_monthly has a row for every reason, 0 when none.
with

revenue_months as (
    select * from {{ ref('metrics_revenue_monthly') }}
),

product_movements as (
    select * from {{ ref('fct_mrr_product') }}
),

reasons as (
    select 'seats' as reason
    union all
    select 'price' as reason
    union all
    select 'plan' as reason
    union all
    select 'cross_sell' as reason
    union all
    select 'product_churn' as reason
),

changes_by_month as (
    select
        month,
        sum(seat_change_mrr) as seats,
        sum(price_change_mrr) as price,
        sum(plan_change_mrr) as plan,
        sum(case when movement = 'cross_sell' then mrr_change end) as cross_sell,
        sum(case when movement = 'product_churn' then mrr_change end) as product_churn
    from product_movements
    group by month
),

months_by_reason as (
    select
        revenue_months.month,
        reasons.reason,
        revenue_months.is_complete_month
    from revenue_months
    cross join reasons
),

reason_changes as (
    select
        months_by_reason.month,
        months_by_reason.reason,
        cast(coalesce(
            case months_by_reason.reason
                when 'seats' then changes_by_month.seats
                when 'price' then changes_by_month.price
                when 'plan' then changes_by_month.plan
                when 'cross_sell' then changes_by_month.cross_sell
                when 'product_churn' then changes_by_month.product_churn
            end,
            0
        ) as {{ type_money() }}) as mrr_change,
        months_by_reason.is_complete_month
    from months_by_reason
    left join changes_by_month
        on months_by_reason.month = changes_by_month.month
)

select * from reason_changes
