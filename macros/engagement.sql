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

{#- The bit of a day in its month's bitmap of days (BIGINT): day d of the
    month is bit d - 1, i.e. the value 2^(d - 1) (at most 2^30, exact in a
    double). The bitwise or (bit_or) of a month's day bits is its bitmap. -#}
{% macro day_of_month_bit(date_day) -%}
    cast(power(2, extract(day from {{ date_day }}) - 1) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- An aggregate: the distinct days set in any of the group's day bitmaps
    (the bitwise or of the bitmaps, then its set bits). Counts the distinct
    active days of a customer-month from its user-months, without a DISTINCT
    over user-days. bit_or and bit_count are DuckDB's and Spark's names. -#}
{% macro days_in_bitmaps(bitmap) -%}
    {{ return(adapter.dispatch('days_in_bitmaps', 'retain')(bitmap)) }}
{%- endmacro %}

{% macro default__days_in_bitmaps(bitmap) -%}
    bit_count(bit_or({{ bitmap }}))
{%- endmacro %}
