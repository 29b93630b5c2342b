{#- Money as loaded (retain.load keeps more than cents, so nothing is rounded
    before a metric rounds it), in the warehouse's numeric type. -#}
{% macro money(column) -%}
    cast({{ column }} as {{ dbt.type_numeric() }})
{%- endmacro %}
