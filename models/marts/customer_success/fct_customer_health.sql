-- Health score per paying customer and month (metrics.md, Customer health), built
-- in int_customer_health_scores from the signals of int_customer_health_signals.
with

int_customer_health_scores as (
    select
        customer_id,
        month,
        mrr,
        health_score,
        risk_band,
        risk_signals,
        mrr_trend,
        seat_utilization,
        active_user_trend,
        onboarding_status,
        latest_nps_category,
        tickets_90d,
        max_days_overdue,
        days_since_last_activity,
        active_users_30d,
        seats
    from {{ ref('int_customer_health_scores') }}
)

select * from int_customer_health_scores
