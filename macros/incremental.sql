{#- Incremental runs (README, Operations): the event-sized models recompute
    only from the first recomputed day: `lookback_days` before the last
    processed day, which retain passes as var processed_through, so that
    events arriving up to lookback_days late are picked up; and never later
    than the day after as_of_date, so that a run with an earlier as-of date
    drops the days after it. Without processed_through (a plain `dbt build`)
    nothing is known to be processed and every day is recomputed. -#}

{% macro incremental_start_date() -%}
    {{ return(adapter.dispatch('incremental_start_date', 'retain')()) }}
{%- endmacro %}

{#- Written into the build file by retain, like as_of_date (macros/as_of.sql). -#}
{% macro duckdb__incremental_start_date() -%}
    {{ run_date_in_build_file('retain_incremental_start_date', default__incremental_start_date()) }}
{%- endmacro %}

{% macro default__incremental_start_date() -%}
    {%- set through = var('processed_through', none) -%}
    {%- if not through -%}
        cast('1900-01-01' as date)
    {%- else -%}
        least(
            cast({{ dbt.dateadd('day', -(var('lookback_days', 3) | int), "cast('" ~ through ~ "' as date)") }} as date),
            cast({{ dbt.dateadd('day', 1, as_of_date()) }} as date)
        )
    {%- endif -%}
{%- endmacro %}

{#- First month a monthly incremental model recomputes: the month of the first
    recomputed day (a month's values depend on all its days). -#}
{% macro incremental_start_month() -%}
    cast({{ dbt.date_trunc('month', incremental_start_date()) }} as date)
{%- endmacro %}

{#- The recomputed range, as the predicate replace_range deletes by: the
    days or months from the first recomputed one on. -#}
{% macro from_first_day(column) -%}
    {{ column }} >= {{ incremental_start_date() }}
{%- endmacro %}

{% macro from_first_month(column) -%}
    {{ column }} >= {{ incremental_start_month() }}
{%- endmacro %}

{#- The moment the first recomputed day starts. -#}
{% macro incremental_start_at() -%}
    cast({{ incremental_start_date() }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The config of every incremental model: the rows matching `replaced` (SQL)
    are deleted, and the model's select (in incremental mode) returns them
    again, recomputed. `range_column` is the day or month column the range
    is made of (none when the replaced rows are not a range of it). -#}
{% macro replace_range_config(replaced, range_column=none) -%}
    {{ return(adapter.dispatch('replace_range_config', 'retain')(replaced, range_column)) }}
{%- endmacro %}

{% macro default__replace_range_config(replaced, range_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'replace_range',
        'incremental_predicates': [replaced],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- Spark's Parquet tables take no delete: a range of days or months is
    replaced as partitions, and a model whose replaced rows are not a range
    (settled rows kept) is rebuilt whole. Before the recomputed rows are
    inserted (insert_overwrite), the pre-hook drops every partition in the
    range: insert_overwrite alone would replace only the partitions the new
    rows fill, and keep a day that lost all its rows. -#}
{% macro spark__replace_range_config(replaced, range_column) -%}
    {%- if range_column is none -%}
        {{ return({'materialized': 'table'}) }}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [range_column],
        'on_schema_change': 'fail',
        'pre_hook': '{{ retain.drop_replaced_partitions(' ~ tojson(replaced) ~ ', ' ~ tojson(range_column) ~ ') }}',
    }) }}
{%- endmacro %}

{#- The pre-hook of a range model on Spark: in an incremental run, drop the
    built table's partitions whose rows match `replaced`, in one statement.
    It runs the statement itself and leaves the hook empty. -#}
{% macro drop_replaced_partitions(replaced, range_column) -%}
    {%- if is_incremental() -%}
        {%- set replaced_values = run_query(
            'select distinct cast(' ~ range_column ~ ' as string) from ' ~ this
            ~ ' where ' ~ replaced
        ).columns[0].values() -%}
        {%- if replaced_values | length > 0 -%}
            {%- set partitions = [] -%}
            {%- for value in replaced_values | sort -%}
                {%- do partitions.append('partition (' ~ range_column ~ ' = ' ~ quoted_string(value) ~ ')') -%}
            {%- endfor -%}
            {%- do run_query('alter table ' ~ this ~ ' drop if exists ' ~ (partitions | join(', '))) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A model that keeps its settled rows: `settled`, SQL over the model's own
    columns, is true for a row that can no longer change (NULL counts as not
    settled). A run deletes every other row and recomputes it, so the model's
    select returns the rows is_unsettled() lets through. -#}
{% macro keep_settled_config(settled) -%}
    {{ return(replace_range_config('not coalesce(' ~ settled ~ ', false)')) }}
{%- endmacro %}

{#- True for a row of `outer` that the built model, matched on `keys`, does
    not hold as settled. -#}
{% macro is_unsettled(outer, keys, settled) -%}
    not exists (
        select settled_rows.{{ keys[0] }}
        from {{ this }} as settled_rows
        where
            {%- for key in keys %}
            settled_rows.{{ key }} = {{ outer }}.{{ key }} and
            {%- endfor %}
            coalesce({{ settled }}, false)
    )
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
