-- CityScore-style scorecard: each outcome indicator of a city's problems, at its headline
-- area, every period: the value against its target, the score (actual / target, inverted
-- when lower is better, so 1 or more = target met) and its band (on track / near target /
-- off track, seed scorecard_bands), as Boston's CityScore does per metric.
--
-- Headline area: the city itself, or the single area standing for it where the city has no
-- citywide series (e.g. its county's unemployment rate).
-- Target: a target of the seed indicator_targets when one applies (adopted before reference
-- before illustrative); otherwise, as CityScore does for crime, the average of the same period
-- (same month, or year) in the 3 years before, labelled as such. No target, no score.
-- Near target: within the near band, or the target inside the value's 95 % interval (the gap
-- could be chance).
with values_ as (

    select * from {{ ref('fct_indicator_values') }}
    where breakdown_type = 'all' and not is_suppressed and value is not null

),

outcomes as (

    select distinct city, indicator_id from {{ ref('stg_registry__outcomes') }}

),

-- one area per city and indicator: the city, else an area type with a single area
headline_area as (

    select city, indicator_id, area_type, area_id
    from (
        select city, indicator_id, area_type, min(area_id) as area_id,
            count(distinct area_id) as n_areas
        from values_
        group by city, indicator_id, area_type
    ) as area_counts
    where n_areas = 1
    qualify row_number() over (
        partition by city, indicator_id
        order by case when area_type = 'city' then 0 else 1 end, area_type
    ) = 1

),

series as (

    select values_.*
    from values_
    inner join headline_area using (city, indicator_id, area_type, area_id)
    inner join outcomes using (city, indicator_id)

),

seeded_targets as (

    select
        gaps.city, gaps.indicator_id, gaps.period_start,
        gaps.comparison_value as target_value,
        targets.target_id,
        targets.status as target_status,
        targets.source as target_note
    from {{ ref('fct_indicator_gaps') }} as gaps
    inner join series using (city, area_type, area_id, indicator_id, period_start)
    inner join {{ ref('indicator_targets') }} as targets on targets.target_id = gaps.comparison_id
    where gaps.gap_type = 'target' and gaps.breakdown_type = 'all'
    qualify row_number() over (
        partition by gaps.city, gaps.indicator_id, gaps.period_start
        order by case targets.status when 'adopted' then 1 when 'reference' then 2 else 3 end,
            targets.target_id
    ) = 1

),

historical_targets as (

    select
        current_.city, current_.indicator_id, current_.period_start,
        avg(earlier.value) as target_value
    from series as current_
    inner join series as earlier
        on earlier.city = current_.city
        and earlier.indicator_id = current_.indicator_id
        and earlier.period_grain = current_.period_grain
        and year(earlier.period_start) between year(current_.period_start) - 3 and year(current_.period_start) - 1
        and (current_.period_grain <> 'month' or month(earlier.period_start) = month(current_.period_start))
    where current_.period_grain in ('month', 'year')
    group by current_.city, current_.indicator_id, current_.period_start
    having count(*) = 3

),

bands as (

    select
        max(min_score) filter (where band = 'on_track') as on_track_min,
        max(min_score) filter (where band = 'near_track') as near_track_min
    from {{ ref('scorecard_bands') }}

),

scored as (

    select
        series.city,
        series.indicator_id,
        indicators.name as indicator_name,
        indicators.domain,
        indicators.polarity,
        series.unit,
        units.unit_label
            || case when units.is_per_period then ' per ' || series.period_grain else '' end
            as unit_label,
        series.area_type,
        series.area_id,
        series.area_name,
        series.period_start,
        series.period_grain,
        {{ period_label('series.period_start', 'series.period_grain') }} as period_label,
        series.value,
        series.value_lower,
        series.value_upper,
        series.is_small_number,
        coalesce(seeded_targets.target_value, historical_targets.target_value) as target_value,
        case
            when seeded_targets.target_value is not null then 'seed'
            when historical_targets.target_value is not null then 'history'
        end as target_source,
        seeded_targets.target_id,
        case
            when seeded_targets.target_status = 'adopted' then 'Adopted target'
            when seeded_targets.target_status = 'reference' then 'Reference level (not an adopted target)'
            when seeded_targets.target_status is not null then 'Illustrative target (not adopted)'
            when historical_targets.target_value is not null
                then 'Average of the same ' || series.period_grain || ' in the 3 years before (no target set)'
        end as target_label,
        case
            when seeded_targets.target_status = 'adopted' then 'the adopted target'
            when seeded_targets.target_status = 'reference' then 'a reference level'
            when seeded_targets.target_status is not null then 'an illustrative target'
            when historical_targets.target_value is not null then 'its 3-year average'
        end as target_kind_label,
        coalesce(
            seeded_targets.target_note,
            case when historical_targets.target_value is not null
                then 'No target is set for this indicator; as Boston''s CityScore does for crime, '
                    || 'the value is compared with its own average of the same '
                    || series.period_grain || ' in the three years before.'
            end
        ) as target_note,
        max(series.period_start) over (partition by series.city, series.indicator_id)
            = series.period_start as is_latest
    from series
    inner join {{ ref('dim_indicators') }} as indicators using (indicator_id)
    left join {{ ref('unit_labels') }} as units on units.unit = series.unit
    left join seeded_targets using (city, indicator_id, period_start)
    left join historical_targets using (city, indicator_id, period_start)

),

with_score as (

    select
        scored.*,
        case
            when scored.polarity = 'higher_is_better' and scored.target_value <> 0
                then scored.value / scored.target_value
            when scored.polarity = 'lower_is_better' and scored.value <> 0
                then scored.target_value / scored.value
        end as score,
        scored.target_value between scored.value_lower and scored.value_upper
            as interval_includes_target
    from scored

),

banded as (

    select
        with_score.*,
        case
            when with_score.score is null then null
            when with_score.score >= bands.on_track_min then 'on_track'
            when with_score.score >= bands.near_track_min or with_score.interval_includes_target
                then 'near_track'
            else 'off_track'
        end as band
    from with_score
    cross join bands

)

select
    banded.*,
    labels.band_label,
    labels.band_order
from banded
left join {{ ref('scorecard_bands') }} as labels using (band)
