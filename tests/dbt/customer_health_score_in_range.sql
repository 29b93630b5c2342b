-- The health score is a 0-100 scale (metrics.md, Customer health): a weight
-- or ramp in the seeds that pushes it outside is a configuration error.
select
    customer_id,
    month,
    health_score
from {{ ref('fct_customer_health') }}
where health_score < 0 or health_score > 100
