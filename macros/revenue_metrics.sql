{#- The columns of metrics.md "Monthly revenue metrics", one row per month and
    group of customers, from fct_mrr, fct_mrr_product and the customers' monthly
    MRR: the one place the MRR bridge (movement -> column) and every ratio are
    written. Without customer_groups the group is the whole company (dimension
    and dimension_value 'all', metrics_revenue_monthly); with it, a relation of
    (customer_id, dimension, dimension_value), at most one row per customer and
    dimension, whose dimensions are `dimensions`: every row counts once per
    dimension, in the value of its customer, or in `unknown` when the relation
    has none (metrics_revenue_by_segment_monthly).
    Every month from the first with any mrr > 0 to the as_of month has a row for
    every group that ever pays, in the CTE `revenue_metrics`; a model puts these
    CTEs after its `with` and selects the rows and columns it publishes. -#}
{% macro monthly_revenue_ctes(customer_groups=none, dimensions=none) -%}
{%- set group_dimensions = dimensions if customer_groups else ['all'] %}
{%- set value_column_list = _value_columns(group_dimensions) %}
{%- set value_columns = value_column_list | join(', ') %}
months as (
    select * from {{ ref('int_calendar_months') }}
),

customer_mrr as (
    select * from {{ ref('int_customer_mrr_monthly') }}
),

mrr_movements as (
    select * from {{ ref('fct_mrr') }}
),

product_movements as (
    select * from {{ ref('fct_mrr_product') }}
),

{%- if customer_groups %}

groups_of_customers as (
    select * from {{ customer_groups }}
),

-- A customer's value in every dimension on one row: each row below is put in
-- its group once, summed per combination of values, and only these sums are
-- summed per dimension (sums and counts add up), instead of every row joined
-- and grouped once per dimension.
customer_values as (
    select
        customer_id,
        {%- for dimension in dimensions %}
        max(case when dimension = '{{ dimension }}' then dimension_value end) as value_in_{{ dimension }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from groups_of_customers
    group by customer_id
),
{%- endif %}

valued_customer_mrr as (
    {{ _rows_with_values('customer_mrr', ['month', 'mrr'], customer_groups, group_dimensions) }}
),

valued_mrr_movements as (
    {{ _rows_with_values('mrr_movements', ['month', 'mrr', 'previous_mrr', 'mrr_change', 'movement'],
        customer_groups, group_dimensions) }}
),

valued_product_movements as (
    {{ _rows_with_values('product_movements', ['month', 'movement'], customer_groups, group_dimensions) }}
),

paying_combinations as (
    select
        {{ value_columns }},
        month,
        sum(mrr) as total_mrr,
        count(*) as paying_customers
    from valued_customer_mrr
    group by {{ value_columns }}, month
),

movement_combinations as (
    -- P = customers paying in M-1 = the rows with previous_mrr > 0.
    select
        {{ value_columns }},
        month,
        {%- for movement in ['new', 'reactivation', 'expansion', 'contraction', 'unchanged'] %}
        sum(case when movement = '{{ movement }}' then mrr_change else 0 end) as {{ movement }}_mrr,
        {%- endfor %}
        sum(case when movement = 'churn' then mrr_change else 0 end) as churned_mrr,
        sum(case when movement = 'new' then 1 else 0 end) as new_customers,
        sum(case when movement = 'reactivation' then 1 else 0 end) as reactivated_customers,
        sum(case when movement = 'churn' then 1 else 0 end) as churned_customers,
        sum(case when previous_mrr > 0 then mrr else 0 end) as retained_base_mrr,
        sum(case when previous_mrr > 0 then least(mrr, previous_mrr) else 0 end) as gross_retained_base_mrr
    from valued_mrr_movements
    group by {{ value_columns }}, month
),

twelve_month_combinations as (
    -- Q = customers paying in M-12, followed to M (0 when no longer paying).
    select
        {%- for column in value_column_list %}
        base_months.{{ column }},
        {%- endfor %}
        cast({{ dbt.dateadd('month', 12, 'base_months.month') }} as date) as month,
        sum(base_months.mrr) as base_mrr_12m,
        sum(coalesce(later_months.mrr, 0)) as retained_mrr_12m,
        sum(least(coalesce(later_months.mrr, 0), base_months.mrr)) as gross_retained_mrr_12m
    from valued_customer_mrr as base_months
    left join customer_mrr as later_months
        on
            base_months.customer_id = later_months.customer_id
            and later_months.month = cast({{ dbt.dateadd('month', 12, 'base_months.month') }} as date)
    group by
        {%- for column in value_column_list %}
        base_months.{{ column }},
        {%- endfor %}
        base_months.month
),

-- A customer once per month and kind of product movement, so that the counts
-- below need no DISTINCT aggregate: DuckDB cannot spill one to disk, and at
-- 1,000,000 customers in three dimensions it ran out of memory.
product_movement_customer_rows as (
    select distinct
        {{ value_columns }},
        month,
        customer_id,
        movement
    from valued_product_movements
    where movement in ('upsell', 'cross_sell')
),

product_movement_combinations as (
    select
        {{ value_columns }},
        month,
        sum(case when movement = 'upsell' then 1 else 0 end) as upsell_customers,
        sum(case when movement = 'cross_sell' then 1 else 0 end) as cross_sell_customers
    from product_movement_customer_rows
    group by {{ value_columns }}, month
),

paying_totals as (
    {{ _summed_per_dimension('paying_combinations', ['total_mrr', 'paying_customers'], group_dimensions) }}
),

movement_totals as (
    {{ _summed_per_dimension('movement_combinations', [
        'new_mrr', 'reactivation_mrr', 'expansion_mrr', 'contraction_mrr', 'unchanged_mrr',
        'churned_mrr', 'new_customers', 'reactivated_customers', 'churned_customers',
        'retained_base_mrr', 'gross_retained_base_mrr'], group_dimensions) }}
),

twelve_month_retention as (
    {{ _summed_per_dimension('twelve_month_combinations',
        ['base_mrr_12m', 'retained_mrr_12m', 'gross_retained_mrr_12m'], group_dimensions) }}
),

product_movement_customers as (
    {{ _summed_per_dimension('product_movement_combinations',
        ['upsell_customers', 'cross_sell_customers'], group_dimensions) }}
),

reported_months as (
    -- Months run without gaps from the first month with mrr > 0, for every group.
    -- The company is one group: no join (Spark 4.3 fails to ship a cross join's
    -- plan over a union of literal rows, as dbt's unit tests give, to its tasks).
    select
        {%- if customer_groups %}
        paying_groups.dimension,
        paying_groups.dimension_value,
        {%- else %}
        'all' as dimension,
        'all' as dimension_value,
        {%- endif %}
        months.month_start as month
    from months
    {%- if customer_groups %}
    cross join (
        select distinct
            dimension,
            dimension_value
        from paying_totals
    ) as paying_groups
    {%- endif %}
    where months.month_start >= (select min(customer_mrr.month) from customer_mrr)
),

monthly_bridge as (
    select
        reported_months.dimension,
        reported_months.dimension_value,
        reported_months.month,
        {{ round_to_cents('coalesce(previous_totals.total_mrr, 0)') }} as starting_mrr,
        {{ round_to_cents('coalesce(current_totals.total_mrr, 0)') }} as ending_mrr,
        {%- for movement in ['new', 'reactivation', 'expansion', 'contraction'] %}
        {{ round_to_cents('coalesce(movement_totals.' ~ movement ~ '_mrr, 0)') }} as {{ movement }}_mrr,
        {%- endfor %}
        {{ round_to_cents('coalesce(movement_totals.churned_mrr, 0)') }} as churned_mrr,
        {{ round_to_cents('coalesce(movement_totals.unchanged_mrr, 0)') }} as rounding_mrr,
        cast(coalesce(current_totals.paying_customers, 0) as bigint) as paying_customers,
        cast(coalesce(previous_totals.paying_customers, 0) as bigint) as previously_paying_customers,
        cast(coalesce(movement_totals.new_customers, 0) as bigint) as new_customers,
        cast(coalesce(movement_totals.reactivated_customers, 0) as bigint) as reactivated_customers,
        cast(coalesce(movement_totals.churned_customers, 0) as bigint) as churned_customers,
        twelve_month_retention.base_mrr_12m,
        twelve_month_retention.retained_mrr_12m,
        twelve_month_retention.gross_retained_mrr_12m,
        coalesce(movement_totals.retained_base_mrr, 0) as retained_base_mrr,
        coalesce(movement_totals.gross_retained_base_mrr, 0) as gross_retained_base_mrr,
        coalesce(product_movement_customers.upsell_customers, 0) as upsell_customers,
        coalesce(product_movement_customers.cross_sell_customers, 0) as cross_sell_customers
    from reported_months
    {%- for joined, month_condition in [
        ('paying_totals as current_totals', 'reported_months.month = current_totals.month'),
        ('paying_totals as previous_totals',
         'reported_months.month = cast(' ~ dbt.dateadd('month', 1, 'previous_totals.month') ~ ' as date)'),
        ('movement_totals', 'reported_months.month = movement_totals.month'),
        ('twelve_month_retention', 'reported_months.month = twelve_month_retention.month'),
        ('product_movement_customers', 'reported_months.month = product_movement_customers.month'),
    ] %}
    {%- set alias = joined.split(' as ')[-1] %}
    left join {{ joined }}
        on
            reported_months.dimension = {{ alias }}.dimension
            and reported_months.dimension_value = {{ alias }}.dimension_value
            and {{ month_condition }}
    {%- endfor %}
),

ratios as (
    select
        dimension,
        dimension_value,
        month,
        starting_mrr,
        ending_mrr,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        rounding_mrr,
        cast(ending_mrr - starting_mrr as {{ type_money() }}) as net_new_mrr,
        cast(12 * ending_mrr as {{ type_money() }}) as arr,
        paying_customers,
        new_customers,
        reactivated_customers,
        churned_customers,
        base_mrr_12m,
        {{ safe_ratio('churned_customers', 'previously_paying_customers') }} as logo_churn_rate,
        {{ safe_ratio('-(churned_mrr + contraction_mrr)', 'starting_mrr') }} as gross_mrr_churn_rate,
        {{ safe_ratio('-(churned_mrr + contraction_mrr + expansion_mrr)', 'starting_mrr') }}
            as net_mrr_churn_rate,
        {{ safe_ratio('retained_base_mrr', 'starting_mrr') }} as nrr_monthly,
        {{ safe_ratio('gross_retained_base_mrr', 'starting_mrr') }} as grr_monthly,
        {{ safe_ratio('retained_mrr_12m', 'base_mrr_12m') }} as nrr_12m,
        {{ safe_ratio('gross_retained_mrr_12m', 'base_mrr_12m') }} as grr_12m,
        {{ safe_ratio('new_mrr + reactivation_mrr + expansion_mrr', '-(contraction_mrr + churned_mrr)') }}
            as quick_ratio,
        {{ safe_ratio('ending_mrr', 'paying_customers') }} as arpa,
        -- Months before the first are skipped: the window just has fewer rows.
        {{ safe_ratio(
            'sum(churned_customers) over (partition by dimension, dimension_value order by month rows between 5 preceding and current row)',
            'sum(previously_paying_customers) over (partition by dimension, dimension_value order by month rows between 5 preceding and current row)'
        ) }} as trailing_6m_logo_churn_rate,
        {{ safe_ratio('upsell_customers', 'previously_paying_customers') }} as upsell_rate,
        {{ safe_ratio('cross_sell_customers', 'previously_paying_customers') }} as cross_sell_rate,
        cast(previously_paying_customers as bigint) as previously_paying_customers
    from monthly_bridge
),

revenue_metrics as (
    select
        ratios.*,
        -- LTV = unit price x purchase frequency (ARPA) x duration (1 / churn rate).
        ratios.arpa * {{ var('ltv_gross_margin') }} / nullif(ratios.trailing_6m_logo_churn_rate, 0) as ltv,
        {{ is_complete_month('ratios.month') }} as is_complete_month
    from ratios
)
{%- endmacro %}


{#- The columns holding a customer's value in each of `dimensions`. -#}
{% macro _value_columns(dimensions) -%}
    {%- set columns = [] %}
    {%- for dimension in dimensions %}
        {%- do columns.append('value_in_' ~ dimension) %}
    {%- endfor %}
    {{- return(columns) }}
{%- endmacro %}


{#- The rows of a customer-level relation (customer_id and columns) with the
    customer's value in each dimension (`unknown` when customer_values has
    none), or `all` for the company. -#}
{% macro _rows_with_values(relation, columns, customer_groups, dimensions) -%}
    select
        {%- for dimension in dimensions %}
        {%- if customer_groups %}
        coalesce(customer_values.value_in_{{ dimension }}, 'unknown') as value_in_{{ dimension }},
        {%- else %}
        'all' as value_in_{{ dimension }},
        {%- endif %}
        {%- endfor %}
        {{ relation }}.customer_id,
        {%- for column in columns %}
        {{ relation }}.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    {%- if customer_groups %}
    left join customer_values
        on {{ relation }}.customer_id = customer_values.customer_id
    {%- endif %}
{%- endmacro %}


{#- The sums of `columns` of a relation per combination of dimension values
    and month, summed again per dimension, value and month. -#}
{% macro _summed_per_dimension(relation, columns, dimensions) -%}
    {%- for dimension in dimensions %}
    select
        '{{ dimension }}' as dimension,
        value_in_{{ dimension }} as dimension_value,
        month,
        {%- for column in columns %}
        sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    group by value_in_{{ dimension }}, month
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#- The customer attributes revenue is cut by (metrics.md, Revenue depth: Segments). -#}
{% macro revenue_dimensions() -%}
    {{ return(['segment', 'country', 'acquisition_channel']) }}
{%- endmacro %}
