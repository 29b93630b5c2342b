{#- Months missing between the first and the last month of a monthly model. -#}
{% test no_month_gaps(model, column) %}
with

months as (
    select
        {{ column }} as month,
        lead({{ column }}) over (order by {{ column }}) as next_month
    from {{ model }}
)

select *
from months
where
    next_month is not null
    and next_month <> cast({{ dbt.dateadd('month', 1, 'month') }} as date)
{% endtest %}
