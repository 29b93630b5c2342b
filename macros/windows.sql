{#- The trailing windows of customer success, defined once: activity counts
    the 30 days to a snapshot date (and the 30 before), support load and NPS
    the 90 x 24 hours before a snapshot ends (metrics.md, Customer health). -#}

{% macro in_last_days(day, snapshot_date, days) -%}
    ({{ day }} > {{ dbt.dateadd('day', -days, snapshot_date) }} and {{ day }} <= {{ snapshot_date }})
{%- endmacro %}

{% macro in_last_hours(moment, snapshot_end_at, hours) -%}
    ({{ moment }} >= {{ dbt.dateadd('hour', -hours, snapshot_end_at) }} and {{ moment }} < {{ snapshot_end_at }})
{%- endmacro %}
