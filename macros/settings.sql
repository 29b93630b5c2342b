{#- Settings vars that take one of a few values: a typo stops the build
    with the allowed values instead of silently changing a metric. -#}
{% macro setting(name, allowed) -%}
    {%- set value = var(name) | string | trim -%}
    {%- if value not in allowed -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be one of " ~ allowed | join(', ') ~ "; got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- The mrr_change_threshold as money: cents are compared with it, never floats. -#}
{% macro mrr_change_threshold() -%}
    cast({{ var('mrr_change_threshold') }} as {{ type_money() }})
{%- endmacro %}

{% macro reporting_currency() -%}
    {{ quoted_string(var("reporting_currency") | string | trim | upper) }}
{%- endmacro %}
