{#- The warehouse is computed as if built at the end of `as_of_date`
    (../shared/spec/metrics.md, Settings). Every model reads the date
    through these macros, so that one var moves the whole warehouse. -#}

{% macro as_of_date_string() -%}
    {%- set configured = var('as_of_date', none) -%}
    {%- if configured is none or configured | string | trim == '' -%}
        {{ return(run_started_at.strftime('%Y-%m-%d')) }}
    {%- endif -%}
    {%- set text = configured | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

{#- A run of retain on DuckDB writes its dates into the build file as DuckDB
    macros (retain.engines.duckdb.define_run_dates) and passes the constant var
    run_dates_in_build_file instead of the day: any change of --vars makes dbt
    parse the whole project again, and DuckDB folds the macro into a constant
    filter anyway. A plain `dbt build` (and Spark) reads var as_of_date. -#}
{% macro as_of_date() -%}
    {{ return(adapter.dispatch('as_of_date', 'retain')()) }}
{%- endmacro %}

{% macro default__as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{% macro duckdb__as_of_date() -%}
    {{ run_date_in_build_file('retain_as_of_date', default__as_of_date()) }}
{%- endmacro %}

{#- A run date on DuckDB: the build file's macro when retain wrote it, else
    the date from the vars (from_vars, SQL). -#}
{% macro run_date_in_build_file(macro_name, from_vars) -%}
    {%- if var('run_dates_in_build_file', false) -%}
        main.{{ macro_name }}()
    {%- else -%}
        {{ from_vars }}
    {%- endif -%}
{%- endmacro %}

{#- Start of the day after as_of_date: rows created at or after it do not exist yet. -#}
{% macro as_of_end() -%}
    cast({{ dbt.dateadd('day', 1, as_of_date()) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro as_of_month() -%}
    cast({{ dbt.date_trunc('month', as_of_date()) }} as date)
{%- endmacro %}

{#- A month is complete once its last day is in the warehouse: every month
    before the as_of month, and the as_of month when as_of_date is its last
    day. BI tools filter on it so a month in progress is never compared with
    full months. -#}
{% macro is_complete_month(month) -%}
    ({{ dbt.dateadd('month', 1, month) }} <= {{ dbt.dateadd('day', 1, as_of_date()) }})
{%- endmacro %}
