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

{#- Daily windows from monthly day bitmaps (metrics_engagement_daily). Day k
    of a month is bit k - 1 of its bitmap (day_of_month_bit). The days before
    a month are one bitmap of 62 bits: the month before ends at bit 61 and the
    month before that right below it (a 30-day window reaches two months back
    at most: March 1 back to January 31). A window of `length` days ending on
    day `day` of a month is then two constant masks: its days in the month,
    and the bits 62 - L to 61 for its L days before the month. -#}
{% macro days_before_month_end_bit() -%}
    62
{%- endmacro %}

{% macro window_days_in_month_mask(day, length) -%}
    {%- set first = [1, day - length + 1] | max -%}
    {{ (2 ** (day - first + 1) - 1) * 2 ** (first - 1) }}
{%- endmacro %}

{% macro window_days_before_month_mask(day, length) -%}
    {%- set before = [length - day, 0] | max -%}
    {{ (2 ** before - 1) * 2 ** (days_before_month_end_bit() | int - before) }}
{%- endmacro %}

{#- An aggregate: the users (rows) with an active day in the window of
    `length` days ending on day `day` of the month, from the month's day
    bitmap and the bitmap of the days before it. -#}
{% macro users_in_window(month_days, days_before, day, length) -%}
    sum(case when ({{ month_days }} & {{ window_days_in_month_mask(day, length) }}) <> 0
    {%- if day < length %} or ({{ days_before }} & {{ window_days_before_month_mask(day, length) }}) <> 0{% endif %} then 1 else 0 end)
{%- endmacro %}

{#- The column <prefix>_<d> for the day of the month d (1 to 31) in day_column. -#}
{% macro column_of_day(day_column, prefix) -%}
    case {{ day_column }}{% for day in range(1, 32) %} when {{ day }} then {{ prefix }}_{{ day }}{% endfor %} end
{%- endmacro %}
