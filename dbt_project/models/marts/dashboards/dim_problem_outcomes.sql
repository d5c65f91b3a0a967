-- The outcome indicators of each problem in each city (problem registry), with the
-- indicator's name and direction: what a problem page charts, maps and scores.
select
    outcomes.city,
    outcomes.problem_id,
    outcomes.indicator_id,
    outcomes.outcome_weight,
    outcomes.note,
    indicators.name as indicator_name,
    indicators.polarity,
    indicators.unit
from {{ ref('stg_registry__outcomes') }} as outcomes
inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)
