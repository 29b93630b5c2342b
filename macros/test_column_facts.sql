{#- A model's or seed's column facts in one test node, one row per broken fact
    (`fact`, `failing_rows`): the per-column facts in one scan of the relation,
    with the semantics of dbt's per-column tests, and a unique combination of
    columns in a group by of its own:
    - not_null: [column, ...]: no NULL (failing_rows: the NULL rows).
    - accepted_values: {column: [value, ...]}: every non-NULL value is listed;
      NULL is accepted, as dbt's accepted_values. Strings are quoted, numbers
      and booleans are not (dbt's `quote: false`); quotes in strings are escaped
      for the engine (dbt.escape_single_quotes). failing_rows: rows with an
      unlisted value.
    - unique: [column, ...]: no non-NULL value on two rows; NULLs are ignored,
      as dbt's unique. failing_rows: rows beyond the first of each repeated value.
    - not_after_as_of_month: [column, ...]: no value after the as_of month
      (no month after it is ever reported). failing_rows: the later rows.
    - unique_combination: [column, ...]: no two rows hold the same values of
      these columns together (NULLs equal, as a group by has them).
      failing_rows: rows beyond the first of each repeated combination.
    An empty model breaks nothing (each sum is NULL). Plain SQL for every
    engine (no count_if, no ::, no filter clause). -#}
{% test column_facts(model, not_null=[], accepted_values={}, unique=[],
                     not_after_as_of_month=[], unique_combination=[]) %}
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
{%- for column in not_after_as_of_month %}
    {%- do facts.append({
        'fact': 'not_after_as_of_month(' ~ column ~ ')',
        'failing': 'sum(case when ' ~ column ~ ' > ' ~ as_of_month() ~ ' then 1 else 0 end)'}) %}
{%- endfor %}
{%- if not facts and not unique_combination %}
    {{ exceptions.raise_compiler_error("column_facts: name not_null, accepted_values, unique, not_after_as_of_month or unique_combination columns") }}
{%- endif %}
{%- set combination_fact = 'unique_combination(' ~ unique_combination | join(', ') ~ ')' %}
with
{%- if facts %}

-- Every fact's count in one pass over the model.
fact_counts as (
    select
        {%- for fact in facts %}
        {{ fact.failing }} as failing_{{ loop.index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}
),
{%- endif %}
{%- if unique_combination %}

repeated_combinations as (
    select count(*) as rows_with_this_combination
    from {{ model }}
    group by {{ unique_combination | join(', ') }}
    having count(*) > 1
),

combination_counts as (
    select sum(rows_with_this_combination - 1) as failing_combination
    from repeated_combinations
),
{%- endif %}

fact_names as (
    {%- for fact in facts %}
    select {{ loop.index }} as fact_number, '{{ dbt.escape_single_quotes(fact.fact) }}' as fact
    {%- if not loop.last or unique_combination %}
    union all{% endif %}
    {%- endfor %}
    {%- if unique_combination %}
    select 0 as fact_number, '{{ dbt.escape_single_quotes(combination_fact) }}' as fact
    {%- endif %}
),

-- One row per fact: the counts' single rows turned into a column.
fact_results as (
    select
        fact_names.fact,
        case fact_names.fact_number
            {%- for fact in facts %}
            when {{ loop.index }} then fact_counts.failing_{{ loop.index }}
            {%- endfor %}
            {%- if unique_combination %}
            when 0 then combination_counts.failing_combination
            {%- endif %}
        end as failing_rows
    from fact_names
    {%- if facts %}
    cross join fact_counts
    {%- endif %}
    {%- if unique_combination %}
    cross join combination_counts
    {%- endif %}
)

select
    fact,
    failing_rows
from fact_results
where failing_rows > 0
{% endtest %}
