{#- MRR of a group of counting lines (metrics.md, MRR): lines are summed
    unrounded, the sum is rounded to cents (half away from zero), and a sum
    below mrr_change_threshold, negative ones included, is no MRR. -#}
{% macro thresholded_mrr(line_rates) -%}
    case
        when {{ round_to_cents('sum(' ~ line_rates ~ ')') }} < {{ mrr_change_threshold() }} then cast(0 as {{ type_money() }})
        else {{ round_to_cents('sum(' ~ line_rates ~ ')') }}
    end
{%- endmacro %}

{#- From the months with MRR > 0 of a grain (customer, or customer x product),
    the rows of fct_mrr: every paying month plus the month after each paying
    month (where MRR may have stopped), never after the as_of month, with
    previous_mrr, mrr_change and the grain's first paying month. -#}
{% macro mrr_with_previous(paying_months, keys) -%}
    {%- set key_list = keys | join(', ') -%}
    select
        {%- for key in keys %}
        candidate_months.{{ key }},
        {%- endfor %}
        candidate_months.month,
        coalesce(this_month.mrr, cast(0 as {{ type_money() }})) as mrr,
        coalesce(previous_month.mrr, cast(0 as {{ type_money() }})) as previous_mrr,
        cast(
            coalesce(this_month.mrr, 0) - coalesce(previous_month.mrr, 0)
            as {{ type_money() }}
        ) as mrr_change,
        first_paying_months.first_paying_month
    from (
        select {{ key_list }}, month from {{ paying_months }}
        union
        select
            {{ key_list }},
            cast({{ dbt.dateadd('month', 1, 'month') }} as date) as month
        from {{ paying_months }}
        where month < {{ as_of_month() }}
    ) as candidate_months
    left join {{ paying_months }} as this_month
        on
            {%- for key in keys %}
            candidate_months.{{ key }} = this_month.{{ key }} and
            {%- endfor %}
            candidate_months.month = this_month.month
    left join {{ paying_months }} as previous_month
        on
            {%- for key in keys %}
            candidate_months.{{ key }} = previous_month.{{ key }} and
            {%- endfor %}
            candidate_months.month = cast({{ dbt.dateadd('month', 1, 'previous_month.month') }} as date)
    inner join (
        select {{ key_list }}, min(month) as first_paying_month
        from {{ paying_months }}
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
