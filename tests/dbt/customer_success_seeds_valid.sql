-- Customer-success configuration that would silently distort a metric:
-- milestones need at least one event in at least one day, a health signal's
-- ramp needs two different ends and a non-negative weight, and some risk
-- band must start at 0 so that every score has a band.
select
    'onboarding_milestones' as seed_name,
    milestone_id as seed_key,
    'min_count and within_days must be >= 1' as problem
from {{ ref('onboarding_milestones') }}
where min_count < 1 or within_days < 1
union all
select
    'health_signal_weights' as seed_name,
    signal_name as seed_key,
    'weight must be >= 0 and good_value <> bad_value' as problem
from {{ ref('health_signal_weights') }}
where weight < 0 or good_value = bad_value
union all
select
    'health_risk_bands' as seed_name,
    'min_score' as seed_key,
    'no band starts at 0' as problem
from {{ ref('health_risk_bands') }}
having min(min_score) > 0
