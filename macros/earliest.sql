{#- The earliest non-NULL value of a column of a relation (a CTE name), as a
    one-row relation with that column: by an ordered limit, not min(), so that
    DuckDB skips every stored block whose earliest value is later than the
    earliest found so far instead of reading them all (the usage events: 9 s of
    a daily build at 1,000,000 customers). -#}
{% macro earliest_row(relation, column) -%}
    select {{ column }}
    from {{ relation }}
    where {{ column }} is not null
    order by {{ column }}
    limit 1
{%- endmacro %}
