{#- A model's column facts in one test node and one scan of the model, one row
    per broken fact (`fact`, `failing_rows`), with the semantics of dbt's
    per-column tests:
    - not_null: [column, ...]: no NULL (failing_rows: the NULL rows).
    - accepted_values: {column: [value, ...]}: every non-NULL value is listed;
      NULL is accepted, as dbt's accepted_values. Strings are quoted, numbers
      and booleans are not (dbt's `quote: false`); quotes in strings are escaped
      for the engine (dbt.escape_single_quotes). failing_rows: rows with an
      unlisted value.
    - unique: [column, ...]: no non-NULL value on two rows; NULLs are ignored,
      as dbt's unique. failing_rows: rows beyond the first of each repeated value.
    An empty model breaks nothing (each sum is NULL). Plain SQL for every
    engine (no count_if, no ::, no filter clause). -#}
{% test column_facts(model, not_null=[], accepted_values={}, unique=[]) %}
{%- set facts = [] %}
{%- for column in not_null %}
    {%- do facts.append({
        'fact': 'not_null(' ~ column ~ ')',
        'failing': 'sum(case when ' ~ column ~ ' is null then 1 else 0 end)'}) %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
    {%- if not values %}
        {{ exceptions.raise_compiler_error("column_facts: no accepted values for " ~ column) }}
    {%- endif %}
    {%- set literals = [] %}
    {%- for value in values %}
        {%- if value is sameas true or value is sameas false %}
            {%- do literals.append('true' if value else 'false') %}
        {%- elif value is number %}
            {%- do literals.append(value | string) %}
        {%- else %}
            {%- do literals.append("'" ~ dbt.escape_single_quotes(value | string) ~ "'") %}
        {%- endif %}
    {%- endfor %}
    {%- do facts.append({
        'fact': 'accepted_values(' ~ column ~ ')',
        'failing': 'sum(case when ' ~ column ~ ' not in (' ~ literals | join(', ')
            ~ ') then 1 else 0 end)'}) %}
{%- endfor %}
{%- for column in unique %}
    {%- do facts.append({
        'fact': 'unique(' ~ column ~ ')',
        'failing': 'count(' ~ column ~ ') - count(distinct ' ~ column ~ ')'}) %}
{%- endfor %}
{%- if not facts %}
    {{ exceptions.raise_compiler_error("column_facts: name not_null, accepted_values or unique columns") }}
{%- endif %}
with

-- Every fact's count in one pass over the model.
fact_counts as (
    select
        {%- for fact in facts %}
        {{ fact.failing }} as failing_{{ loop.index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}
),

fact_names as (
    {%- for fact in facts %}
    select {{ loop.index }} as fact_number, '{{ dbt.escape_single_quotes(fact.fact) }}' as fact
    {%- if not loop.last %}
    union all{% endif %}
    {%- endfor %}
),

-- One row per fact: the counts' single row turned into a column.
fact_results as (
    select
        fact_names.fact,
        case fact_names.fact_number
            {%- for fact in facts %}
            when {{ loop.index }} then fact_counts.failing_{{ loop.index }}
            {%- endfor %}
        end as failing_rows
    from fact_names
    cross join fact_counts
)

select
    fact,
    failing_rows
from fact_results
where failing_rows > 0
{% endtest %}
