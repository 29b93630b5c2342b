-- The raw value of every health signal per paying customer and month
-- (metrics.md, Customer health), put together from one model per signal,
-- each evaluated at the month's snapshot: MRR signals as restated; activity,
-- support and NPS signals from rows before the snapshot ends.
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        mrr,
        snapshot_date
    from {{ ref('int_customer_snapshot_months') }}
    where is_paying
),

int_customer_mrr_trends as (
    select * from {{ ref('int_customer_mrr_trends') }}
),

int_customer_seats_monthly as (
    select * from {{ ref('int_customer_seats_monthly') }}
),

int_customer_snapshot_active_users as (
    select * from {{ ref('int_customer_snapshot_active_users') }}
),

int_customer_onboarding_monthly as (
    select * from {{ ref('int_customer_onboarding_monthly') }}
),

int_customer_nps_monthly as (
    select * from {{ ref('int_customer_nps_monthly') }}
),

int_customer_support_load_monthly as (
    select * from {{ ref('int_customer_support_load_monthly') }}
),

int_customer_overdue_invoices_monthly as (
    select * from {{ ref('int_customer_overdue_invoices_monthly') }}
),

signals as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        int_customer_snapshot_months.mrr,
        int_customer_snapshot_months.snapshot_date,
        int_customer_mrr_trends.mrr_trend,
        coalesce(int_customer_seats_monthly.seats, 0) as seats,
        int_customer_onboarding_monthly.onboarding_status,
        int_customer_nps_monthly.latest_nps_category,
        int_customer_snapshot_active_users.active_users_30d,
        int_customer_snapshot_active_users.active_users_previous_30d,
        -- The 30-day window on purpose: the score reacts within a month.
        case
            when int_customer_seats_monthly.seats > 0
                then {{ safe_ratio('int_customer_snapshot_active_users.active_users_30d',
                    'int_customer_seats_monthly.seats') }}
        end as seat_utilization,
        {{ safe_ratio('int_customer_snapshot_active_users.active_users_30d',
            'int_customer_snapshot_active_users.active_users_previous_30d') }} as active_user_trend,
        coalesce(int_customer_support_load_monthly.tickets_90d, 0) as tickets_90d,
        coalesce(int_customer_overdue_invoices_monthly.max_days_overdue, 0) as max_days_overdue,
        -- Never active: counted from the onboarding start (or the month).
        {{ dbt.datediff(
            'coalesce(int_customer_snapshot_active_users.last_active_day, '
            ~ 'cast(int_customer_onboarding_monthly.onboarding_started_at as date), '
            ~ 'int_customer_snapshot_months.month)',
            'int_customer_snapshot_months.snapshot_date', 'day') }} as days_since_last_activity
    from int_customer_snapshot_months
    left join int_customer_mrr_trends
        on
            int_customer_snapshot_months.customer_id = int_customer_mrr_trends.customer_id
            and int_customer_snapshot_months.month = int_customer_mrr_trends.month
    left join int_customer_seats_monthly
        on
            int_customer_snapshot_months.customer_id = int_customer_seats_monthly.customer_id
            and int_customer_snapshot_months.month = int_customer_seats_monthly.month
    left join int_customer_snapshot_active_users
        on
            int_customer_snapshot_months.customer_id = int_customer_snapshot_active_users.customer_id
            and int_customer_snapshot_months.month = int_customer_snapshot_active_users.month
    left join int_customer_onboarding_monthly
        on
            int_customer_snapshot_months.customer_id = int_customer_onboarding_monthly.customer_id
            and int_customer_snapshot_months.month = int_customer_onboarding_monthly.month
    left join int_customer_nps_monthly
        on
            int_customer_snapshot_months.customer_id = int_customer_nps_monthly.customer_id
            and int_customer_snapshot_months.month = int_customer_nps_monthly.month
    left join int_customer_support_load_monthly
        on
            int_customer_snapshot_months.customer_id = int_customer_support_load_monthly.customer_id
            and int_customer_snapshot_months.month = int_customer_support_load_monthly.month
    left join int_customer_overdue_invoices_monthly
        on
            int_customer_snapshot_months.customer_id = int_customer_overdue_invoices_monthly.customer_id
            and int_customer_snapshot_months.month = int_customer_overdue_invoices_monthly.month
)

select * from signals
