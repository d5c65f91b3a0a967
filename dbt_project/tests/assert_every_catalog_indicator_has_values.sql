-- Every city with data in scope in a canonical table has values of at least one indicator
-- that table produces (a canonical table with rows but no values usually means a broken
-- family model, a renamed indicator_id or a mapping that resolves no area), and every
-- indicator a loaded dataset names in its catalog `indicators` has values for its city.
{%- set produces = civic_canonical_indicators() %}
with loaded as (

    {%- for table, indicators in produces.items() if indicators %}
    select distinct city, {{ civic_literal(table) }} as canonical_table
    from {{ ref('stg_' ~ table) }}
    where excluded_by is null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

produced as (

    {%- for table, indicators in produces.items() if indicators %}
    {%- for indicator in indicators %}
    select {{ civic_literal(table) }} as canonical_table, {{ civic_literal(indicator) }} as indicator_id
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

named as (

    select distinct city, unnest(dataset_indicators) as indicator_id
    from {{ ref('stg_crime_incidents') }}
    where dataset_indicators is not null and excluded_by is null

),

facts as (

    select distinct city, indicator_id from {{ ref('fct_indicator_values') }}

)

select loaded.city, loaded.canonical_table as missing_values_of
from loaded
where not exists (
    select 1 from produced
    inner join facts on facts.indicator_id = produced.indicator_id
    where produced.canonical_table = loaded.canonical_table and facts.city = loaded.city
)

union all

select named.city, named.indicator_id
from named
left join facts using (city, indicator_id)
where facts.indicator_id is null
