-- Customer NPS at as_of_date over the trailing 90 days, with the latest response
-- (metrics.md, NPS): the as_of month's row of int_customer_nps_monthly.
with

int_customer_nps_monthly as (
    select
        customer_id,
        responses,
        responses_90d,
        promoters_90d,
        detractors_90d,
        nps_90d,
        latest_responded_at,
        latest_score,
        latest_nps_category
    from {{ ref('int_customer_nps_monthly') }}
    where month = {{ as_of_month() }}
)

select * from int_customer_nps_monthly
