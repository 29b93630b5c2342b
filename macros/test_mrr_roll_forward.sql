{#- Months where the MRR bridge does not roll forward (metrics.md, MRR
    movements): ending = starting + the five movements + rounding,
    net_new_mrr = ending - starting, and each month starts where the
    previous one ended. -#}
{% test mrr_roll_forward(model) %}
with

bridge as (
    select
        month,
        starting_mrr,
        ending_mrr,
        net_new_mrr,
        new_mrr + reactivation_mrr + expansion_mrr + contraction_mrr + churned_mrr + rounding_mrr
            as movements_total,
        lag(ending_mrr) over (order by month) as previous_ending_mrr
    from {{ model }}
)

select *
from bridge
where
    ending_mrr <> starting_mrr + movements_total
    or net_new_mrr <> ending_mrr - starting_mrr
    or starting_mrr <> coalesce(previous_ending_mrr, 0)
{% endtest %}
