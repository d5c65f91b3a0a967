-- Every fact row has a period_start aligned on its grain (first of the month, or January 1)
-- and a grain its indicator allows. The catalog grain is the indicator's FINEST grain: a city
-- may publish a month-grain indicator by year when its source only has annual figures (NYC
-- crime rates: DCJS annual counts), but never finer than the catalog grain, and one city uses
-- one grain per indicator (no mixed series).
with facts as (

    select * from {{ ref('fct_indicator_values') }}

),

indicators as (

    select * from {{ ref('dim_indicators') }}

),

misaligned as (

    select
        facts.city,
        facts.indicator_id,
        facts.period_grain,
        indicators.grain as catalog_grain,
        facts.period_start,
        case
            when facts.period_grain = indicators.grain then null
            when not (indicators.grain = 'month' and facts.period_grain = 'year')
                then 'grain finer than catalog'
        end as problem
    from facts
    inner join indicators using (indicator_id)

),

bad_rows as (

    select city, indicator_id, period_grain, catalog_grain, period_start, problem
    from misaligned
    where problem is not null
       or (period_grain = 'month' and period_start <> date_trunc('month', period_start))
       or (period_grain = 'year' and period_start <> date_trunc('year', period_start))

),

mixed_grains as (

    select
        city,
        indicator_id,
        string_agg(distinct period_grain, ',') as period_grain,
        min(catalog_grain) as catalog_grain,
        min(period_start) as period_start,
        'several grains in one city' as problem
    from misaligned
    group by city, indicator_id
    having count(distinct period_grain) > 1

)

select * from bad_rows
union all
select * from mixed_grains
