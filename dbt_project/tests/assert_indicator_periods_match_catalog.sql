-- Every fact row has the grain its indicator is catalogued with, and a period_start aligned
-- on that grain (first of the month, or January 1).
select
    facts.indicator_id,
    facts.period_grain,
    indicators.grain as catalog_grain,
    facts.period_start
from {{ ref('fct_indicator_values') }} as facts
inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)
where facts.period_grain <> indicators.grain
   or (facts.period_grain = 'month' and facts.period_start <> date_trunc('month', facts.period_start))
   or (facts.period_grain = 'year' and facts.period_start <> date_trunc('year', facts.period_start))
