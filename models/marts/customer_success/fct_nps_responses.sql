-- NPS responses with their category (metrics.md, NPS), built in int_nps_responses.
with

int_nps_responses as (
    select
        response_id,
        customer_id,
        user_id,
        responded_at,
        response_month,
        score,
        nps_category,
        response_comment
    from {{ ref('int_nps_responses') }}
)

select * from int_nps_responses
