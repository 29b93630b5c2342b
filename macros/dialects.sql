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

{#- A value (a path, a setting) as a SQL string literal on any target. dbt's
    escape_single_quotes doubles each quote by default; dbt-spark 1.11's puts a
    backslash before it and leaves backslashes alone, which Spark's parser reads
    as escapes too: a value ending in a backslash would end the literal early. -#}
{% macro quoted_string(text) -%}
    {{ return(adapter.dispatch('quoted_string', 'retain')(text | string)) }}
{%- endmacro %}

{% macro default__quoted_string(text) -%}
    {{ return(dbt.string_literal(dbt.escape_single_quotes(text))) }}
{%- endmacro %}

{% macro spark__quoted_string(text) -%}
    {{ return(default__quoted_string(text | replace('\\', '\\\\'))) }}
{%- endmacro %}
