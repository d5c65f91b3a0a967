-- Annual DCJS index crime counts of the five NYC boroughs (the counties Bronx, Kings,
-- New York, Queens, Richmond; other New York State counties are left out). Each borough has
-- one row per year in the file (NYPD; tested unique here).
with index_crimes as (

    select * from {{ ref('stg_nyc__index_crimes') }}

),

boroughs as (

    select * from {{ ref('nyc_boroughs') }}

)

select
    boroughs.area_id,
    boroughs.area_name,
    index_crimes.year,
    index_crimes.violent_count,
    index_crimes.property_count,
    index_crimes.index_count
from index_crimes
inner join boroughs on boroughs.area_spelling = index_crimes.county_name
