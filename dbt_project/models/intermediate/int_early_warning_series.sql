-- The count series the early-warning detectors watch, dense (a period without events is a
-- 0, never a gap, because the detectors use row-based windows):
--   month: every event-rate indicator of fct_indicator_values (crime by category, permits),
--          observed = its numerator (the count of events), per area and citywide;
--   day / week (var ew_count_grains): crime counts per area (any area type but schools and
--          counties) and citywide, from the classified incidents of every city (Chicago's
--          2022 has 334 days but only 11 months, so the daily series is what gives the EARS
--          methods a real history), over the days of the months with monthly values (the
--          datasets' complete months: no partial month, no gap between two files). Weeks are
--          Monday to Sunday and only complete weeks inside the data range are kept. Days and
--          weeks cover each city's latest ew_day_history_days days (dbt_project.yml).
-- Every row keys back to the fct_indicator_values row of its month (indicator_period_*).
-- worse_sign: +1 when a rise is bad news (crime), -1 when a fall is (permits).
{%- set grains = analytics_setting('ew_count_grains') %}
{%- set crime_indicators = analytics_setting('ew_crime_indicators') %}
{%- set crime_list = "'" ~ crime_indicators | join("', '") ~ "'" %}
{%- set history_days = analytics_setting('ew_day_history_days') | int %}
{%- set series_key = 'city, area_type, area_id, indicator_id, breakdown_type, breakdown_value' %}
with values_ as (

    select * from {{ ref('int_analytic_values') }}

),

monthly_all as (

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

),

monthly as (

    -- the latest unbroken run of months of each series: the detectors' windows count rows, so
    -- a gap between two files of a city (DC: 2022 and 2024) must not read as consecutive
    -- months (a series without gaps is kept whole)
    select * exclude (island, last_island)
    from (
        select *, max(island) over (partition by {{ series_key }}) as last_island
        from (
            select
                *,
                date_diff('month', date '2000-01-01', period_start)
                    - row_number() over (partition by {{ series_key }} order by period_start)
                    as island
            from monthly_all
        )
    )
    where island = last_island

)

{%- if 'day' in grains or 'week' in grains %},

crime_series as (

    -- the areas and indicators with monthly crime values: the daily grid follows them
    select distinct
        city, area_type, area_id, area_name, indicator_id, indicator_name, breakdown_type,
        breakdown_value, worse_sign, series_label, count_noun
    from monthly
    where indicator_id in ({{ crime_list }})
      and area_type not in ('county', 'school')
      and breakdown_type = 'all'

),

incidents as (

    select
        city,
        area_type,
        area_id,
        case crime_category
            {%- for name, indicator in civic_offense_categories().items() %}
            when '{{ name }}' then '{{ indicator }}'
            {%- endfor %}
        end as indicator_id,
        occurred_on
    from {{ ref('int_crime_incidents_classified') }}
    where crime_category is not null

),

days as (

    -- the days of the months the monthly crime series cover, the latest
    -- ew_day_history_days of them per city
    select city, day
    from (
        select distinct
            city,
            cast(unnest(generate_series(period_start, last_day(period_start), interval 1 day)) as date) as day
        from monthly
        where indicator_id in ({{ crime_list }})
    )
    qualify day > max(day) over (partition by city) - {{ history_days }}

),

daily_counts as (

    -- area counts leave out incidents without an area, the citywide counts include them
    -- (docs block citywide_rule). noqa: both branches have six columns; AM07 miscounts them.
    select city, area_type, area_id, indicator_id, occurred_on as day, count(*) as n  -- noqa: AM07
    from incidents
    where area_id is not null and area_type <> 'city'
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
    left join daily_counts
        on daily_counts.city = crime_series.city
        and daily_counts.area_type = crime_series.area_type
        and (crime_series.area_type = 'city' or daily_counts.area_id = crime_series.area_id)
        and daily_counts.indicator_id = crime_series.indicator_id
        and daily_counts.day = days.day

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
