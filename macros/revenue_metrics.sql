{#- The columns of metrics.md "Monthly revenue metrics", one row per month and
    group of customers, from fct_mrr, fct_mrr_product and the customers' monthly
    MRR: the one place the MRR bridge (movement -> column) and every ratio are
    written. Without customer_groups the group is the whole company (dimension
    and dimension_value 'all', metrics_revenue_monthly); with it, a relation of
    (customer_id, dimension, dimension_value) whose dimensions are `dimensions`:
    every row counts once per dimension, in the value of its customer, or in
    `unknown` when the relation has none (metrics_revenue_by_segment_monthly).
    Every month from the first with any mrr > 0 to the as_of month has a row for
    every group that ever pays, in the CTE `revenue_metrics`; a model puts these
    CTEs after its `with` and selects the rows and columns it publishes. -#}
{% macro monthly_revenue_ctes(customer_groups=none, dimensions=none) -%}
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

dimensions as (
    {%- for dimension in dimensions %}
    select '{{ dimension }}' as dimension{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),
{%- endif %}

grouped_customer_mrr as (
    {{ _rows_in_groups('customer_mrr', ['month', 'mrr'], customer_groups) }}
),

grouped_mrr_movements as (
    {{ _rows_in_groups('mrr_movements', ['month', 'mrr', 'previous_mrr', 'mrr_change', 'movement'],
        customer_groups) }}
),

grouped_product_movements as (
    {{ _rows_in_groups('product_movements', ['month', 'movement'], customer_groups) }}
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
        from grouped_customer_mrr
    ) as paying_groups
    {%- endif %}
    where months.month_start >= (select min(customer_mrr.month) from customer_mrr)
),

paying_totals as (
    select
        dimension,
        dimension_value,
        month,
        sum(mrr) as total_mrr,
        count(*) as paying_customers
    from grouped_customer_mrr
    group by dimension, dimension_value, month
),

movement_totals as (
    -- P = customers paying in M-1 = the rows with previous_mrr > 0.
    select
        dimension,
        dimension_value,
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
    from grouped_mrr_movements
    group by dimension, dimension_value, month
),

twelve_month_retention as (
    -- Q = customers paying in M-12, followed to M (0 when no longer paying).
    select
        base_months.dimension,
        base_months.dimension_value,
        cast({{ dbt.dateadd('month', 12, 'base_months.month') }} as date) as month,
        sum(base_months.mrr) as base_mrr_12m,
        sum(coalesce(later_months.mrr, 0)) as retained_mrr_12m,
        sum(least(coalesce(later_months.mrr, 0), base_months.mrr)) as gross_retained_mrr_12m
    from grouped_customer_mrr as base_months
    left join grouped_customer_mrr as later_months
        on
            base_months.customer_id = later_months.customer_id
            and base_months.dimension = later_months.dimension
            and later_months.month = cast({{ dbt.dateadd('month', 12, 'base_months.month') }} as date)
    group by base_months.dimension, base_months.dimension_value, base_months.month
),

-- A customer once per group, month and kind of product movement, so that the
-- counts below need no DISTINCT aggregate: DuckDB cannot spill one to disk,
-- and at 1,000,000 customers in three dimensions it ran out of memory.
product_movement_customer_rows as (
    select distinct
        dimension,
        dimension_value,
        month,
        customer_id,
        movement
    from grouped_product_movements
    where movement in ('upsell', 'cross_sell')
),

product_movement_customers as (
    select
        dimension,
        dimension_value,
        month,
        sum(case when movement = 'upsell' then 1 else 0 end) as upsell_customers,
        sum(case when movement = 'cross_sell' then 1 else 0 end) as cross_sell_customers
    from product_movement_customer_rows
    group by dimension, dimension_value, month
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


{#- The rows of a customer-level relation (customer_id and columns) once per
    dimension of the `dimensions` CTE, with the customer's value in it. -#}
{% macro _rows_in_groups(relation, columns, customer_groups) -%}
    select
        {%- if customer_groups %}
        dimensions.dimension,
        coalesce(groups_of_customers.dimension_value, 'unknown') as dimension_value,
        {%- else %}
        'all' as dimension,
        'all' as dimension_value,
        {%- endif %}
        {{ relation }}.customer_id,
        {%- for column in columns %}
        {{ relation }}.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    {%- if customer_groups %}
    cross join dimensions
    left join groups_of_customers
        on
            {{ relation }}.customer_id = groups_of_customers.customer_id
            and dimensions.dimension = groups_of_customers.dimension
    {%- endif %}
{%- endmacro %}


{#- The customer attributes revenue is cut by (metrics.md, Revenue depth: Segments). -#}
{% macro revenue_dimensions() -%}
    {{ return(['segment', 'country', 'acquisition_channel']) }}
{%- endmacro %}
