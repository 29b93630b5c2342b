-- NPS per month of responded_at; only months with responses have a row.
with

fct_nps_responses as (
    select
        response_month,
        nps_category
    from {{ ref('fct_nps_responses') }}
),

monthly_counts as (
    select
        response_month as month,
        count(*) as responses,
        sum(case when nps_category = 'promoter' then 1 else 0 end) as promoters,
        sum(case when nps_category = 'passive' then 1 else 0 end) as passives,
        sum(case when nps_category = 'detractor' then 1 else 0 end) as detractors
    from fct_nps_responses
    group by response_month
),

final as (
    select
        cast(month as date) as month,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(passives as {{ dbt.type_bigint() }}) as passives,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        -- Not rounded: 100 x (promoters - detractors) / responses.
        {{ safe_ratio('100 * (promoters - detractors)', 'responses') }} as nps,
        {{ is_complete_month('month') }} as is_complete_month
    from monthly_counts
)

select * from final
