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

{#- DuckDB's ordered string_agg sorts every group on its own: with one value in
    most groups (a customer's plans of a product in a month) that was 1.0 s of
    a 1.3 s group by of 870k rows. Listing the group's values and sorting the
    list gives the same string (array_to_string skips NULLs, as string_agg does;
    a group without values stays NULL) in half the time. Other orders than by
    the measure itself take dbt-duckdb's string_agg. -#}
{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set value = measure | replace('distinct ', '', 1) if measure.startswith('distinct ') else measure -%}
    {%- if limit_num or order_by_clause != 'order by ' ~ value -%}
        {{ dbt_duckdb.duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) }}
    {%- else -%}
        case
            when count({{ value }}) > 0
                then array_to_string(list_sort(list({{ measure }})), {{ delimiter_text }})
        end
    {%- endif -%}
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

{#- An aggregate: the n-th smallest value of `expression` in the group (1 =
    the smallest; NULL when the group has fewer than n values). `n` must be
    constant within the group (a grouped column). Ties count once each, so the
    value does not depend on how tied rows are ordered. `top_n` bounds the
    work: on DuckDB, groups with n <= top_n keep only their top_n smallest
    values (a small fixed-size state, no sort of the raw rows); a group with a
    larger n falls back to sorting its whole list. -#}
{% macro nth_smallest(expression, n, top_n=8) -%}
    {{ return(adapter.dispatch('nth_smallest', 'retain')(expression, n, top_n)) }}
{%- endmacro %}

{#- Spark 4: sort the group's values; try_element_at gives NULL past the end
    (element_at raises under ANSI mode). -#}
{% macro default__nth_smallest(expression, n, top_n) -%}
    try_element_at(array_sort(collect_list({{ expression }})), cast({{ n }} as int))
{%- endmacro %}

{#- DuckDB: min(x, k) keeps the k smallest values, in order, per group. -#}
{% macro duckdb__nth_smallest(expression, n, top_n) -%}
    coalesce(
        list_extract(min({{ expression }}, {{ top_n | int }}) filter (where {{ n }} <= {{ top_n | int }}), {{ n }}),
        list_extract(list_sort(list({{ expression }}) filter (where {{ n }} > {{ top_n | int }})), {{ n }})
    )
{%- endmacro %}
