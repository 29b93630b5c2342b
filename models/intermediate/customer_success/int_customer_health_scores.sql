-- Health score per paying customer and month (metrics.md, Customer health):
-- each signal's value becomes a 0..1 score on a linear ramp between the
-- seed's bad_value (0) and good_value (1); the health score is 100 x the
-- weighted mean of the available scores, and the signals that lost points
-- are listed, most points lost first. Computed row-wise, one row per
-- customer-month with a column per signal (the seed's weights pivoted into
-- one row), so that nothing is unpivoted, windowed or aggregated per
-- customer: every step streams. Over 150 lines because the score is one
-- formula (ramp, weights, band, reasons) read best in one place.
{% set signals = health_signal_values() %}
{% set points_lost = {} %}
{% set loss_ranks = {} %}
{% for signal_name in signals %}
{% do points_lost.update({signal_name: signal_name ~ '_points_lost'}) %}
{% do loss_ranks.update({signal_name: signal_name ~ '_loss_rank'}) %}
{% endfor %}
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

-- The seed's weights as one row, three columns per signal of macro
-- health_signal_values (NULL: the signal has no positive weight and is left
-- out of every score).
signal_weights as (
    select
        {% for signal_name in signals %}
        max(case when signal_name = '{{ signal_name }}' then weight end) as {{ signal_name }}_weight,
        max(case when signal_name = '{{ signal_name }}' then good_value end) as {{ signal_name }}_good_value,
        max(case when signal_name = '{{ signal_name }}' then bad_value end) as {{ signal_name }}_bad_value,
        {% endfor %}
        count(*) as weighted_signals
    from health_signal_weights
),

-- Each band holds the scores [min_score, the next band's min_score): the band
-- with the highest min_score at or below a score.
risk_band_ranges as (
    select
        risk_band,
        min_score,
        coalesce(
            lead(min_score) over (order by min_score),
            cast('Infinity' as {{ type_double() }})
        ) as next_min_score
    from health_risk_bands
),

-- Every signal's value (NULL = signal not available).
signal_values as (
    select
        {% for signal_name, signal_value in signals.items() %}
        cast({{ signal_value }} as {{ type_double() }}) as {{ signal_name }}_value,
        {% endfor %}
        *
    from int_customer_health_signals
),

-- A signal counts with its weight when it has a value and a positive weight.
-- Its score is the linear ramp, clamped to 0..1; works whichever of good/bad
-- is larger.
signal_scores as (
    select
        {% for signal_name in signals %}
        case
            when signal_values.{{ signal_name }}_value is not null
                then signal_weights.{{ signal_name }}_weight
        end as {{ signal_name }}_weight,
        case
            when
                (signal_values.{{ signal_name }}_value - signal_weights.{{ signal_name }}_bad_value)
                / (signal_weights.{{ signal_name }}_good_value - signal_weights.{{ signal_name }}_bad_value) >= 1
                then 1.0
            when
                (signal_values.{{ signal_name }}_value - signal_weights.{{ signal_name }}_bad_value)
                / (signal_weights.{{ signal_name }}_good_value - signal_weights.{{ signal_name }}_bad_value) <= 0
                then 0.0
            else
                (signal_values.{{ signal_name }}_value - signal_weights.{{ signal_name }}_bad_value)
                / (signal_weights.{{ signal_name }}_good_value - signal_weights.{{ signal_name }}_bad_value)
        end as {{ signal_name }}_score,
        {% endfor %}
        signal_values.*
    from signal_values
    cross join signal_weights
),

-- Weights are re-normalised over the signals the customer-month has (NULL:
-- none).
total_weights as (
    select
        *,
        nullif(
            0
            {% for signal_name in signals %}
            + coalesce({{ signal_name }}_weight, 0)
            {% endfor %},
            0
        ) as total_weight
    from signal_scores
),

weighted as (
    select
        {% for signal_name in signals %}
        100 * {{ signal_name }}_weight * {{ signal_name }}_score / total_weight as {{ signal_name }}_points,
        -- 0 when the signal has no value (for the ranking below).
        coalesce(100 * {{ signal_name }}_weight * (1 - {{ signal_name }}_score) / total_weight, 0)
            as {{ signal_name }}_points_lost,
        {% endfor %}
        *
    from total_weights
),

-- Each signal's place in risk_signals (macro value_rank): most points lost
-- first, ties by name.
loss_ranked as (
    select
        {% for signal_name in signals %}
        {{ value_rank(points_lost, signal_name) }} as {{ signal_name }}_loss_rank,
        {% endfor %}
        *
    from weighted
),

scores as (
    select
        *,
        -- Rounded to 2 decimals: the band is decided on the score people see
        -- (and float noise cannot push a perfect score above 100). NULL when
        -- no signal has points.
        round(
            case
                when
                    false
                    {% for signal_name in signals %}
                    or {{ signal_name }}_points is not null
                    {% endfor %}
                    then
                        0
                        {% for signal_name in signals %}
                        + coalesce({{ signal_name }}_points, 0)
                        {% endfor %}
            end,
            2
        ) as health_score,
        -- The signals that lost points, most points lost first, then by name.
        {{ names_in_rank_order(points_lost, loss_ranks) }} as risk_signals
    from loss_ranked
),

banded as (
    select
        scores.*,
        risk_band_ranges.risk_band
    from scores
    left join risk_band_ranges
        on
            scores.health_score >= risk_band_ranges.min_score
            and scores.health_score < risk_band_ranges.next_min_score
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(month as date) as month,
        cast(mrr as {{ type_money() }}) as mrr,
        cast(coalesce(health_score, 100) as {{ type_double() }}) as health_score,
        cast(coalesce(risk_band, 'healthy') as {{ dbt.type_string() }}) as risk_band,
        cast(nullif(risk_signals, '') as {{ dbt.type_string() }}) as risk_signals,
        cast(mrr_trend as {{ type_double() }}) as mrr_trend,
        cast(seat_utilization as {{ type_double() }}) as seat_utilization,
        cast(active_user_trend as {{ type_double() }}) as active_user_trend,
        cast(onboarding_status as {{ dbt.type_string() }}) as onboarding_status,
        cast(latest_nps_category as {{ dbt.type_string() }}) as latest_nps_category,
        cast(tickets_90d as {{ dbt.type_bigint() }}) as tickets_90d,
        cast(max_days_overdue as {{ dbt.type_bigint() }}) as max_days_overdue,
        cast(days_since_last_activity as {{ dbt.type_bigint() }}) as days_since_last_activity,
        cast(active_users_30d as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(seats as {{ dbt.type_bigint() }}) as seats
    from banded
)

select * from final
