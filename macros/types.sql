{#- Types the interface promises (metrics.md, Interface tables), dispatched so
    the models keep their meaning on other engines. dbt.type_float() is a
    4-byte float on DuckDB, too coarse for ratios. -#}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'retain')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- Sums of money in the reporting currency. -#}
{% macro type_money() -%}
    decimal(18, 2)
{%- endmacro %}

{#- A line's monthly rate: 8 decimals, rounded where it is computed. -#}
{% macro type_rate() -%}
    decimal(38, 8)
{%- endmacro %}

{#- A ratio: NULL when the denominator is 0 or NULL, never 0 and never an error. -#}
{% macro safe_ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0)
{%- endmacro %}

{#- Cents, half away from zero (98.505 -> 98.51). -#}
{% macro round_to_cents(amount) -%}
    cast(round({{ amount }}, 2) as {{ type_money() }})
{%- endmacro %}

{#- numerator / denominator as DuckDB divides decimals and integers: in DOUBLE.
    Spark divides them as decimals and keeps 6 decimals once the precision
    runs out (1 second / 60.0 = 0.016667), so its version converts first. -#}
{% macro divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('divide', 'retain')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__divide(numerator, denominator) -%}
    ({{ numerator }}) / ({{ denominator }})
{%- endmacro %}

{% macro spark__divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }}) / cast({{ denominator }} as {{ type_double() }})
{%- endmacro %}
