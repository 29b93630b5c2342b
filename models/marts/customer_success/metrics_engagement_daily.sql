-- Daily engagement (metrics.md, Engagement): dau, wau (D-6..D), mau
-- (D-29..D) and stickiness, every day from the first day with an active
-- user to as_of_date. Incremental: a run recomputes the days from
-- incremental_start_date() on, from the active days of the 30 before them.
{{ config(**replace_range_config(from_first_day('date_day'), 'date_day')) }}

with

int_user_day_usage as (
    select
        user_id,
        date_day,
        is_active
    from {{ ref('int_user_day_usage') }}
    {% if is_incremental() -%}
        -- A day's counts need its own and the 29 days before; an interval
        -- starting earlier has ended before the first recomputed day.
        where date_day >= {{ dbt.dateadd('day', -30, incremental_start_date()) }}
    {%- endif %}
),

int_calendar_days as (
    select date_day
    from {{ ref('int_calendar_days') }}
),

active_user_days as (
    select
        user_id,
        date_day
    from int_user_day_usage
    where is_active
),

-- Window logic instead of days x users: an active day d keeps the user in
-- the dau, wau and mau windows for days d..d, d..d+6 and d..d+29, up to (not
-- including) the user's next active day, which takes over. The resulting
-- intervals never overlap, so counting intervals counts users. A user active
-- for two customers on a day has two rows there, the first of which ends at
-- once (its next active day is the same day): one active user, without a
-- DISTINCT over the user-days.
user_coverage as (
    select
        date_day,
        lead(date_day) over (partition by user_id order by date_day) as next_active_day
    from active_user_days
),

-- Days the active day covers before the next one takes over, at most the 30
-- of mau (0 for the first of two rows of one user-day).
coverage_lengths as (
    select
        date_day,
        case
            when next_active_day is null then 30
            else least({{ dbt.datediff('date_day', 'next_active_day', 'day') }}, 30)
        end as covered_days
    from user_coverage
),

-- The intervals are counted per start and length (at most 31 per day), so
-- the dates below are computed on a small table.
coverage_intervals as (
    select
        date_day,
        covered_days,
        count(*) as intervals
    from coverage_lengths
    group by
        date_day,
        covered_days
),

coverage_bounds as (
    select
        date_day,
        intervals,
        cast({{ dbt.dateadd('day', 'least(covered_days, 1)', 'date_day') }} as date) as dau_ends_before,
        cast({{ dbt.dateadd('day', 'least(covered_days, 7)', 'date_day') }} as date) as wau_ends_before,
        cast({{ dbt.dateadd('day', 'covered_days', 'date_day') }} as date) as mau_ends_before
    from coverage_intervals
),

first_active_day as (
    select min(coverage_intervals.date_day) as date_day
    from coverage_intervals
    {% if is_incremental() -%}
        -- The days already built start at the first active day of all.
        union all
        select min(date_day) as date_day
        from {{ this }}
    {%- endif %}
),

report_days as (
    select int_calendar_days.date_day
    from int_calendar_days
    where
        int_calendar_days.date_day >= (select min(first_active_day.date_day) from first_active_day)
    {% if is_incremental() -%}
        -- Counting starts with the 30 days before the first recomputed day,
        -- whose active days open the intervals still covering it.
        and int_calendar_days.date_day >= {{ dbt.dateadd('day', -30, incremental_start_date()) }}
    {%- endif %}
),

-- + where an interval starts, - the day after it ends.
coverage_changes as (
    select
        date_day as change_day,
        intervals as dau_change,
        intervals as wau_change,
        intervals as mau_change
    from coverage_bounds
    union all
    select
        dau_ends_before as change_day,
        -intervals as dau_change,
        0 as wau_change,
        0 as mau_change
    from coverage_bounds
    union all
    select
        wau_ends_before as change_day,
        0 as dau_change,
        -intervals as wau_change,
        0 as mau_change
    from coverage_bounds
    union all
    select
        mau_ends_before as change_day,
        0 as dau_change,
        0 as wau_change,
        -intervals as mau_change
    from coverage_bounds
),

daily_changes as (
    select
        change_day,
        sum(dau_change) as dau_change,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change
    from coverage_changes
    group by change_day
),

daily_counts as (
    select
        report_days.date_day,
        sum(coalesce(daily_changes.dau_change, 0)) over (
            order by report_days.date_day rows between unbounded preceding and current row
        ) as dau,
        sum(coalesce(daily_changes.wau_change, 0)) over (
            order by report_days.date_day rows between unbounded preceding and current row
        ) as wau,
        sum(coalesce(daily_changes.mau_change, 0)) over (
            order by report_days.date_day rows between unbounded preceding and current row
        ) as mau
    from report_days
    left join daily_changes
        on report_days.date_day = daily_changes.change_day
),

final as (
    select
        cast(date_day as date) as date_day,
        cast(dau as {{ dbt.type_bigint() }}) as dau,
        cast(wau as {{ dbt.type_bigint() }}) as wau,
        cast(mau as {{ dbt.type_bigint() }}) as mau,
        {{ safe_ratio('dau', 'mau') }} as stickiness
    from daily_counts
    {% if is_incremental() -%}
        where date_day >= {{ incremental_start_date() }}
    {%- endif %}
)

select * from final
