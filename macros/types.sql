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

{#- A DOUBLE rounded to a rate, 8 decimals half away from zero, as DuckDB's cast
    rounds it: the double times 10^8, rounded. Spark's cast rounds the double's
    shortest decimal text instead and differs in the 8th decimal now and then. -#}
{% macro round_to_rate(amount) -%}
    {{ return(adapter.dispatch('round_to_rate', 'retain')(amount)) }}
{%- endmacro %}

{% macro default__round_to_rate(amount) -%}
    cast({{ amount }} as {{ type_rate() }})
{%- endmacro %}

{% macro spark__round_to_rate(amount) -%}
    cast(
        cast(round(cast({{ amount }} as {{ type_double() }}) * 100000000) as decimal(38, 0))
        * cast(0.00000001 as decimal(9, 8))
        as {{ type_rate() }}
    )
{%- endmacro %}

{#- amount / divisor in cents, exactly, half away from zero: amount is money
    (whole cents) and divisor a positive whole number, so the quotient in
    cents is a fraction of two integers whose floor a DOUBLE gets right; a
    DOUBLE quotient rounded to cents would not (100.01 / 2 = 50.00499..). -#}
{% macro money_divided(amount, divisor) -%}
    cast(
        cast(
            sign({{ amount }}) * floor({{ divide(
                '2 * abs(cast((' ~ amount ~ ') * 100 as ' ~ dbt.type_bigint() ~ ')) + (' ~ divisor ~ ')',
                '2 * (' ~ divisor ~ ')') }})
            as decimal(18, 0)
        ) * cast(0.01 as decimal(3, 2))
        as {{ type_money() }}
    )
{%- endmacro %}
