{#- Month and dimension where the values' money and count columns do not add
    up to metrics_revenue_monthly's (metrics.md, Revenue depth: Segments): every
    paying customer, P and Q sits in exactly one value of each dimension. -#}
{% test segments_sum_to_company(model) %}
{%- set summed = ['starting_mrr', 'ending_mrr', 'new_mrr', 'reactivation_mrr', 'expansion_mrr',
    'contraction_mrr', 'churned_mrr', 'rounding_mrr', 'net_new_mrr', 'arr', 'paying_customers',
    'new_customers', 'reactivated_customers', 'churned_customers'] %}
with

value_rows as (
    select * from {{ model }}
),

company_months as (
    select * from {{ ref('metrics_revenue_monthly') }}
),

dimension_sums as (
    select
        month,
        dimension,
        {%- for column in summed %}
        sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from value_rows
    group by month, dimension
),

company_by_dimension as (
    select
        company_months.*,
        dimensions.dimension
    from company_months
    cross join (select distinct dimension from value_rows) as dimensions
)

select
    company_by_dimension.month,
    company_by_dimension.dimension
from company_by_dimension
left join dimension_sums
    on
        company_by_dimension.month = dimension_sums.month
        and company_by_dimension.dimension = dimension_sums.dimension
where
    {%- for column in summed %}
    coalesce(dimension_sums.{{ column }}, 0) <> company_by_dimension.{{ column }}
    {%- if not loop.last %} or{% endif %}
    {%- endfor %}
{% endtest %}
