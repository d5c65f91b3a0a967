-- The count series the early-warning detectors watch, dense (a period without events is a
-- 0, never a gap, because the detectors use row-based windows):
--   month: every event-rate indicator of fct_indicator_values (crime by category, permits,
--          shootings), observed = its numerator (the count of events), per area and citywide;
--   day / week (var ew_count_grains): crime counts per area of every area type the
--          incident-level crimes carry, and citywide (a year of incidents has 12 months but
--          365 days, so the daily series is what gives the detectors a real history). Weeks
--          are Monday to Sunday and only complete weeks inside the data range are kept.
-- Every row keys back to the fct_indicator_values row of its month (indicator_period_*).
-- worse_sign: +1 when a rise is bad news (crime), -1 when a fall is (permits).
{%- set grains = analytics_setting('ew_count_grains') %}
{%- set crime_indicators = analytics_setting('ew_crime_indicators') %}
{%- set incident_columns = [] %}
{%- if execute %}
    {%- set incident_columns = adapter.get_columns_in_relation(ref('int_crimes_classified')) | map(attribute='name') | map('lower') | list %}
{%- endif %}
with values_ as (

    select * from {{ ref('int_analytic_values') }}

),

monthly as (

    select
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value,
        'month' as series_grain,
        period_start,
        period_start as indicator_period_start,
        period_grain as indicator_period_grain,
        numerator as observed,
        worse_sign, series_label, count_noun
    from values_
    where value_kind = 'event_rate' and period_grain = 'month' and numerator is not null

)

{%- if 'day' in grains or 'week' in grains %},

crime_series as (

    -- the areas and indicators with monthly crime values: the daily grid follows them
    select distinct
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value, worse_sign, series_label, count_noun
    from monthly
    where indicator_id in ({% for i in crime_indicators %}'{{ i }}'{% if not loop.last %}, {% endif %}{% endfor %})
      and breakdown_type = 'all'

),

incidents as (

    -- The one reference to the incident-level crimes: one row per classified incident with
    -- city, area_type, area_id, indicator_id, occurred_on. A model with those columns (every
    -- city) is read as it is; the older single-city model (community_area_id, no city) takes
    -- its city from the monthly crime series of community areas, the only ones it feeds.
    {%- if 'city' in incident_columns and 'area_type' in incident_columns %}
    select
        city,
        area_type,
        cast(area_id as varchar) as area_id,
        crime_category || '_crime_rate' as indicator_id,
        cast(occurred_on as date) as occurred_on
    from {{ ref('int_crimes_classified') }}
    where crime_category is not null
    {%- else %}
    select
        single_city.city,
        'community_area' as area_type,
        cast(crimes.community_area_id as varchar) as area_id,
        crimes.crime_category || '_crime_rate' as indicator_id,
        cast(crimes.occurred_at as date) as occurred_on
    from {{ ref('int_crimes_classified') }} as crimes
    cross join (
        select distinct city from crime_series where area_type = 'community_area'
    ) as single_city
    where crimes.crime_category is not null
    {%- endif %}

),

days as (

    select city, cast(unnest(generate_series(min(occurred_on), max(occurred_on), interval 1 day)) as date) as day
    from incidents
    group by city

),

daily_counts as (

    -- area counts leave out incidents without an area, the citywide counts include them
    -- (docs block citywide_rule)
    select city, area_type, area_id, indicator_id, occurred_on as day, count(*) as n
    from incidents
    where area_id is not null
    group by all

    union all

    select city, 'city' as area_type, null as area_id, indicator_id, occurred_on as day, count(*) as n
    from incidents
    group by all

),

daily as (

    select
        crime_series.city, crime_series.area_type, crime_series.area_id, crime_series.area_name,
        crime_series.indicator_id, crime_series.indicator_name, crime_series.breakdown_type,
        crime_series.breakdown_value,
        'day' as series_grain,
        days.day as period_start,
        cast(date_trunc('month', days.day) as date) as indicator_period_start,
        'month' as indicator_period_grain,
        cast(coalesce(daily_counts.n, 0) as double) as observed,
        crime_series.worse_sign, crime_series.series_label, crime_series.count_noun
    from crime_series
    inner join days on days.city = crime_series.city
    -- only area types the incidents carry (and the city)
    inner join (select distinct city, area_type from incidents union select distinct city, 'city' from incidents) as typed
        on typed.city = crime_series.city and typed.area_type = crime_series.area_type
    left join daily_counts
        on daily_counts.city = crime_series.city
        and daily_counts.area_type = crime_series.area_type
        and (crime_series.area_type = 'city' or daily_counts.area_id = crime_series.area_id)
        and daily_counts.indicator_id = crime_series.indicator_id
        and daily_counts.day = days.day
    -- a day belongs to the series only when its month has a value (the relationship test)
    inner join monthly as month_values
        on month_values.city = crime_series.city
        and month_values.area_type = crime_series.area_type
        and month_values.area_id = crime_series.area_id
        and month_values.indicator_id = crime_series.indicator_id
        and month_values.breakdown_type = crime_series.breakdown_type
        and month_values.breakdown_value = crime_series.breakdown_value
        and month_values.period_start = cast(date_trunc('month', days.day) as date)

)
{%- endif %}

{%- if 'week' in grains %},

weekly as (

    select
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value,
        'week' as series_grain,
        cast(date_trunc('week', period_start) as date) as period_start,
        cast(date_trunc('month', date_trunc('week', period_start)) as date) as indicator_period_start,
        'month' as indicator_period_grain,
        sum(observed) as observed,
        worse_sign, series_label, count_noun
    from daily
    group by all
    -- complete weeks only
    having count(*) = 7

)
{%- endif %}

{% if 'month' in grains %}
select * from monthly
{% else %}
select * from monthly where false
{% endif %}
{% if 'day' in grains %}
union all
select * from daily
{% endif %}
{% if 'week' in grains %}
union all
select * from weekly
{% endif %}
