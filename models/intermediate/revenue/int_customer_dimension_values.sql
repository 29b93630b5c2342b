-- The customer attributes revenue is cut by (metrics.md, Revenue depth:
-- Segments), one row per customer and dimension: their current values (the
-- raw data keeps no history), trimmed, case kept; NULL or empty is unknown.
-- A customer without a customers row has no rows here: the revenue metrics
-- count it as unknown too.
with

customers as (
    select * from {{ ref('stg_customers') }}
),

dimension_values as (
    {%- for dimension in revenue_dimensions() %}
    select
        customer_id,
        '{{ dimension }}' as dimension,
        coalesce(nullif(trim({{ dimension }}), ''), 'unknown') as dimension_value
    from customers
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from dimension_values
