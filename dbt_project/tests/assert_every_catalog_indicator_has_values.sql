-- Every catalogued indicator has at least one value (a catalog entry without data usually
-- means a broken upstream model or a renamed indicator_id).
select indicators.indicator_id
from {{ ref('dim_indicators') }} as indicators
left join {{ ref('fct_indicator_values') }} as facts using (indicator_id)
group by indicators.indicator_id
having count(facts.indicator_id) = 0
