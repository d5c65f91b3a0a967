-- Population of New York City per year = sum of its five boroughs (one estimate per borough
-- and year, see int_nyc_borough_population). Used as the citywide rate denominator.
with boroughs as (

    select * from {{ ref('int_nyc_borough_population') }}

)

select
    year,
    sum(population) as population,
    count(*) as borough_count,
    -- the estimate program(s) the five boroughs' figures come from (one in practice)
    string_agg(distinct estimate_type, ', ' order by estimate_type) as estimate_types
from boroughs
group by year
