-- The raw value of every health signal per paying customer and month
-- (metrics.md, Customer health). MRR signals read fct_mrr as restated;
-- activity, support and NPS signals use only rows before the month's
-- snapshot ends. Every join is bounded by a time window or by the customer's
-- own months: no customers x days cross join.
with

fct_mrr as (
    select
        customer_id,
        month,
        mrr
    from {{ ref('fct_mrr') }}
),

int_calendar_months as (
    select
        month_start,
        snapshot_date
    from {{ ref('int_calendar_months') }}
),

int_user_activity_daily as (
    select
        customer_id,
        user_id,
        date_day,
        activity_month,
        is_active
    from {{ ref('int_user_activity_daily') }}
),

fct_customer_activity_monthly as (
    select
        customer_id,
        month,
        seats
    from {{ ref('fct_customer_activity_monthly') }}
),

fct_onboarding_milestones as (
    select
        customer_id,
        onboarding_started_at,
        window_ends_at,
        achieved_at
    from {{ ref('fct_onboarding_milestones') }}
),

fct_nps_responses as (
    select
        response_id,
        customer_id,
        responded_at,
        nps_category
    from {{ ref('fct_nps_responses') }}
),

fct_support_tickets as (
    select
        customer_id,
        opened_at
    from {{ ref('fct_support_tickets') }}
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

-- Paying customer-months, with the end of the snapshot day as the cut for
-- activity, support and NPS.
paying_months as (
    select
        fct_mrr.customer_id,
        fct_mrr.month,
        fct_mrr.mrr,
        int_calendar_months.snapshot_date,
        cast({{ dbt.dateadd('day', 1, 'int_calendar_months.snapshot_date') }} as {{ dbt.type_timestamp() }})
            as snapshot_end_at
    from fct_mrr
    inner join int_calendar_months
        on fct_mrr.month = int_calendar_months.month_start
    where fct_mrr.mrr > 0
),

-- MRR trend: mrr against the highest mrr of the three months before (as
-- restated); NULL in the first paying month.
mrr_trends as (
    select
        paying_months.customer_id,
        paying_months.month,
        {{ safe_ratio('paying_months.mrr', 'max(earlier_months.mrr)') }} as mrr_trend
    from paying_months
    inner join fct_mrr as earlier_months
        on
            paying_months.customer_id = earlier_months.customer_id
            and {{ dbt.dateadd('month', -3, 'paying_months.month') }} <= earlier_months.month
            and paying_months.month > earlier_months.month
            and earlier_months.mrr > 0
    group by
        paying_months.customer_id,
        paying_months.month,
        paying_months.mrr
),

-- Active users in the 30 days to the snapshot and in the 30 days before. A
-- 60-day window ending at a snapshot starts at most two months earlier, so
-- each active user-day is offered to its own month and the next two (an
-- equi-join, not a range join over every month).
month_offsets as (
    select 0 as month_offset
    union all
    select 1 as month_offset
    union all
    select 2 as month_offset
),

active_user_days_by_month as (
    select
        int_user_activity_daily.customer_id,
        int_user_activity_daily.user_id,
        int_user_activity_daily.date_day,
        cast({{ dbt.dateadd('month', 'month_offsets.month_offset', 'int_user_activity_daily.activity_month') }} as date)
            as month
    from int_user_activity_daily
    cross join month_offsets
    where int_user_activity_daily.is_active
),

active_users_windows as (
    select
        active_user_days_by_month.customer_id,
        active_user_days_by_month.month,
        count(
            distinct case
                when
                    active_user_days_by_month.date_day
                    > {{ dbt.dateadd('day', -30, 'int_calendar_months.snapshot_date') }}
                    then active_user_days_by_month.user_id
            end
        ) as active_users_30d,
        count(
            distinct case
                when
                    active_user_days_by_month.date_day
                    <= {{ dbt.dateadd('day', -30, 'int_calendar_months.snapshot_date') }}
                    then active_user_days_by_month.user_id
            end
        ) as active_users_previous_30d
    from active_user_days_by_month
    inner join int_calendar_months
        on
            active_user_days_by_month.month = int_calendar_months.month_start
            and active_user_days_by_month.date_day <= int_calendar_months.snapshot_date
            and active_user_days_by_month.date_day
            > {{ dbt.dateadd('day', -60, 'int_calendar_months.snapshot_date') }}
    group by
        active_user_days_by_month.customer_id,
        active_user_days_by_month.month
),

-- Last day with an active user up to each month's snapshot: the latest per
-- month, carried forward over the customer's later months.
active_days_per_month as (
    select
        customer_id,
        activity_month as month,
        max(date_day) as last_active_day
    from int_user_activity_daily
    where is_active
    group by
        customer_id,
        activity_month
),

customer_months as (
    select
        customer_id,
        month
    from paying_months
    union
    select
        customer_id,
        month
    from active_days_per_month
),

last_activity as (
    select
        customer_months.customer_id,
        customer_months.month,
        max(active_days_per_month.last_active_day) over (
            partition by customer_months.customer_id
            order by customer_months.month
            rows between unbounded preceding and current row
        ) as last_active_day
    from customer_months
    left join active_days_per_month
        on
            customer_months.customer_id = active_days_per_month.customer_id
            and customer_months.month = active_days_per_month.month
),

onboarding_starts as (
    select
        customer_id,
        min(onboarding_started_at) as onboarding_started_at
    from fct_onboarding_milestones
    group by customer_id
),

-- Onboarding as it stood at the snapshot: a milestone is completed once
-- reached inside its window, missed once its window has ended without it.
onboarding_at_snapshot as (
    select
        paying_months.customer_id,
        paying_months.month,
        case
            when
                min(
                    case
                        when
                            fct_onboarding_milestones.achieved_at < fct_onboarding_milestones.window_ends_at
                            and fct_onboarding_milestones.achieved_at < paying_months.snapshot_end_at
                            then 1
                        else 0
                    end
                ) = 1
                then 'completed'
            when
                max(
                    case
                        when
                            fct_onboarding_milestones.window_ends_at <= paying_months.snapshot_end_at
                            and not coalesce(
                                fct_onboarding_milestones.achieved_at < fct_onboarding_milestones.window_ends_at,
                                false
                            )
                            then 1
                        else 0
                    end
                ) = 1
                then 'missed'
            else 'in_progress'
        end as onboarding_status
    from paying_months
    inner join fct_onboarding_milestones
        on paying_months.customer_id = fct_onboarding_milestones.customer_id
    group by
        paying_months.customer_id,
        paying_months.month
),

nps_before_snapshot as (
    select
        paying_months.customer_id,
        paying_months.month,
        fct_nps_responses.nps_category,
        row_number() over (
            partition by paying_months.customer_id, paying_months.month
            order by fct_nps_responses.responded_at desc, fct_nps_responses.response_id desc
        ) as recency_rank
    from paying_months
    inner join fct_nps_responses
        on
            paying_months.customer_id = fct_nps_responses.customer_id
            and paying_months.snapshot_end_at > fct_nps_responses.responded_at
),

latest_nps as (
    select
        customer_id,
        month,
        nps_category
    from nps_before_snapshot
    where recency_rank = 1
),

tickets_90d as (
    select
        paying_months.customer_id,
        paying_months.month,
        count(*) as tickets_90d
    from paying_months
    inner join fct_support_tickets
        on
            paying_months.customer_id = fct_support_tickets.customer_id
            and paying_months.snapshot_end_at > fct_support_tickets.opened_at
            and {{ dbt.dateadd('hour', -90 * 24, 'paying_months.snapshot_end_at') }} <= fct_support_tickets.opened_at
    group by
        paying_months.customer_id,
        paying_months.month
),

-- Overdue at the snapshot: issued by then, neither draft nor void, past its
-- due date and not paid by the snapshot (the current status is restated).
overdue_invoices as (
    select
        paying_months.customer_id,
        paying_months.month,
        max({{ dbt.datediff('int_invoices_converted.due_date', 'paying_months.snapshot_date', 'day') }})
            as max_days_overdue
    from paying_months
    inner join int_invoices_converted
        on
            paying_months.customer_id = int_invoices_converted.customer_id
            and paying_months.snapshot_end_at > int_invoices_converted.issued_at
            and paying_months.snapshot_date > int_invoices_converted.due_date
            and (
                int_invoices_converted.paid_date is null
                or paying_months.snapshot_date < int_invoices_converted.paid_date
            )
    where int_invoices_converted.status not in ('draft', 'void')
    group by
        paying_months.customer_id,
        paying_months.month
),

signals as (
    select
        paying_months.customer_id,
        paying_months.month,
        paying_months.mrr,
        paying_months.snapshot_date,
        mrr_trends.mrr_trend,
        fct_customer_activity_monthly.seats,
        onboarding_at_snapshot.onboarding_status,
        latest_nps.nps_category as latest_nps_category,
        coalesce(active_users_windows.active_users_30d, 0) as active_users_30d,
        coalesce(active_users_windows.active_users_previous_30d, 0) as active_users_previous_30d,
        case
            when fct_customer_activity_monthly.seats > 0
                then {{ safe_ratio('coalesce(active_users_windows.active_users_30d, 0)',
                    'fct_customer_activity_monthly.seats') }}
        end as seat_utilization,
        {{ safe_ratio('coalesce(active_users_windows.active_users_30d, 0)',
            'active_users_windows.active_users_previous_30d') }} as active_user_trend,
        coalesce(tickets_90d.tickets_90d, 0) as tickets_90d,
        coalesce(overdue_invoices.max_days_overdue, 0) as max_days_overdue,
        -- Never active: counted from the onboarding start (or the month).
        {{ dbt.datediff(
            'coalesce(last_activity.last_active_day, cast(onboarding_starts.onboarding_started_at as date), paying_months.month)',
            'paying_months.snapshot_date', 'day') }} as days_since_last_activity
    from paying_months
    left join mrr_trends
        on
            paying_months.customer_id = mrr_trends.customer_id
            and paying_months.month = mrr_trends.month
    left join active_users_windows
        on
            paying_months.customer_id = active_users_windows.customer_id
            and paying_months.month = active_users_windows.month
    left join fct_customer_activity_monthly
        on
            paying_months.customer_id = fct_customer_activity_monthly.customer_id
            and paying_months.month = fct_customer_activity_monthly.month
    left join last_activity
        on
            paying_months.customer_id = last_activity.customer_id
            and paying_months.month = last_activity.month
    left join onboarding_starts
        on paying_months.customer_id = onboarding_starts.customer_id
    left join onboarding_at_snapshot
        on
            paying_months.customer_id = onboarding_at_snapshot.customer_id
            and paying_months.month = onboarding_at_snapshot.month
    left join latest_nps
        on
            paying_months.customer_id = latest_nps.customer_id
            and paying_months.month = latest_nps.month
    left join tickets_90d
        on
            paying_months.customer_id = tickets_90d.customer_id
            and paying_months.month = tickets_90d.month
    left join overdue_invoices
        on
            paying_months.customer_id = overdue_invoices.customer_id
            and paying_months.month = overdue_invoices.month
)

select * from signals
