-- Customer MRR per month with its movement (metrics.md, MRR movements):
-- every month the customer pays, plus the month its MRR stops (churn), and
-- for a churn why it happened (metrics.md, Revenue depth: churn type, churn
-- reason) with the MRR held back by unpaid invoices.
with

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

customer_delinquent_mrr as (
    select * from {{ ref('int_customer_delinquent_mrr_monthly') }}
),

customer_payment_lapses as (
    select * from {{ ref('int_customer_payment_lapses_monthly') }}
),

subscription_ends as (
    select * from {{ ref('int_subscription_ends') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

customer_mrr_with_previous as (
    {{ mrr_with_previous('customer_mrr', ['customer_id']) }}
),

movements as (
    select
        customer_id,
        month,
        mrr,
        previous_mrr,
        mrr_change,
        case
            when previous_mrr = 0 and month = first_paying_month then 'new'
            when previous_mrr = 0 then 'reactivation'
            when mrr = 0 then 'churn'
            else {{ paying_change_movement('mrr_change', 'expansion', 'contraction') }}
        end as movement,
        {{ is_complete_month('month') }} as is_complete_month
    from customer_mrr_with_previous
),

-- The first month of the paying spell a churn ends: the latest new or
-- reactivation month before it. Subscriptions ending before it belong to an
-- earlier spell and are no reason for this churn.
movements_with_spell_start as (
    select
        movements.*,
        max(
            case when movements.movement in ('new', 'reactivation') then movements.month end
        ) over (
            partition by movements.customer_id
            order by movements.month
            rows between unbounded preceding and current row
        ) as spell_started_month
    from movements
),

churn_types as (
    select
        movements_with_spell_start.*,
        coalesce(customer_delinquent_mrr.delinquent_mrr, cast(0 as {{ type_money() }})) as delinquent_mrr,
        case
            when movements_with_spell_start.movement <> 'churn' then null
            -- It stopped paying (an unpaid invoice past due), it did not leave.
            when customer_delinquent_mrr.delinquent_mrr > 0 then 'involuntary'
            when customer_payment_lapses.customer_id is not null then 'involuntary'
            else 'voluntary'
        end as churn_type
    from movements_with_spell_start
    left join customer_delinquent_mrr
        on
            movements_with_spell_start.customer_id = customer_delinquent_mrr.customer_id
            and movements_with_spell_start.month = customer_delinquent_mrr.month
    left join customer_payment_lapses
        on
            movements_with_spell_start.customer_id = customer_payment_lapses.customer_id
            and movements_with_spell_start.month = customer_payment_lapses.month
),

-- For a voluntary churn, the subscription that ended (or was cancelled)
-- last within the spell, up to the end of the churn month's snapshot day.
voluntary_churn_ends as (
    select
        churn_types.customer_id,
        churn_types.month,
        subscription_ends.cancel_reason,
        row_number() over (
            partition by churn_types.customer_id, churn_types.month
            order by subscription_ends.ended_or_cancelled_at desc, subscription_ends.subscription_id desc
        ) as recency_rank
    from churn_types
    inner join months
        on churn_types.month = months.month_start
    inner join subscription_ends
        on
            churn_types.customer_id = subscription_ends.customer_id
            and subscription_ends.ended_or_cancelled_at
            < cast({{ dbt.dateadd('day', 1, 'months.snapshot_date') }} as {{ dbt.type_timestamp() }})
            and subscription_ends.ended_or_cancelled_at
            >= cast(churn_types.spell_started_month as {{ dbt.type_timestamp() }})
    where churn_types.churn_type = 'voluntary'
),

churn_reasons as (
    select
        churn_types.customer_id,
        churn_types.month,
        churn_types.mrr,
        churn_types.previous_mrr,
        churn_types.mrr_change,
        churn_types.movement,
        churn_types.churn_type,
        churn_types.delinquent_mrr,
        churn_types.is_complete_month,
        case churn_types.churn_type
            when 'involuntary' then 'non_payment'
            when 'voluntary' then coalesce(voluntary_churn_ends.cancel_reason, 'unknown')
        end as churn_reason
    from churn_types
    left join voluntary_churn_ends
        on
            churn_types.customer_id = voluntary_churn_ends.customer_id
            and churn_types.month = voluntary_churn_ends.month
            and voluntary_churn_ends.recency_rank = 1
)

select * from churn_reasons
