-- Gap to the past, two kinds:
--   year_over_year: the value against the same period one year earlier (same month last
--       year for monthly indicators, so seasonality cancels; the previous year for annual
--       ones). Significance by a quasi-likelihood test (pipelines/statistics/changes.py):
--       event rates: the exact conditional (binomial) z of this period's count given both
--       periods' total, with the populations as exposures, z0 = (a - n p0) / sqrt(n p0
--       (1 - p0)); proportions with cohort sizes: the two-proportion z. Both divided by
--       sqrt(phi), the family's dispersion (mean z0^2 of the other year-over-year pairs of
--       the same city, indicator, area type and grain, leave-one-out) and referred to
--       Student's t on that many pairs. Under no change the test holds its 5 % whatever the
--       dispersion (simulated in tests/test_change_tests.py); the old 2 (sqrt a - sqrt b)
--       read as N(0, 1) rejected ~17 % of null comparisons. None for values without counts
--       or cohort sizes (e.g. Chicago graduation rates).
--   trend: the OLS slope per year of the value over the trailing trend_window_years
--       years (for monthly indicators, of the same calendar month, so seasonality does not
--       bias the slope), with its standard error sqrt(SSE / (n - 2) / Sxx) and a t test
--       (significant when |slope / se| > t(0.975, n - 2)). Needs trend_min_points years.
-- gap = worse_sign * change: positive = worse than before (for trend rows: worsening per year).
{%- set window_years = analytics_setting('trend_window_years') %}
{%- set min_points = analytics_setting('trend_min_points') %}
with values_ as (

    select * from {{ ref('int_analytic_values') }}

),

year_over_year as (

    select
        now_.city, now_.area_type, now_.area_id, now_.area_name, now_.indicator_id,
        now_.breakdown_type, now_.breakdown_value, now_.period_start, now_.period_grain,
        'year_over_year' as gap_type,
        cast(before.period_start as varchar) as comparison_id,
        'same period one year earlier (' || strftime(before.period_start, '%Y-%m') || ')' as comparison_label,
        now_.polarity, now_.unit, now_.is_small_number, now_.value,
        before.value as comparison_value,
        -- + 0.0 turns -0.0 into 0.0
        now_.worse_sign * (now_.value - before.value) + 0.0 as gap,
        cast(null as double) as score,
        now_.worse_sign,
        case
            when now_.value_kind = 'event_rate' and now_.numerator is not null and before.numerator is not null
                then {{ count_change_z0(
                    'now_.numerator', 'before.numerator', 'now_.denominator', 'before.denominator'
                ) }}
            when now_.value_kind = 'proportion' and now_.denominator > 0 and before.denominator > 0
                then {{ proportion_change_z0('now_.value / now_.value_scale', 'now_.denominator',
                    'before.value / before.value_scale', 'before.denominator') }}
        end as change_z0,
        cast(2 as integer) as n_points
    from values_ as now_
    inner join values_ as before
        on before.city = now_.city
        and before.area_type = now_.area_type
        and before.area_id = now_.area_id
        and before.indicator_id = now_.indicator_id
        and before.breakdown_type = now_.breakdown_type
        and before.breakdown_value = now_.breakdown_value
        and before.period_grain = now_.period_grain
        and before.period_start = cast(now_.period_start - interval 1 year as date)

),

year_over_year_dispersion as (

    select
        *,
        -- leave-one-out: the other pairs of the family
        (sum(change_z0 * change_z0) over family - change_z0 * change_z0)
            / nullif(count(change_z0) over family - 1, 0) as dispersion,
        count(change_z0) over family - 1 as dispersion_df
    from year_over_year
    window family as (partition by city, indicator_id, area_type, period_grain)

),

year_over_year_tested as (

    select
        * exclude (change_z0, dispersion, dispersion_df, worse_sign),
        case when dispersion > 0 and dispersion_df >= 1
            then worse_sign * change_z0 / sqrt(dispersion) end as z_score,
        dispersion_df
    from year_over_year_dispersion

),

year_over_year_final as (

    select
        * exclude (dispersion_df),
        case when z_score <> 0 then gap / z_score end as standard_error,
        abs(z_score) > {{ t_quantile_975('dispersion_df') }} as is_significant
    from year_over_year_tested

),

trend_windows as (

    select
        *,
        regr_count(value, year(period_start)) over trend_window as n_points,
        regr_slope(value, year(period_start) - 2000) over trend_window as slope,
        regr_sxx(value, year(period_start) - 2000) over trend_window as sxx,
        regr_syy(value, year(period_start) - 2000) over trend_window as syy,
        regr_sxy(value, year(period_start) - 2000) over trend_window as sxy,
        min(year(period_start)) over trend_window as first_year
    from values_
    window trend_window as (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
            period_grain,
            -- monthly: one regression per calendar month
            case when period_grain = 'month' then month(period_start) else 0 end
        order by year(period_start)
        range between {{ window_years - 1 }} preceding and current row
    )

),

trend as (

    select
        city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
        period_start, period_grain,
        'trend' as gap_type,
        'trend_{{ window_years }}y' as comparison_id,
        'OLS slope per year over ' || first_year || '-' || year(period_start)
            || case when period_grain = 'month' then ' (same month)' else '' end
            || ', n = ' || n_points as comparison_label,
        polarity, unit, is_small_number, value,
        cast(null as double) as comparison_value,
        -- rounded to 1e-10: the streaming regression leaves float noise in the last digits
        round(worse_sign * slope, 10) + 0.0 as gap,
        cast(null as double) as score,
        sqrt(greatest(syy - sxy * sxy / sxx, 0) / (n_points - 2) / sxx) as standard_error,
        cast(n_points as integer) as n_points
    from trend_windows
    where n_points >= {{ [min_points, 3] | max }} and sxx > 0

),

trend_tested as (

    select
        *,
        case when standard_error > 0 then gap / standard_error end as z_score
    from trend

)

select
    city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, gap_type, comparison_id, comparison_label, polarity, unit,
    is_small_number, value, comparison_value, gap, score, standard_error, z_score,
    is_significant,
    n_points,
    'raw' as value_basis
from year_over_year_final

union all

select
    city, area_type, area_id, area_name, indicator_id, breakdown_type, breakdown_value,
    period_start, period_grain, gap_type, comparison_id, comparison_label, polarity, unit,
    is_small_number, value, comparison_value, gap, score, standard_error, z_score,
    -- t test on n - 2 degrees of freedom; a perfect fit (se = 0) counts as significant
    case
        when standard_error = 0 then gap <> 0
        else abs(z_score) > {{ t_quantile_975('n_points - 2') }}
    end as is_significant,
    n_points,
    'raw' as value_basis
from trend_tested
