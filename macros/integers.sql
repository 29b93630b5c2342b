{#- Rows 0 .. 10^digits - 1 as `n`, from cross joins of ten digits: portable
    where generate_series is not (the calendar spines are built from it). -#}
{% macro integers(digits) -%}
    {%- for position in range(digits) %}
    {{ 'cross join' if not loop.first else 'from' }} (
        {%- for digit in range(10) %}
        select {{ digit }} as d{{ position }}{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as digit_{{ position }}
    {%- endfor %}
{%- endmacro %}

{% macro integer_expression(digits) -%}
    {%- for position in range(digits) -%}
    d{{ position }} * {{ 10 ** position }}{{ ' + ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
