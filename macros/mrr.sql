{#- MRR of a group of counting lines (metrics.md, MRR), from the lines'
    monthly rates summed unrounded (summed_rate: an aggregate, or a column
    that holds one): the sum is rounded to cents (half away from zero), and a
    sum below mrr_change_threshold, negative ones included, is no MRR. -#}
{% macro thresholded_mrr(summed_rate) -%}
    case
        when {{ round_to_cents(summed_rate) }} < {{ mrr_change_threshold() }} then cast(0 as {{ type_money() }})
        else {{ round_to_cents(summed_rate) }}
    end
{%- endmacro %}

{#- From the months of a grain (customer, or customer x product) with their
    MRR (0 allowed), the rows of fct_mrr: every paying month (MRR > 0) plus
    the month after each paying month (where MRR may have stopped), never
    after the as_of month, with previous_mrr, mrr_change and the grain's first
    paying month. carried: more columns of `months`, returned for the month
    and, as previous_<column>, for the month before (NULL without a row), so
    that a model needing them does not join the months twice again. -#}
{% macro mrr_with_previous(months, keys, carried=[]) -%}
    {%- set key_list = keys | join(', ') -%}
    select
        {%- for key in keys %}
        candidate_months.{{ key }},
        {%- endfor %}
        candidate_months.month,
        {%- for column in carried %}
        this_month.{{ column }},
        previous_month.{{ column }} as previous_{{ column }},
        {%- endfor %}
        first_paying_months.first_paying_month,
        coalesce(this_month.mrr, cast(0 as {{ type_money() }})) as mrr,
        coalesce(previous_month.mrr, cast(0 as {{ type_money() }})) as previous_mrr,
        cast(
            coalesce(this_month.mrr, 0) - coalesce(previous_month.mrr, 0)
            as {{ type_money() }}
        ) as mrr_change
    from (
        select {{ key_list }}, month from {{ months }}
        where mrr > 0
        union
        select
            {{ key_list }},
            cast({{ dbt.dateadd('month', 1, 'month') }} as date) as month
        from {{ months }}
        where mrr > 0 and month < {{ as_of_month() }}
    ) as candidate_months
    left join {{ months }} as this_month
        on
            {%- for key in keys %}
            candidate_months.{{ key }} = this_month.{{ key }} and
            {%- endfor %}
            candidate_months.month = this_month.month
    left join {{ months }} as previous_month
        on
            {%- for key in keys %}
            candidate_months.{{ key }} = previous_month.{{ key }} and
            {%- endfor %}
            candidate_months.month = cast({{ dbt.dateadd('month', 1, 'previous_month.month') }} as date)
    inner join (
        select {{ key_list }}, min(month) as first_paying_month
        from {{ months }}
        where mrr > 0
        group by {{ key_list }}
    ) as first_paying_months
        on
            {%- for key in keys %}
            candidate_months.{{ key }} = first_paying_months.{{ key }}{{ ' and' if not loop.last }}
            {%- endfor %}
{%- endmacro %}

{#- The movement between two paying months (metrics.md, MRR movements): a
    change above 0 and at least the threshold is growth, below 0 and at least
    the threshold is shrinkage, anything else is unchanged, so that a change
    of exactly 0 is unchanged even with mrr_change_threshold = 0. -#}
{% macro paying_change_movement(mrr_change, growth, shrinkage) -%}
    case
        when {{ mrr_change }} > 0 and {{ mrr_change }} >= {{ mrr_change_threshold() }} then '{{ growth }}'
        when {{ mrr_change }} < 0 and {{ mrr_change }} <= -{{ mrr_change_threshold() }} then '{{ shrinkage }}'
        else 'unchanged'
    end
{%- endmacro %}
