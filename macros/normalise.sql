{#- Contract conventions (raw-contract.md): values are trimmed, empty cells
    are NULL, enumerations are lower case and currency codes upper case. -#}

{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro clean_enum(column) -%}
    lower({{ clean_text(column) }})
{%- endmacro %}

{% macro clean_currency(column) -%}
    upper({{ clean_text(column) }})
{%- endmacro %}

{% macro money(column, empty_means_zero=false) -%}
    {%- if empty_means_zero -%}
    cast(coalesce({{ column }}, 0) as {{ dbt.type_numeric() }})
    {%- else -%}
    cast({{ column }} as {{ dbt.type_numeric() }})
    {%- endif -%}
{%- endmacro %}
