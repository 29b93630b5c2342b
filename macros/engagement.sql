{#- Engagement (../shared/spec/metrics.md, Engagement): a user is active
    with an event whose name is in var active_event_names (compared exactly,
    case-sensitive); an empty list means every event. -#}
{% macro is_active_event(event_name_column) -%}
    {%- set names = var('active_event_names', []) -%}
    {%- if names is string -%}
        {%- set names = [names] if names | trim != '' else [] -%}
    {%- endif -%}
    {%- if names | length == 0 -%}
    ({{ event_name_column }} is not null)
    {%- else -%}
    ({{ event_name_column }} in (
        {%- for name in names -%}
        {{ quoted_string(name) }}{{ ', ' if not loop.last }}
        {%- endfor -%}
    ))
    {%- endif -%}
{%- endmacro %}
