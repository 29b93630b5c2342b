-- Support per month of opened_at, every month from the first ticket to the
-- as_of month (metrics.md, Support).
with

fct_support_tickets as (
    select
        ticket_id,
        opened_at,
        opened_month,
        resolved_at,
        first_response_minutes,
        resolution_hours,
        sla_met,
        csat_score
    from {{ ref('fct_support_tickets') }}
),

int_calendar_months as (
    select
        month_start,
        snapshot_date
    from {{ ref('int_calendar_months') }}
),

report_months as (
    select
        int_calendar_months.month_start,
        int_calendar_months.snapshot_date
    from int_calendar_months
    where int_calendar_months.month_start >= (select min(fct_support_tickets.opened_month) from fct_support_tickets)
),

-- Percentiles are continuous, each over the month's tickets that have the value.
monthly_tickets as (
    select
        opened_month,
        count(*) as tickets,
        percentile_cont(0.5) within group (order by first_response_minutes) as median_first_response_minutes,
        percentile_cont(0.9) within group (order by first_response_minutes) as p90_first_response_minutes,
        percentile_cont(0.5) within group (order by resolution_hours) as median_resolution_hours,
        percentile_cont(0.9) within group (order by resolution_hours) as p90_resolution_hours,
        count(sla_met) as tickets_with_sla_outcome,
        sum(case when sla_met then 1 else 0 end) as tickets_sla_met,
        avg(csat_score) as avg_csat
    from fct_support_tickets
    group by opened_month
),

-- Snapshots are month ends (or as_of_date, after which nothing exists), so
-- the backlog is every ticket opened so far minus every ticket resolved so
-- far: cumulative counts instead of a tickets x months comparison.
resolved_per_month as (
    select
        cast({{ dbt.date_trunc('month', 'resolved_at') }} as date) as resolved_month,
        count(*) as tickets_resolved
    from fct_support_tickets
    where resolved_at is not null
    group by cast({{ dbt.date_trunc('month', 'resolved_at') }} as date)
),

monthly_flows as (
    select
        report_months.month_start,
        monthly_tickets.median_first_response_minutes,
        monthly_tickets.p90_first_response_minutes,
        monthly_tickets.median_resolution_hours,
        monthly_tickets.p90_resolution_hours,
        monthly_tickets.tickets_with_sla_outcome,
        monthly_tickets.tickets_sla_met,
        monthly_tickets.avg_csat,
        coalesce(monthly_tickets.tickets, 0) as tickets,
        coalesce(resolved_per_month.tickets_resolved, 0) as tickets_resolved
    from report_months
    left join monthly_tickets
        on report_months.month_start = monthly_tickets.opened_month
    left join resolved_per_month
        on report_months.month_start = resolved_per_month.resolved_month
),

with_backlog as (
    select
        month_start,
        tickets,
        median_first_response_minutes,
        p90_first_response_minutes,
        median_resolution_hours,
        p90_resolution_hours,
        tickets_with_sla_outcome,
        tickets_sla_met,
        avg_csat,
        sum(tickets - tickets_resolved) over (
            order by month_start
            rows between unbounded preceding and current row
        ) as backlog
    from monthly_flows
),

final as (
    select
        cast(month_start as date) as month,
        cast(tickets as {{ dbt.type_bigint() }}) as tickets,
        cast(median_first_response_minutes as {{ type_double() }}) as median_first_response_minutes,
        cast(p90_first_response_minutes as {{ type_double() }}) as p90_first_response_minutes,
        cast(median_resolution_hours as {{ type_double() }}) as median_resolution_hours,
        cast(p90_resolution_hours as {{ type_double() }}) as p90_resolution_hours,
        {{ safe_ratio('tickets_sla_met', 'tickets_with_sla_outcome') }} as sla_met_rate,
        cast(avg_csat as {{ type_double() }}) as avg_csat,
        cast(backlog as {{ dbt.type_bigint() }}) as backlog,
        {{ is_complete_month('month_start') }} as is_complete_month
    from with_backlog
)

select * from final
