-- A customer's NPS at the snapshot of every evaluated month
-- (int_customer_snapshot_months): responses so far, NPS over the trailing
-- 90 x 24 hours, and the latest response (metrics.md, NPS and Customer
-- health). Customer-months without any response so far have no row.
with

int_customer_snapshot_months as (
    select
        customer_id,
        month,
        snapshot_end_at
    from {{ ref('int_customer_snapshot_months') }}
),

int_nps_responses as (
    select
        response_id,
        customer_id,
        responded_at,
        score,
        nps_category
    from {{ ref('int_nps_responses') }}
),

responses_before_snapshot as (
    select
        int_customer_snapshot_months.customer_id,
        int_customer_snapshot_months.month,
        int_nps_responses.responded_at,
        int_nps_responses.score,
        int_nps_responses.nps_category,
        {{ in_last_hours('int_nps_responses.responded_at', 'int_customer_snapshot_months.snapshot_end_at',
            90 * 24) }} as is_in_last_90_days,
        row_number() over (
            partition by int_customer_snapshot_months.customer_id, int_customer_snapshot_months.month
            order by int_nps_responses.responded_at desc, int_nps_responses.response_id desc
        ) as recency_rank
    from int_customer_snapshot_months
    inner join int_nps_responses
        on
            int_customer_snapshot_months.customer_id = int_nps_responses.customer_id
            and int_customer_snapshot_months.snapshot_end_at > int_nps_responses.responded_at
),

trailing_counts as (
    select
        customer_id,
        month,
        count(*) as responses,
        sum(case when is_in_last_90_days then 1 else 0 end) as responses_90d,
        sum(case when is_in_last_90_days and nps_category = 'promoter' then 1 else 0 end) as promoters_90d,
        sum(case when is_in_last_90_days and nps_category = 'detractor' then 1 else 0 end) as detractors_90d
    from responses_before_snapshot
    group by
        customer_id,
        month
),

final as (
    select
        cast(trailing_counts.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(trailing_counts.month as date) as month,
        cast(trailing_counts.responses as {{ dbt.type_bigint() }}) as responses,
        cast(trailing_counts.responses_90d as {{ dbt.type_bigint() }}) as responses_90d,
        cast(trailing_counts.promoters_90d as {{ dbt.type_bigint() }}) as promoters_90d,
        cast(trailing_counts.detractors_90d as {{ dbt.type_bigint() }}) as detractors_90d,
        cast({{ safe_ratio('100 * (trailing_counts.promoters_90d - trailing_counts.detractors_90d)',
            'trailing_counts.responses_90d') }} as {{ type_double() }}) as nps_90d,
        cast(latest_responses.responded_at as {{ dbt.type_timestamp() }}) as latest_responded_at,
        cast(latest_responses.score as {{ dbt.type_bigint() }}) as latest_score,
        cast(latest_responses.nps_category as {{ dbt.type_string() }}) as latest_nps_category
    from trailing_counts
    inner join responses_before_snapshot as latest_responses
        on
            trailing_counts.customer_id = latest_responses.customer_id
            and trailing_counts.month = latest_responses.month
            and latest_responses.recency_rank = 1
)

select * from final
