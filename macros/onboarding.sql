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

{#- The same rule, folded into two moments per customer (aggregates over its
    milestones), so that the status at any cut time is one comparison:
    - onboarding_completed_from: every milestone is completed at a cut time t
      exactly when each was achieved inside its window and before t, i.e.
      when t > the latest achieved_at (NULL: never completed);
    - onboarding_missed_from: a milestone not achieved inside its window is
      missed from its window end on, one achieved inside it is never missed;
      so some milestone is missed exactly when t >= the earliest window end
      of a milestone not achieved inside its window (NULL: never missed). -#}
{% macro onboarding_completed_from(achieved_at, window_ends_at) -%}
    case
        when min(case when {{ achieved_at }} < {{ window_ends_at }} then 1 else 0 end) = 1
            then max({{ achieved_at }})
    end
{%- endmacro %}

{% macro onboarding_missed_from(achieved_at, window_ends_at) -%}
    min(case when {{ achieved_at }} < {{ window_ends_at }} then null else {{ window_ends_at }} end)
{%- endmacro %}

{#- A customer's onboarding status at cut_at from those two moments: the same
    result as customer_onboarding_status over milestone_status(.., cut_at). -#}
{% macro onboarding_status_at(completed_from, missed_from, cut_at) -%}
    case
        when {{ completed_from }} < {{ cut_at }} then 'completed'
        when {{ missed_from }} <= {{ cut_at }} then 'missed'
        else 'in_progress'
    end
{%- endmacro %}
