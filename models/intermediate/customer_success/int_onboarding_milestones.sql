-- Onboarding milestones (metrics.md, Onboarding): one row per customer with a
-- subscription and per milestone of the seed onboarding_milestones, with its
-- status at as_of_end. Incremental: a milestone achieved before the first
-- recomputed day is settled (its status can no longer change); a run
-- recomputes only the others, whose events are fewer than min_count.
{{ config(**keep_settled_config('achieved_at < ' ~ incremental_start_at())) }}

with

int_customer_onboarding_starts as (
    select
        customer_id,
        onboarding_started_at
    from {{ ref('int_customer_onboarding_starts') }}
),

onboarding_milestones as (
    select
        milestone_id,
        event_name,
        min_count,
        within_days
    from {{ ref('onboarding_milestones') }}
),

usage_events as (
    select
        customer_id,
        event_name,
        occurred_at
    from {{ ref('stg_usage_events') }}
),

-- The raw events are the largest table: only the names a milestone counts
-- are read, in one pass (usage_events is read by this CTE alone, so that
-- the engine streams it instead of materialising it for a second reader).
milestone_events as (
    select
        usage_events.customer_id,
        usage_events.event_name,
        usage_events.occurred_at
    from usage_events
    where usage_events.event_name in (select onboarding_milestones.event_name from onboarding_milestones)
),

-- Without usage events (the optional file is absent) nothing is evaluable:
-- the relation is empty rather than every milestone "missed". Its own look
-- at the relation: it stops at the first event.
usage_events_present as (
    select
        case
            when exists (select any_usage_events.event_id from {{ ref('stg_usage_events') }} as any_usage_events)
                then 1
            else 0
        end as has_events
),

-- Each milestone's window is [start, start + within_days x 24 hours).
customer_milestones as (
    select
        int_customer_onboarding_starts.customer_id,
        onboarding_milestones.milestone_id,
        onboarding_milestones.event_name,
        onboarding_milestones.min_count,
        onboarding_milestones.within_days,
        int_customer_onboarding_starts.onboarding_started_at,
        {{ dbt.dateadd('hour', 'onboarding_milestones.within_days * 24',
            'int_customer_onboarding_starts.onboarding_started_at') }} as window_ends_at
    from int_customer_onboarding_starts
    cross join onboarding_milestones
    cross join usage_events_present
    where usage_events_present.has_events > 0
),

-- The milestones this run evaluates: all of them, or in an incremental run
-- those not settled yet.
milestones_to_evaluate as (
    select
        customer_milestones.customer_id,
        customer_milestones.milestone_id,
        customer_milestones.event_name,
        customer_milestones.min_count,
        customer_milestones.within_days,
        customer_milestones.onboarding_started_at,
        customer_milestones.window_ends_at
    from customer_milestones
    {% if is_incremental() -%}
        where {{ is_unsettled('customer_milestones', ['customer_id', 'milestone_id'],
            'achieved_at < ' ~ incremental_start_at()) }}
    {%- endif %}
),

-- Each evaluated milestone's events at or after the customer's onboarding
-- start (late ones too: achieved_at may fall after the window).
milestone_events_after_start as (
    select
        milestones_to_evaluate.customer_id,
        milestones_to_evaluate.milestone_id,
        milestones_to_evaluate.min_count,
        milestone_events.occurred_at
    from milestones_to_evaluate
    inner join milestone_events
        on
            milestones_to_evaluate.customer_id = milestone_events.customer_id
            and milestones_to_evaluate.event_name = milestone_events.event_name
            and milestones_to_evaluate.onboarding_started_at <= milestone_events.occurred_at
),

-- achieved_at is the time of the min_count-th event, even when it is late:
-- the min_count-th smallest occurred_at (tied events share their time, so
-- which of them is counted first does not matter). An aggregate that keeps
-- a few smallest times per milestone, not a sort of every event.
milestones_achieved as (
    select
        customer_id,
        milestone_id,
        {{ nth_smallest('occurred_at', 'min_count') }} as achieved_at
    from milestone_events_after_start
    group by
        customer_id,
        milestone_id,
        min_count
),

-- Status at as_of_end: later windows are still in progress (right-censored).
milestone_statuses as (
    select
        milestones_to_evaluate.customer_id,
        milestones_to_evaluate.milestone_id,
        milestones_to_evaluate.event_name,
        milestones_to_evaluate.min_count,
        milestones_to_evaluate.within_days,
        milestones_to_evaluate.onboarding_started_at,
        milestones_to_evaluate.window_ends_at,
        milestones_achieved.achieved_at,
        {{ milestone_status('milestones_achieved.achieved_at', 'milestones_to_evaluate.window_ends_at',
            as_of_end()) }} as status
    from milestones_to_evaluate
    left join milestones_achieved
        on
            milestones_to_evaluate.customer_id = milestones_achieved.customer_id
            and milestones_to_evaluate.milestone_id = milestones_achieved.milestone_id
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(milestone_id as {{ dbt.type_string() }}) as milestone_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(min_count as {{ dbt.type_bigint() }}) as min_count,
        cast(within_days as {{ dbt.type_bigint() }}) as within_days,
        cast(onboarding_started_at as {{ dbt.type_timestamp() }}) as onboarding_started_at,
        cast(window_ends_at as {{ dbt.type_timestamp() }}) as window_ends_at,
        cast(achieved_at as {{ dbt.type_timestamp() }}) as achieved_at,
        cast(status as {{ dbt.type_string() }}) as status
    from milestone_statuses
)

select * from final
