{#- Where Spark's SQL differs from dbt's own Spark macros. -#}

{#- dbt-spark's listagg drops the order by (collect_list) and returns '' for a
    group without values; Spark 4's listagg keeps both as on DuckDB. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error('listagg with limit_num is not used by retain') }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}
