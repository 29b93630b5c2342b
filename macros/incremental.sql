{#- Incremental runs (README, Operations): the event-sized models recompute
    only the days from `lookback_days` before the last processed day, so
    that events arriving up to lookback_days late are picked up, and drop
    any day after as_of_date (a run with an earlier as-of date than the
    last one). retain passes the last processed day as var processed_through;
    a plain `dbt build` takes the table's newest day instead. -#}

{% macro incremental_start_date(day_column='date_day') -%}
    {%- set through = var('processed_through', none) -%}
    {%- set lookback = var('lookback_days', 3) | int -%}
    {%- if through -%}
        {%- set processed = "cast('" ~ through ~ "' as date)" -%}
    {%- else -%}
        {%- set processed = "(select max(" ~ day_column ~ ") from " ~ this ~ ")" -%}
    {%- endif -%}
    least(
        cast({{ dbt.dateadd('day', -lookback, processed) }} as date),
        cast({{ dbt.dateadd('day', 1, as_of_date()) }} as date)
    )
{%- endmacro %}

{#- First month a monthly incremental model recomputes: the month of the first
    recomputed day (a month's values depend on all its days). -#}
{% macro incremental_start_month(day_column='month') -%}
    cast({{ dbt.date_trunc('month', incremental_start_date(day_column)) }} as date)
{%- endmacro %}

{#- The config of every incremental model: `column >= start` is the range it
    replaces, the same range its select recomputes. -#}
{% macro replace_range_config(column, grain='day') -%}
    {%- set start = incremental_start_month(column) if grain == 'month' else incremental_start_date(column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'replace_range',
        'incremental_predicates': [column ~ ' >= ' ~ start],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- Strategy replace_range: delete the rows of the recomputed range, then insert
    the recomputed rows. Unlike delete+insert on a key, a day that lost all its
    rows (or lies after as_of_date) is emptied too. -#}
{% macro get_incremental_replace_range_sql(arg_dict) -%}
    {%- set predicates = arg_dict['incremental_predicates'] -%}
    {%- if not predicates -%}
        {{ exceptions.raise_compiler_error('replace_range needs incremental_predicates: the range to replace') }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ predicates | join(' and ') }};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
