-- Census Bureau July 1 population estimates bundled as reference data (sources/reference/):
-- incorporated places of 50,000+ residents 2010-2019 (Vintage 2019) and every county
-- 2010-2021 (Vintage 2019 for 2010-2019, Vintage 2021 for 2020-2021: two estimate series,
-- said in `vintage`, never spliced silently).
select 'place' as geography, geoid, name, state, year, population, vintage
from {{ source('reference', 'census_places') }}
union all
select 'county' as geography, geoid, name, state, year, population, vintage
from {{ source('reference', 'census_counties') }}
