-- Support tickets with response and resolution durations and their SLA
-- outcome (metrics.md, Support), as known at as_of_end.
with

stg_support_tickets as (
    select
        ticket_id,
        customer_id,
        user_id,
        priority,
        channel,
        category,
        csat_score,
        opened_at,
        first_response_at,
        resolved_at
    from {{ ref('stg_support_tickets') }}
),

support_sla_targets as (
    select
        first_response_hours,
        resolution_hours,
        lower(trim(priority)) as priority
    from {{ ref('support_sla_targets') }}
),

-- A ticket resolved without a recorded first response was first answered
-- by its resolution.
answered as (
    select
        ticket_id,
        customer_id,
        user_id,
        priority,
        channel,
        category,
        csat_score,
        opened_at,
        resolved_at,
        coalesce(first_response_at, resolved_at) as first_response_at
    from stg_support_tickets
),

-- Durations from exact seconds; NULL while unanswered / unresolved. Due
-- times are opened_at + the priority's targets (NULL without a target).
with_targets as (
    select
        answered.ticket_id,
        answered.customer_id,
        answered.user_id,
        answered.priority,
        answered.channel,
        answered.category,
        answered.csat_score,
        answered.opened_at,
        answered.first_response_at,
        answered.resolved_at,
        support_sla_targets.priority is not null as has_sla_target,
        {{ divide(dbt.datediff('answered.opened_at', 'answered.first_response_at', 'second'), '60.0') }}
            as first_response_minutes,
        {{ divide(dbt.datediff('answered.opened_at', 'answered.resolved_at', 'second'), '3600.0') }}
            as resolution_hours,
        {{ dbt.dateadd('second', 'cast(support_sla_targets.first_response_hours * 3600 as ' ~ dbt.type_bigint() ~ ')',
            'answered.opened_at') }} as first_response_due_at,
        {{ dbt.dateadd('second', 'cast(support_sla_targets.resolution_hours * 3600 as ' ~ dbt.type_bigint() ~ ')',
            'answered.opened_at') }} as resolution_due_at
    from answered
    left join support_sla_targets
        on answered.priority = support_sla_targets.priority
),

-- Each target: met when done at or before its due time, missed when done
-- later or when the due time has passed (before as_of_end) undone, NULL
-- while it can still be met.
target_outcomes as (
    select
        *,
        case
            when first_response_at is not null then first_response_at <= first_response_due_at
            when first_response_due_at < {{ as_of_end() }} then false
        end as first_response_sla_met,
        case
            when resolved_at is not null then resolved_at <= resolution_due_at
            when resolution_due_at < {{ as_of_end() }} then false
        end as resolution_sla_met
    from with_targets
),

-- Both met; false as soon as either is missed; NULL without a target.
ticket_sla as (
    select
        *,
        case
            when not has_sla_target then cast(null as {{ dbt.type_boolean() }})
            when not first_response_sla_met or not resolution_sla_met then false
            when first_response_sla_met and resolution_sla_met then true
        end as sla_met
    from target_outcomes
),

final as (
    select
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast({{ dbt.date_trunc('month', 'opened_at') }} as date) as opened_month,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
        cast(first_response_minutes as {{ type_double() }}) as first_response_minutes,
        cast(resolution_hours as {{ type_double() }}) as resolution_hours,
        cast(first_response_due_at as {{ dbt.type_timestamp() }}) as first_response_due_at,
        cast(resolution_due_at as {{ dbt.type_timestamp() }}) as resolution_due_at,
        cast(first_response_sla_met as {{ dbt.type_boolean() }}) as first_response_sla_met,
        cast(resolution_sla_met as {{ dbt.type_boolean() }}) as resolution_sla_met,
        cast(sla_met as {{ dbt.type_boolean() }}) as sla_met,
        -- A score comes with the resolution: none while unresolved.
        cast(case when resolved_at is not null then csat_score end as {{ dbt.type_bigint() }}) as csat_score
    from ticket_sla
)

select * from final
