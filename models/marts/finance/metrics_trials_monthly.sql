-- Trial-to-paid conversion per month of trial_start (metrics.md, Revenue
-- depth: Trials). Trial starts, trial ends, paid starts and ends at or after
-- as_of_end are already NULL (staging), so a trial still running at
-- as_of_date is in_trial, not yet evaluable.
with

stg_subscriptions as (
    select
        subscription_id,
        trial_start_at,
        trial_end_at,
        started_at,
        ended_at
    from {{ ref('stg_subscriptions') }}
    where trial_start_at is not null
),

-- A trial converted once it has a paid start; it did not convert once its
-- trial (or the subscription) ended without one.
trial_outcomes as (
    select
        subscription_id,
        cast({{ dbt.date_trunc('month', 'trial_start_at') }} as date) as trial_month,
        case
            when started_at is not null then 'converted'
            when coalesce(trial_end_at, ended_at) is not null then 'not_converted'
            else 'in_trial'
        end as trial_outcome,
        -- Exact seconds in days, NULL for trials that did not convert.
        {{ divide(dbt.datediff('trial_start_at', 'started_at', 'second'), '86400.0') }} as days_to_convert
    from stg_subscriptions
),

-- Only months with a trial have a row; the median is continuous, over the
-- converted trials (NULL days are ignored).
monthly_trials as (
    select
        trial_month,
        count(*) as trials,
        sum(case when trial_outcome = 'converted' then 1 else 0 end) as converted,
        sum(case when trial_outcome = 'not_converted' then 1 else 0 end) as not_converted,
        sum(case when trial_outcome = 'in_trial' then 1 else 0 end) as in_trial,
        percentile_cont(0.5) within group (order by days_to_convert) as median_days_to_convert
    from trial_outcomes
    group by trial_month
),

final as (
    select
        cast(trial_month as date) as month,
        cast(trials as {{ dbt.type_bigint() }}) as trials,
        cast(converted as {{ dbt.type_bigint() }}) as converted,
        cast(not_converted as {{ dbt.type_bigint() }}) as not_converted,
        cast(in_trial as {{ dbt.type_bigint() }}) as in_trial,
        {{ safe_ratio('converted', 'converted + not_converted') }} as trial_conversion_rate,
        cast(median_days_to_convert as {{ type_double() }}) as median_days_to_convert
    from monthly_trials
)

select * from final
