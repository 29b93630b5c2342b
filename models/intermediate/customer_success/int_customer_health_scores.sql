-- Health score per paying customer and month (metrics.md, Customer health):
-- each signal's value becomes a 0..1 score on a linear ramp between the
-- seed's bad_value (0) and good_value (1); the health score is 100 x the
-- weighted mean of the available scores, and the signals that lost points
-- are listed, most points lost first. Over 150 lines because the score is
-- one formula (ramp, weights, band, reasons) read best in one place.
with

int_customer_health_signals as (
    select
        customer_id,
        month,
        mrr,
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
    from {{ ref('int_customer_health_signals') }}
),

health_signal_weights as (
    select
        signal_name,
        weight,
        good_value,
        bad_value
    from {{ ref('health_signal_weights') }}
    where weight > 0
),

health_risk_bands as (
    select
        risk_band,
        min_score
    from {{ ref('health_risk_bands') }}
),

-- One row per customer, month and signal (NULL value = signal not available),
-- for every signal of macro health_signal_values.
signal_values as (
    {%- for signal_name, signal_value in health_signal_values().items() %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        customer_id,
        month,
        '{{ signal_name }}' as signal_name,
        cast({{ signal_value }} as {{ type_double() }}) as signal_value
    from int_customer_health_signals
    {%- endfor %}
),

-- Linear ramp, clamped to 0..1; works whichever of good/bad is larger.
signal_scores as (
    select
        signal_values.customer_id,
        signal_values.month,
        signal_values.signal_name,
        health_signal_weights.weight,
        case
            when
                (signal_values.signal_value - health_signal_weights.bad_value)
                / (health_signal_weights.good_value - health_signal_weights.bad_value) >= 1
                then 1.0
            when
                (signal_values.signal_value - health_signal_weights.bad_value)
                / (health_signal_weights.good_value - health_signal_weights.bad_value) <= 0
                then 0.0
            else
                (signal_values.signal_value - health_signal_weights.bad_value)
                / (health_signal_weights.good_value - health_signal_weights.bad_value)
        end as signal_score
    from signal_values
    inner join health_signal_weights
        on signal_values.signal_name = health_signal_weights.signal_name
    where signal_values.signal_value is not null
),

weighted as (
    select
        customer_id,
        month,
        signal_name,
        signal_score,
        100 * weight * signal_score / sum(weight) over (partition by customer_id, month) as points,
        100 * weight * (1 - signal_score) / sum(weight) over (partition by customer_id, month) as points_lost
    from signal_scores
),

scores as (
    select
        customer_id,
        month,
        -- Rounded to 2 decimals: the band is decided on the score people see
        -- (and float noise cannot push a perfect score above 100).
        round(sum(points), 2) as health_score,
        {{ dbt.listagg(
            "case when points_lost > 0 then signal_name end",
            "','",
            "order by points_lost desc, signal_name") }} as risk_signals
    from weighted
    group by
        customer_id,
        month
),

-- The band with the highest min_score at or below the score.
banded as (
    select
        scores.customer_id,
        scores.month,
        scores.health_score,
        scores.risk_signals,
        health_risk_bands.risk_band,
        row_number() over (
            partition by scores.customer_id, scores.month
            order by health_risk_bands.min_score desc
        ) as band_rank
    from scores
    inner join health_risk_bands
        on scores.health_score >= health_risk_bands.min_score
),

final as (
    select
        cast(int_customer_health_signals.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(int_customer_health_signals.month as date) as month,
        cast(int_customer_health_signals.mrr as {{ type_money() }}) as mrr,
        cast(coalesce(banded.health_score, 100) as {{ type_double() }}) as health_score,
        cast(coalesce(banded.risk_band, 'healthy') as {{ dbt.type_string() }}) as risk_band,
        cast(nullif(banded.risk_signals, '') as {{ dbt.type_string() }}) as risk_signals,
        cast(int_customer_health_signals.mrr_trend as {{ type_double() }}) as mrr_trend,
        cast(int_customer_health_signals.seat_utilization as {{ type_double() }}) as seat_utilization,
        cast(int_customer_health_signals.active_user_trend as {{ type_double() }}) as active_user_trend,
        cast(int_customer_health_signals.onboarding_status as {{ dbt.type_string() }}) as onboarding_status,
        cast(int_customer_health_signals.latest_nps_category as {{ dbt.type_string() }}) as latest_nps_category,
        cast(int_customer_health_signals.tickets_90d as {{ dbt.type_bigint() }}) as tickets_90d,
        cast(int_customer_health_signals.max_days_overdue as {{ dbt.type_bigint() }}) as max_days_overdue,
        cast(int_customer_health_signals.days_since_last_activity as {{ dbt.type_bigint() }})
            as days_since_last_activity,
        cast(int_customer_health_signals.active_users_30d as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(int_customer_health_signals.seats as {{ dbt.type_bigint() }}) as seats
    from int_customer_health_signals
    left join banded
        on
            int_customer_health_signals.customer_id = banded.customer_id
            and int_customer_health_signals.month = banded.month
            and banded.band_rank = 1
)

select * from final
