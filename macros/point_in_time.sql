{#- The spec's point-in-time cut, applied once where raw data enters the
    models: every staging model selects its source through this macro.

    - created_at: the row's own creation time; rows at or after as_of_end
      do not exist yet and are dropped.
    - happens_later: later timestamps of an existing row; one at or after
      as_of_end has not happened yet and reads as NULL.
    - parent: (source table, key column, its created_at) for rows that exist
      only with their parent (invoice lines go with their invoice). -#}
{% macro point_in_time(table, columns, created_at=none, happens_later=[], parent=none) -%}
    select
        {%- for column in columns %}
        {%- if column in happens_later %}
        case when {{ column }} < {{ as_of_end() }} then {{ column }} end as {{ column }}
        {%- else %}
        {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source('raw', table) }}
    where true
    {%- if created_at %}
        and {{ created_at }} < {{ as_of_end() }}
    {%- endif %}
    {%- if parent %}
        and {{ parent[1] }} in (
            select parent_rows.{{ parent[1] }}
            from {{ source('raw', parent[0]) }} as parent_rows
            where parent_rows.{{ parent[2] }} < {{ as_of_end() }}
        )
    {%- endif %}
{%- endmacro %}
