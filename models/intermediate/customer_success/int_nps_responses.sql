-- NPS responses with their category (metrics.md, NPS): every response
-- counts, no de-duplication.
with

stg_nps_responses as (
    select
        response_id,
        customer_id,
        user_id,
        responded_at,
        score,
        response_comment
    from {{ ref('stg_nps_responses') }}
),

-- 9-10 promoter, 7-8 passive, 0-6 detractor.
categorised as (
    select
        response_id,
        customer_id,
        user_id,
        responded_at,
        score,
        response_comment,
        case
            when score >= 9 then 'promoter'
            when score >= 7 then 'passive'
            else 'detractor'
        end as nps_category
    from stg_nps_responses
),

final as (
    select
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        cast({{ dbt.date_trunc('month', 'responded_at') }} as date) as response_month,
        cast(score as {{ dbt.type_bigint() }}) as score,
        cast(nps_category as {{ dbt.type_string() }}) as nps_category,
        cast(response_comment as {{ dbt.type_string() }}) as response_comment
    from categorised
)

select * from final
