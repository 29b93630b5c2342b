{#- Onboarding outcome (../shared/spec/metrics.md, Onboarding), as it stood at
    a cut time (as_of_end for the warehouse, a month's snapshot end for the
    health score): a milestone is completed once reached inside its window,
    missed once its window has ended without it, else in progress; a customer
    is completed when every milestone is, missed when any is. -#}

{% macro milestone_status(achieved_at, window_ends_at, cut_at) -%}
    case
        when {{ achieved_at }} < {{ window_ends_at }} and {{ achieved_at }} < {{ cut_at }} then 'completed'
        when {{ window_ends_at }} <= {{ cut_at }} then 'missed'
        else 'in_progress'
    end
{%- endmacro %}

{#- An aggregate over one customer's milestone statuses. -#}
{% macro customer_onboarding_status(status) -%}
    case
        when min(case when {{ status }} = 'completed' then 1 else 0 end) = 1 then 'completed'
        when max(case when {{ status }} = 'missed' then 1 else 0 end) = 1 then 'missed'
        else 'in_progress'
    end
{%- endmacro %}
