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

{#- risk_signals, row-wise and in plain SQL (no unpivot, sort, list or
    string aggregate): the names whose value (points lost) is > 0, largest
    first, ties by name. `values_by_name` maps each name to its column, which
    must not be NULL (0 when the signal lost nothing or has no value).
    value_rank(): a name's 0-based place among the names with a value > 0 =
    how many others have a larger value, or an equal one and a smaller name
    (names are compared here, at compile time), as a sum of 0/1 terms. -#}
{% macro value_rank(values_by_name, name) -%}
    {%- set value = values_by_name[name] -%}
    {%- for other, other_value in values_by_name.items() if other != name %}
    cast({{ other_value }} {{ '>=' if other < name else '>' }} {{ value }} as {{ dbt.type_int() }})
    {{- ' +' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The names joined by `delimiter` in the order of their value_rank() columns
    (`ranks_by_name`): the k-th place holds the name with value > 0 and rank
    k; concat_ws skips the empty places ('' when none). -#}
{% macro names_in_rank_order(values_by_name, ranks_by_name, delimiter=',') -%}
    concat_ws(
        {{ dbt.string_literal(delimiter) }}
        {%- for place in range(values_by_name | length) %},
        case
            {%- for name, value in values_by_name.items() %}
            when {{ ranks_by_name[name] }} = {{ place }} and {{ value }} > 0 then '{{ name }}'
            {%- endfor %}
        end
        {%- endfor %}
    )
{%- endmacro %}
