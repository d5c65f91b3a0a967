-- The importance inputs of every city x outcome indicator under every draw (draw sets of
-- int_problem_weight_draws; 'base' = as measured). In the 'data' and 'joint' draws each input
-- moves within its uncertainty (sensitivity.data_noise scales it; 1 = as estimated):
--   value     reference_value x exp(s z - s^2 / 2), s = data_noise x reference_se_rel: the
--             window mean within its sampling error (quasi-Poisson / quasi-binomial / the
--             series' own noise, int_problem_outcome_status); target and peer shortfalls and
--             achievability are recomputed from it;
--   trend     relative_trend + data_noise x trend_se_rel x z' (the slope's standard error);
--   affected  each area is short of its target in a draw when its window rate drawn from
--             N(area_value, (data_noise x area_se)^2) is (int_problem_area_status): the
--             population share of the areas short in that draw;
--   warnings  the reported (false-discovery controlled) warnings, as they are.
-- z, z' are deterministic normal draws (hash of the seed, draw, city, indicator).
{%- set seed = "cast(" ~ scoring_parameter('sensitivity', 'seed') ~ " as bigint)" %}
{%- set noise = scoring_parameter('sensitivity', 'data_noise') %}
with status as (

    select * from {{ ref('int_problem_outcome_status') }}

),

draws as (

    select distinct draw_set, draw_id from {{ ref('int_problem_weight_draws') }}

),

drawn as (

    select
        status.*,
        draws.draw_set,
        draws.draw_id,
        case when draws.draw_set in ('data', 'joint') then {{ noise }} else 0 end as noise,
        {{ hashed_normal(seed, ['draws.draw_id', "'value'", 'status.city', 'status.indicator_id']) }} as z_value,
        {{ hashed_normal(seed, ['draws.draw_id', "'trend'", 'status.city', 'status.indicator_id']) }} as z_trend
    from status
    cross join draws

),

values_ as (

    select
        *,
        case when reference_se_rel is not null and noise > 0
            then reference_value * exp(noise * reference_se_rel * z_value
                - pow(noise * reference_se_rel, 2) / 2)
            else reference_value
        end as drawn_value,
        case when trend_se_rel is not null and noise > 0
            then relative_trend + noise * trend_se_rel * z_trend
            else relative_trend
        end as drawn_trend
    from drawn

),

areas as (

    select * from {{ ref('int_problem_area_status') }}

),

affected as (

    select
        areas.city, areas.indicator_id, areas.draw_set, areas.draw_id,
        case
            when sum(areas.population) > 0
                then coalesce(sum(areas.population) filter (where areas.drawn_short), 0) / sum(areas.population)
            else count(*) filter (where areas.drawn_short) / count(*)
        end as affected_share
    from (
        select
            areas.*,
            draws.draw_set,
            draws.draw_id,
            areas.worse_sign * (
                areas.area_value
                + case when draws.draw_set in ('data', 'joint') and areas.area_se is not null
                    then {{ noise }} * areas.area_se
                        * {{ hashed_normal(seed, [
                            'draws.draw_id', "'area'", 'areas.city', 'areas.indicator_id', 'areas.area_type',
                            'areas.area_id',
                        ]) }}
                    else 0 end
                - areas.target_value
            ) > 0 as drawn_short
        from areas
        cross join draws
        -- the area type people_affected reads (int_problem_outcome_status)
        inner join status
            on status.city = areas.city
            and status.indicator_id = areas.indicator_id
            and status.affected_area_type = areas.area_type
    ) as areas
    group by all

)

select
    values_.city,
    values_.indicator_id,
    values_.draw_set,
    cast(values_.draw_id as integer) as draw_id,
    values_.drawn_value as reference_value,
    {{ problem_shortfall('values_.drawn_value', 'values_.target_value', 'values_.polarity') }} as target_shortfall,
    {{ problem_shortfall('values_.drawn_value', 'values_.peer_value', 'values_.polarity') }} as peer_shortfall,
    values_.drawn_trend as relative_trend,
    values_.warned_population_share,
    affected.affected_share,
    case
        when values_.target_value is null then null
        when values_.worse_sign * (values_.drawn_value - values_.target_value) <= 0 then 1.0
        when values_.best_peer_city_value is null then null
        else {{ unit_interval(
            'values_.worse_sign * (values_.drawn_value - values_.best_peer_city_value)'
            ~ ' / (values_.worse_sign * (values_.drawn_value - values_.target_value))') }}
    end as achievability
from values_
left join affected using (city, indicator_id, draw_set, draw_id)
