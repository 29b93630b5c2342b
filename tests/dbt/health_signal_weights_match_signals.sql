-- The seed health_signal_weights names exactly the signals the health score
-- computes (macro health_signal_values): an unknown signal would be ignored
-- and a missing one silently drop out of the score, so either fails the build.
with

health_signal_weights as (
    select signal_name
    from {{ ref('health_signal_weights') }}
),

known_signals as (
    {%- for signal_name in health_signal_values() %}
    select '{{ signal_name }}' as signal_name{{ ' union all' if not loop.last }}
    {%- endfor %}
),

mismatches as (
    select
        coalesce(health_signal_weights.signal_name, known_signals.signal_name) as signal_name,
        case
            when known_signals.signal_name is null then 'in the seed but not a known health signal'
            else 'a health signal missing from the seed'
        end as problem
    from health_signal_weights
    full outer join known_signals
        on health_signal_weights.signal_name = known_signals.signal_name
    where health_signal_weights.signal_name is null or known_signals.signal_name is null
)

select * from mismatches
