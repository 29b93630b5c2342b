{#- Rows 0 .. 10^digits - 1 as `n`, from cross joins of ten digits: portable
    where generate_series is not (the calendar spines are built from it). -#}
{% macro integers(digits) -%}
    {{ return(adapter.dispatch('integers', 'retain')(digits)) }}
{%- endmacro %}

{% macro integer_expression(digits) -%}
    {{ return(adapter.dispatch('integer_expression', 'retain')(digits)) }}
{%- endmacro %}

{% macro default__integers(digits) -%}
    {%- for position in range(digits) %}
    {{ 'cross join' if not loop.first else 'from' }} (
        {%- for digit in range(10) %}
        select {{ digit }} as d{{ position }}{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as digit_{{ position }}
    {%- endfor %}
{%- endmacro %}

{% macro default__integer_expression(digits) -%}
    {%- for position in range(digits) -%}
    d{{ position }} * {{ 10 ** position }}{{ ' + ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- Spark plans ten-way cross joins slowly (28 s for 10^5 rows at 10,000
    customers); it has sequence() for the same rows. -#}
{% macro spark__integers(digits) -%}
    from (select explode(sequence(0, {{ 10 ** digits - 1 }})) as n) as integers_{{ digits }}
{%- endmacro %}

{% macro spark__integer_expression(digits) -%}
    n
{%- endmacro %}
