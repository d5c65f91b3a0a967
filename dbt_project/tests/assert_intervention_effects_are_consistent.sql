-- A verdict without enough data never carries a number; every other verdict carries an
-- estimate inside its interval, and improved / worsened only when the interval excludes no
-- change, in the indicator's direction.
select *
from {{ ref('fct_intervention_effects') }}
where (verdict = 'too early / not enough data' and (change_pct is not null or change_lower_pct is not null))
   or (verdict <> 'too early / not enough data'
       and (change_pct is null or change_pct < change_lower_pct or change_pct > change_upper_pct))
   or (verdict = 'improved' and not (
       (polarity = 'lower_is_better' and change_upper_pct < 0)
       or (polarity = 'higher_is_better' and change_lower_pct > 0)))
   or (verdict = 'worsened' and not (
       (polarity = 'lower_is_better' and change_lower_pct > 0)
       or (polarity = 'higher_is_better' and change_upper_pct < 0)))
