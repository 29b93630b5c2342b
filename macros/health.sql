{#- Every health signal the score knows (metrics.md, Customer health), as the
    expression that turns int_customer_health_signals' columns into the
    value the seed health_signal_weights ramps between bad_value and
    good_value (NULL: not available, left out). The seed must name exactly
    these signals: tests/dbt/health_signal_weights_match_signals.sql fails
    the build on an unknown or a missing one. -#}
{% macro health_signal_values() -%}
    {{ return({
        'mrr_trend': 'mrr_trend',
        'seat_utilization': 'seat_utilization',
        'active_user_trend': 'active_user_trend',
        'onboarding_status': "case when onboarding_status = 'completed' then 1.0 when onboarding_status = 'missed' then 0.0 end",
        'latest_nps_category': "case when latest_nps_category = 'promoter' then 1.0 when latest_nps_category = 'passive' then 0.5 when latest_nps_category = 'detractor' then 0.0 end",
        'support_load': 'tickets_90d',
        'overdue_invoices': 'max_days_overdue',
        'days_since_last_activity': 'days_since_last_activity',
    }) }}
{%- endmacro %}
