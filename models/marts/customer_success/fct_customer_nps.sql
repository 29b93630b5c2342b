-- Customer NPS over the trailing 90 days (responses at or after
-- as_of_end - 90 x 24 hours), with the customer's latest response.
with

fct_nps_responses as (
    select
        response_id,
        customer_id,
        responded_at,
        score,
        nps_category
    from {{ ref('fct_nps_responses') }}
),

latest_responses as (
    select
        customer_id,
        responded_at,
        score,
        nps_category,
        row_number() over (
            partition by customer_id
            order by responded_at desc, response_id desc
        ) as recency_rank
    from fct_nps_responses
),

trailing_counts as (
    select
        customer_id,
        count(*) as responses,
        sum(case when responded_at >= {{ dbt.dateadd('hour', -90 * 24, as_of_end()) }} then 1 else 0 end)
            as responses_90d,
        sum(
            case
                when
                    responded_at >= {{ dbt.dateadd('hour', -90 * 24, as_of_end()) }}
                    and nps_category = 'promoter'
                    then 1
                else 0
            end
        ) as promoters_90d,
        sum(
            case
                when
                    responded_at >= {{ dbt.dateadd('hour', -90 * 24, as_of_end()) }}
                    and nps_category = 'detractor'
                    then 1
                else 0
            end
        ) as detractors_90d
    from fct_nps_responses
    group by customer_id
),

customer_nps as (
    select
        trailing_counts.customer_id,
        trailing_counts.responses,
        trailing_counts.responses_90d,
        trailing_counts.promoters_90d,
        trailing_counts.detractors_90d,
        {{ safe_ratio('100 * (trailing_counts.promoters_90d - trailing_counts.detractors_90d)',
            'trailing_counts.responses_90d') }} as nps_90d,
        latest_responses.responded_at as latest_responded_at,
        latest_responses.score as latest_score,
        latest_responses.nps_category as latest_nps_category
    from trailing_counts
    inner join latest_responses
        on
            trailing_counts.customer_id = latest_responses.customer_id
            and latest_responses.recency_rank = 1
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(responses_90d as {{ dbt.type_bigint() }}) as responses_90d,
        cast(promoters_90d as {{ dbt.type_bigint() }}) as promoters_90d,
        cast(detractors_90d as {{ dbt.type_bigint() }}) as detractors_90d,
        cast(nps_90d as {{ type_double() }}) as nps_90d,
        cast(latest_responded_at as {{ dbt.type_timestamp() }}) as latest_responded_at,
        cast(latest_score as {{ dbt.type_bigint() }}) as latest_score,
        cast(latest_nps_category as {{ dbt.type_string() }}) as latest_nps_category
    from customer_nps
)

select * from final
